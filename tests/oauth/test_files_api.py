"""CDS-WG1-02 §9 Server-Provided Files API, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants.files import add_file, share_file
from gridshare.grants.grants import set_status
from gridshare.store.tables.messages import ServerFile
from tests.oauth import grant_setup as setup
from tests.object_keys import FILE_KEYS

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4


def _path(settings: Settings, url: str) -> str:
    return url.removeprefix(settings.base_url)


def _stored(db: Session, name: str, modified: datetime | None = None) -> ServerFile:
    stored = add_file(db, name=name, mime_type="application/pdf", data=PDF, description=name)
    if modified is not None:
        stored.created = stored.modified = modified
    return stored


@pytest.mark.req(
    "WG1-02-9-a", "WG1-02-9.1-a", "WG1-02-9.2-a", "WG1-02-9.3-a", "WG1-02-9.4-a", "WG1-02-3.3.3-f"
)
def test_list_describe_and_download_a_shared_file(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    stored = add_file(
        db,
        name="DR_API_docs_v1.0.pdf",
        mime_type="application/pdf",
        data=PDF,
        description="Proprietary demand response API documentation",
    )
    grant = share_file(db, settings, file_id=stored.file_id, client_id=reg.files)
    token = setup.grant_admin_token(db, reg, grant)
    db.commit()

    listing = client.get(urls.FILES, headers=setup.bearer(token))
    assert listing.status_code == 200
    assert listing.headers["content-type"] == "application/json"
    body = listing.json()
    assert set(body) == {"files", "next", "previous"}
    assert (body["next"], body["previous"]) == (None, None)
    (shown,) = body["files"]
    assert set(shown) == FILE_KEYS
    assert shown["file_id"] == stored.file_id
    assert shown["uri"] == settings.url(f"{urls.FILES}/{stored.file_id}")
    assert shown["download_uri"] == shown["uri"] + "/download"
    assert shown["created"] == shown["modified"]
    assert shown["created"].endswith("Z")
    assert (shown["mime_type"], shown["size"], shown["name"]) == (
        "application/pdf",
        len(PDF),
        "DR_API_docs_v1.0.pdf",
    )
    assert shown["description"] == "Proprietary demand response API documentation"

    single = client.get(_path(settings, shown["uri"]), headers=setup.bearer(token))
    assert single.status_code == 200
    assert single.json() == shown

    download = client.get(_path(settings, shown["download_uri"]), headers=setup.bearer(token))
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-length"] == str(len(PDF))
    assert download.headers["content-disposition"] == 'attachment; filename="DR_API_docs_v1.0.pdf"'
    assert download.headers["cache-control"] == "no-store"  # a bearer-protected file


def test_a_file_without_description_has_an_empty_one(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    stored = add_file(db, name="notes.txt", mime_type="text/plain", data=b"hello")
    grant = share_file(db, settings, file_id=stored.file_id, client_id=reg.files)
    token = setup.grant_admin_token(db, reg, grant)
    db.commit()
    shown = client.get(f"{urls.FILES}/{stored.file_id}", headers=setup.bearer(token)).json()
    assert (shown["description"], shown["size"], shown["mime_type"]) == ("", 5, "text/plain")


@pytest.mark.req("WG1-02-9.1-b", "WG1-02-11.2-d")
def test_every_endpoint_needs_a_bearer_token(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    stored = _stored(db, "a.pdf")
    share_file(db, settings, file_id=stored.file_id, client_id=reg.files)
    db.commit()
    for path in (
        urls.FILES,
        f"{urls.FILES}/{stored.file_id}",
        f"{urls.FILES}/{stored.file_id}/download",
    ):
        for headers in ({}, setup.bearer("forged"), {"Authorization": "Basic eDp5"}):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.json()["error"] == "invalid_token"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.req("WG1-02-9-a", "WG1-02-9.1-b")
def test_tokens_not_bound_to_a_files_grant_are_403(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    stored = _stored(db, "a.pdf")
    share_file(db, settings, file_id=stored.file_id, client_id=reg.files)
    accounts = setup.customer_grant(settings, db, reg, setup.customer(db))
    others = [
        setup.admin_token(db, reg),
        setup.access_token(db, reg.accounts, setup.ACCOUNTS, [accounts.grant_id]),
        setup.access_token(db, reg.grant_admin, setup.GRANT_ADMIN),
    ]
    db.commit()
    for token in others:
        for path in (urls.FILES, f"{urls.FILES}/{stored.file_id}/download"):
            response = client.get(path, headers=setup.bearer(token))
            assert response.status_code == 403
            assert response.json()["error"] == "insufficient_scope"
            assert 'scope="cds_grant_admin_1"' in response.headers["WWW-Authenticate"]


@pytest.mark.req("WG1-02-9.2-b", "WG1-02-9.3-a", "WG1-02-9.4-a")
def test_only_the_files_of_the_tokens_grant_are_reachable(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg, other = setup.registration(db, settings), setup.registration(db, settings, "Other")
    mine, also_mine, theirs = (_stored(db, n) for n in ("mine.pdf", "also.pdf", "theirs.pdf"))
    grant = share_file(db, settings, file_id=mine.file_id, client_id=reg.files)
    share_file(db, settings, file_id=also_mine.file_id, client_id=reg.files)
    share_file(db, settings, file_id=theirs.file_id, client_id=other.files)
    token = setup.grant_admin_token(db, reg, grant)
    db.commit()
    listed = client.get(urls.FILES, headers=setup.bearer(token)).json()["files"]
    assert [f["file_id"] for f in listed] == [mine.file_id]
    for hidden in (also_mine.file_id, theirs.file_id, "missing"):
        for path in (f"{urls.FILES}/{hidden}", f"{urls.FILES}/{hidden}/download"):
            response = client.get(path, headers=setup.bearer(token))
            assert response.status_code == 404
            assert set(response.json()) == {"error", "error_description"}


@pytest.mark.req("WG1-02-9.2-c", "WG1-02-9.2-d", "WG1-02-9.2-a")
def test_listing_order_filter_and_pages(settings: Settings, engine: Engine, db: Session) -> None:
    reg = setup.registration(db, settings)
    day = datetime(2024, 1, 1, tzinfo=UTC)
    files = [_stored(db, f"f{i}.pdf", day + timedelta(days=i)) for i in range(5)]
    files[0].modified = day + timedelta(days=10)
    grant = setup.files_grant(db, reg, *(f.file_id for f in files))
    token = setup.grant_admin_token(db, reg, grant)
    db.commit()
    newest_first = [files[0].file_id, *(f.file_id for f in reversed(files[1:]))]
    with TestClient(create_app(settings, engine)) as client:
        listed = client.get(urls.FILES, headers=setup.bearer(token)).json()["files"]
        assert [f["file_id"] for f in listed] == newest_first
        wanted = f"{files[1].file_id} {files[3].file_id} unknown"
        filtered = client.get(urls.FILES, params={"file_ids": wanted}, headers=setup.bearer(token))
        assert [f["file_id"] for f in filtered.json()["files"]] == [
            files[3].file_id,
            files[1].file_id,
        ]
        assert (
            client.get(
                urls.FILES, params={"file_ids": " "}, headers=setup.bearer(token)
            ).status_code
            == 400
        )
    small = settings.model_copy(update={"page_size": 2})
    with TestClient(create_app(small, engine)) as client:
        seen: list[str] = []
        url: str | None = urls.FILES
        while url is not None:
            page = client.get(_path(small, url), headers=setup.bearer(token)).json()
            seen += [f["file_id"] for f in page["files"]]
            url = page["next"]
        assert seen == newest_first


@pytest.mark.req("WG1-02-8.2-d", "WG1-02-8.6-c")
def test_narrowing_or_suspending_the_grant_takes_files_away_at_once(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    first, second = _stored(db, "1.pdf"), _stored(db, "2.pdf")
    grant = setup.files_grant(db, reg, first.file_id, second.file_id)
    token = setup.grant_admin_token(db, reg, grant)
    admin = setup.admin_token(db, reg)
    db.commit()
    keep = [{"type": setup.FILES_SCOPE, "file_id": first.file_id}]
    patched = client.patch(
        f"{urls.GRANTS}/{grant.grant_id}",
        json={"authorization_details": keep},
        headers=setup.bearer(admin),
    )
    assert patched.status_code == 200
    listed = client.get(urls.FILES, headers=setup.bearer(token)).json()["files"]
    assert [f["file_id"] for f in listed] == [first.file_id]
    gone = client.get(f"{urls.FILES}/{second.file_id}/download", headers=setup.bearer(token))
    assert gone.status_code == 404

    set_status(db, db.merge(grant), "suspended")
    db.commit()
    assert client.get(urls.FILES, headers=setup.bearer(token)).status_code == 401


def test_a_non_ascii_file_name_is_also_sent_as_utf8(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    stored = add_file(db, name="Übersicht €.csv", mime_type="text/csv", data=b"a,b\n")
    grant = share_file(db, settings, file_id=stored.file_id, client_id=reg.files)
    token = setup.grant_admin_token(db, reg, grant)
    db.commit()
    response = client.get(f"{urls.FILES}/{stored.file_id}/download", headers=setup.bearer(token))
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"_bersicht _.csv\"; filename*=UTF-8''%C3%9Cbersicht%20%E2%82%AC.csv"
    )
    assert response.content == b"a,b\n"
