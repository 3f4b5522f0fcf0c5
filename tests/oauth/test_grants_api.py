"""CDS-WG1-02 §8.4-§8.6 Grants API, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants import tokens
from gridshare.grants.grants import create_grant
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.messages import Message
from tests.oauth import grant_setup as setup
from tests.object_keys import GRANT_KEYS


def _patch(client: TestClient, token: str, grant_id: str, body: Any) -> Any:
    return client.patch(f"{urls.GRANTS}/{grant_id}", json=body, headers=setup.bearer(token))


def _grant(db: Session, grant_id: str) -> Grant:
    db.expire_all()
    return db.get_one(Grant, grant_id)


def _messages(db: Session, registration_id: str) -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).where(Message.registration_id == registration_id)).all())


def _at(db: Session, grant: Grant, created: datetime, modified: datetime | None = None) -> None:
    grant.created = created
    grant.modified = modified or created
    db.flush()


@pytest.mark.req("WG1-02-8-a", "WG1-02-11.2-d")
def test_the_api_needs_a_client_admin_bearer_token(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    other = setup.access_token(db, reg.grant_admin, setup.GRANT_ADMIN)
    db.commit()
    missing = client.get(urls.GRANTS)
    assert missing.status_code == 401
    assert missing.json()["error"] == "invalid_token"
    assert "Bearer" in missing.headers["WWW-Authenticate"]
    assert client.get(urls.GRANTS, headers=setup.bearer("not-a-token")).status_code == 401
    wrong = client.get(urls.GRANTS, headers=setup.bearer(other))
    assert wrong.status_code == 403
    assert wrong.json()["error"] == "insufficient_scope"


@pytest.mark.req("WG1-02-8.4-a", "WG1-02-8.5-a", "WG1-02-8.1-a")
def test_a_token_sees_only_its_registrations_grants(
    client: TestClient, db: Session, settings: Settings
) -> None:
    mine, theirs = setup.registration(db, settings), setup.registration(db, settings, "Other")
    my_grant = setup.files_grant(db, mine, "f1")
    their_grant = setup.files_grant(db, theirs, "f2")
    token = setup.admin_token(db, mine)
    db.commit()

    listing = client.get(urls.GRANTS, headers=setup.bearer(token))
    assert listing.status_code == 200
    body = listing.json()
    assert set(body) == {"grants", "next", "previous"}
    assert [g["grant_id"] for g in body["grants"]] == [my_grant.grant_id]
    assert body["next"] is None and body["previous"] is None
    shown = body["grants"][0]
    assert set(shown) == GRANT_KEYS
    assert shown["uri"] == settings.url(f"{urls.GRANTS}/{my_grant.grant_id}")

    single = client.get(shown["uri"].removeprefix(settings.base_url), headers=setup.bearer(token))
    assert single.status_code == 200
    assert single.json() == shown
    hidden = client.get(f"{urls.GRANTS}/{their_grant.grant_id}", headers=setup.bearer(token))
    assert hidden.status_code == 404
    assert set(hidden.json()) == {"error", "error_description"}
    patched = _patch(client, token, their_grant.grant_id, {"status": "closed"})
    assert patched.status_code == 404
    assert _grant(db, their_grant.grant_id).status == "active"


@pytest.mark.req("WG1-02-8.4-a")
def test_an_empty_listing(client: TestClient, db: Session, settings: Settings) -> None:
    reg = setup.registration(db, settings)
    token = setup.admin_token(db, reg)
    db.commit()
    response = client.get(urls.GRANTS, headers=setup.bearer(token))
    assert response.headers["cache-control"] == "no-store"  # bearer-protected, never cached
    assert response.json() == {
        "grants": [],
        "next": None,
        "previous": None,
    }


@pytest.mark.req("WG1-02-8.4-c")
def test_newest_modified_first(client: TestClient, db: Session, settings: Settings) -> None:
    reg = setup.registration(db, settings)
    day = datetime(2024, 1, 1, tzinfo=UTC)
    old, middle, new = (setup.files_grant(db, reg, f"f{i}") for i in range(3))
    _at(db, old, day, day + timedelta(days=5))
    _at(db, middle, day + timedelta(days=1))
    _at(db, new, day + timedelta(days=2))
    token = setup.admin_token(db, reg)
    db.commit()
    ids = [
        g["grant_id"] for g in client.get(urls.GRANTS, headers=setup.bearer(token)).json()["grants"]
    ]
    assert ids == [old.grant_id, new.grant_id, middle.grant_id]

    assert _patch(client, token, middle.grant_id, {"status": "closed"}).status_code == 200
    ids = [
        g["grant_id"] for g in client.get(urls.GRANTS, headers=setup.bearer(token)).json()["grants"]
    ]
    assert ids == [middle.grant_id, old.grant_id, new.grant_id]


@pytest.mark.req("WG1-02-8.4-a", "WG1-02-8.4-c")
def test_pages_follow_next_and_previous(settings: Settings, engine: Engine, db: Session) -> None:
    small = settings.model_copy(update={"page_size": 2})
    reg = setup.registration(db, settings)
    day = datetime(2024, 1, 1, tzinfo=UTC)
    grants = [setup.files_grant(db, reg, f"f{i}") for i in range(5)]
    for i, grant in enumerate(grants):
        _at(db, grant, day + timedelta(hours=i))
    token = setup.admin_token(db, reg)
    db.commit()
    newest_first = [g.grant_id for g in reversed(grants)]
    with TestClient(create_app(small, engine)) as client:
        seen: list[str] = []
        url: str | None = f"{urls.GRANTS}?statuses=active"
        pages = []
        while url is not None:
            page = client.get(url.removeprefix(small.base_url), headers=setup.bearer(token)).json()
            pages.append(page)
            seen += [g["grant_id"] for g in page["grants"]]
            url = page["next"]
        assert seen == newest_first
        assert [len(p["grants"]) for p in pages] == [2, 2, 1]
        assert pages[0]["previous"] is None
        assert pages[-1]["next"] is None
        assert "statuses=active" in pages[1]["next"]
        back = client.get(
            pages[2]["previous"].removeprefix(small.base_url), headers=setup.bearer(token)
        ).json()
        assert [g["grant_id"] for g in back["grants"]] == newest_first[2:4]


@pytest.mark.req("WG1-02-8.4-b")
def test_filters_intersect(client: TestClient, db: Session, settings: Settings) -> None:
    reg = setup.registration(db, settings)
    person = setup.customer(db)
    day = datetime(2024, 3, 1, tzinfo=UTC)
    parent = setup.customer_grant(settings, db, reg, person)
    child = create_grant(
        db,
        client_id=reg.accounts,
        scope=setup.ACCOUNTS,
        authorization_details=[],
        customer_id=person.id,
        parent_id=parent.grant_id,
        receipt_confirmations=["RCPT-1"],
    )
    files = setup.files_grant(db, reg, "f1")
    closed = setup.files_grant(db, reg, "f2")
    closed.status, closed.enabled_scope, closed.enabled_authorization_details = "closed", "", []
    by_name = {"parent": parent, "child": child, "files": files, "closed": closed}
    for i, grant in enumerate(by_name.values()):
        _at(db, grant, day + timedelta(days=i))
    token = setup.admin_token(db, reg)
    db.commit()

    def names(**params: str) -> set[str]:
        response = client.get(urls.GRANTS, params=params, headers=setup.bearer(token))
        assert response.status_code == 200, response.text
        found = {g["grant_id"] for g in response.json()["grants"]}
        return {name for name, grant in by_name.items() if grant.grant_id in found}

    assert names(grant_ids=f"{files.grant_id} {child.grant_id} unknown") == {"files", "child"}
    assert names(parents=parent.grant_id) == {"child"}
    assert names(statuses="closed") == {"closed"}
    assert names(statuses="active closed") == set(by_name)
    assert names(client_ids=reg.files) == {"files", "closed"}
    assert names(scopes=setup.FILES_SCOPE) == {"files", "closed"}
    assert names(scopes=setup.ACCOUNTS) == {"parent", "child"}
    assert names(scopes="cds_accounts") == set()
    assert names(receipt_confirmations="RCPT-1 RCPT-9") == {"child"}
    assert names(receipt_confirmations="RCPT") == set()
    assert names(after="2024-03-02T00:00:00Z") == {"child", "files", "closed"}
    assert names(before="2024-03-02T00:00:00Z") == {"parent", "child"}
    assert names(after="2024-03-02T00:00:00+00:00", before="2024-03-03T00:00:00Z") == {
        "child",
        "files",
    }
    assert names(scopes=setup.FILES_SCOPE, statuses="active") == {"files"}
    assert names(client_ids=reg.files, statuses="active", after="2024-03-04T00:00:00Z") == set()


@pytest.mark.req("WG1-02-8.4-b")
def test_the_scopes_filter_matches_authorization_details_types(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    detailed_only = create_grant(
        db,
        client_id=reg.files,
        scope="",
        authorization_details=[{"type": setup.FILES_SCOPE, "file_id": "f1"}],
    )
    token = setup.admin_token(db, reg)
    db.commit()
    response = client.get(
        urls.GRANTS, params={"scopes": setup.FILES_SCOPE}, headers=setup.bearer(token)
    )
    assert [g["grant_id"] for g in response.json()["grants"]] == [detailed_only.grant_id]


@pytest.mark.parametrize(
    "params",
    [
        {"statuses": ""},
        {"grant_ids": "  "},
        {"after": "yesterday"},
        {"before": "2024-01-01"},
        {"after": "2024-01-01T00:00:00"},
        {"cursor": "not-a-cursor"},
    ],
)
def test_bad_filters_are_400(
    client: TestClient, db: Session, settings: Settings, params: dict[str, str]
) -> None:
    reg = setup.registration(db, settings)
    token = setup.admin_token(db, reg)
    db.commit()
    response = client.get(urls.GRANTS, params=params, headers=setup.bearer(token))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.req("WG1-02-8.6-a", "WG1-02-8.6-b", "WG1-02-8.6-e", "WG1-02-8.2-d", "WG1-02-6-a")
def test_closing_a_grant_ends_its_access_at_once(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    grant = setup.files_grant(db, reg, "f1")
    files_token = setup.grant_admin_token(db, reg, grant)
    token = setup.admin_token(db, reg)
    db.commit()
    before = len(_messages(db, reg.registration_id))

    response = _patch(client, token, grant.grant_id, {"status": "closed"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == GRANT_KEYS
    assert body["status"] == "closed"
    assert body["enabled_scope"] == ""
    assert body["enabled_authorization_details"] == []
    assert body["scope"] == setup.FILES_SCOPE
    assert body["modified"] >= body["created"]
    assert tokens.find(db, files_token, "access") is None
    assert client.get(urls.FILES, headers=setup.bearer(files_token)).status_code == 401
    messages = _messages(db, reg.registration_id)
    assert len(messages) == before + 1
    note = messages[-1]
    assert (note.type, note.read, note.creator) == ("notification", False, None)
    assert note.related_uri == body["uri"]
    assert note.related_type == "grant"

    again = _patch(client, token, grant.grant_id, {"status": "closed"})
    assert again.status_code == 200
    assert again.json() == body
    assert len(_messages(db, reg.registration_id)) == before + 1


@pytest.mark.req("WG1-02-8.6-b", "WG1-02-8.6-d")
@pytest.mark.parametrize("status", ["active", "revoked", "disabled", "", None, 1])
def test_status_other_than_closed_is_refused(
    client: TestClient, db: Session, settings: Settings, status: Any
) -> None:
    reg = setup.registration(db, settings)
    grant = setup.files_grant(db, reg, "f1")
    grant.status = "pending"
    token = setup.admin_token(db, reg)
    db.commit()
    response = _patch(client, token, grant.grant_id, {"status": status})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert _grant(db, grant.grant_id).status == "pending"


@pytest.mark.req("WG1-02-8.6-a", "WG1-02-8.6-d")
def test_read_only_fields_are_ignored(client: TestClient, db: Session, settings: Settings) -> None:
    reg = setup.registration(db, settings)
    grant = setup.files_grant(db, reg, "f1")
    token = setup.admin_token(db, reg)
    db.commit()
    shown = client.get(f"{urls.GRANTS}/{grant.grant_id}", headers=setup.bearer(token)).json()
    echoed = {
        **shown,
        "grant_id": "other",
        "client_id": reg.admin,
        "created": "2020-01-01T00:00:00Z",
        "receipt_confirmations": ["X"],
        "enabled_scope": "cds_client_admin",
        "unknown_field": 1,
    }
    response = _patch(client, token, grant.grant_id, echoed)
    assert response.status_code == 200
    assert response.json() == shown
    assert len(_messages(db, reg.registration_id)) == 0


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b'{"status": "closed"', {"Content-Type": "application/json"}, 400),
        (b'["closed"]', {"Content-Type": "application/json"}, 400),
        (b"status=closed", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
        (b'{"status": "closed"}', {}, 415),
        (b'{"status": "closed", "pad": "' + b"x" * 70_000 + b'"}', {}, 413),
    ],
)
def test_malformed_bodies_change_nothing(
    client: TestClient,
    db: Session,
    settings: Settings,
    content: bytes,
    headers: dict[str, str],
    status: int,
) -> None:
    reg = setup.registration(db, settings)
    grant = setup.files_grant(db, reg, "f1")
    token = setup.admin_token(db, reg)
    db.commit()
    if status == 413:
        headers = {"Content-Type": "application/json"}
    response = client.patch(
        f"{urls.GRANTS}/{grant.grant_id}",
        content=content,
        headers={**headers, **setup.bearer(token)},
    )
    assert response.status_code == status
    assert set(response.json()) == {"error", "error_description"}
    assert _grant(db, grant.grant_id).status == "active"


@pytest.mark.req("WG1-02-8.6-c", "WG1-02-8.6-e", "WG1-02-8.1-c")
def test_dropping_a_file_is_a_reduction_applied_at_once(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    grant = setup.files_grant(db, reg, "f1", "f2")
    token = setup.admin_token(db, reg)
    db.commit()
    kept = [{"type": setup.FILES_SCOPE, "file_id": "f1"}]
    response = _patch(client, token, grant.grant_id, {"authorization_details": kept})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "active"
    assert body["authorization_details"] == kept
    assert body["enabled_authorization_details"] == kept
    assert body["enabled_scope"] == setup.FILES_SCOPE
    assert [m.related_uri for m in _messages(db, reg.registration_id)] == [body["uri"]]


@pytest.mark.req("WG1-02-8.6-c", "WG1-02-8.6-d")
def test_a_server_created_grant_cannot_be_widened(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    grant = setup.files_grant(db, reg, "f1")
    token = setup.admin_token(db, reg)
    db.commit()
    wider = [{"type": setup.FILES_SCOPE, "file_id": f} for f in ("f1", "f9")]
    response = _patch(client, token, grant.grant_id, {"authorization_details": wider})
    assert response.status_code == 400
    stored = _grant(db, grant.grant_id)
    assert [d["file_id"] for d in stored.authorization_details] == ["f1"]
    assert stored.status == "active"


@pytest.mark.req("WG1-02-8.6-c", "WG1-02-8.6-e")
def test_an_earlier_sync_until_is_a_reduction(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    grant = setup.customer_grant(
        settings, db, reg, setup.customer(db), sync_until="2031-01-01T00:00:00Z"
    )
    token = setup.admin_token(db, reg)
    db.commit()
    narrower = [{**grant.authorization_details[0], "sync_until": "2030-06-01T00:00:00Z"}]
    response = _patch(client, token, grant.grant_id, {"authorization_details": narrower})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "active"
    assert body["authorization_details"] == narrower
    assert body["enabled_authorization_details"] == narrower
    assert body["enabled_scope"] == setup.ACCOUNTS


@pytest.mark.req("WG1-02-8.6-c", "WG1-02-8.1-c")
def test_asking_for_more_needs_the_customers_authorization(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    grant = setup.customer_grant(
        settings, db, reg, setup.customer(db), include_account_details=False
    )
    authorized = grant.authorization_details
    token = setup.admin_token(db, reg)
    db.commit()
    wider = [{**authorized[0], "include_account_details": True}]
    response = _patch(client, token, grant.grant_id, {"authorization_details": wider})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "needs_authorization"
    assert body["authorization_details"] == wider
    assert body["scope"] == setup.ACCOUNTS
    assert body["enabled_authorization_details"] == authorized
    assert body["enabled_scope"] == setup.ACCOUNTS

    back = _patch(client, token, grant.grant_id, {"authorization_details": authorized}).json()
    assert back["status"] == "active"
    assert back["enabled_authorization_details"] == authorized


@pytest.mark.req("WG1-02-8.6-d")
@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"scope": "cds_unknown"}, "invalid_scope"),
        ({"scope": "cds_client_admin"}, "invalid_scope"),
        ({"scope": ""}, "invalid_request"),
        ({"scope": 7}, "invalid_request"),
        ({"authorization_details": "nope"}, "invalid_authorization_details"),
        (
            {"authorization_details": [{"type": "cds_server_provided_files_1"}]},
            "invalid_authorization_details",
        ),
        (
            {"authorization_details": [{"type": "cds_server_provided_files_1", "file_id": ""}]},
            "invalid_authorization_details",
        ),
        (
            {
                "authorization_details": [
                    {"type": "cds_server_provided_files_1", "file_id": "f1", "x": 1}
                ]
            },
            "invalid_authorization_details",
        ),
        ({"status": "closed", "scope": "cds_unknown"}, "invalid_scope"),
    ],
)
def test_invalid_values_are_400_and_change_nothing(
    client: TestClient, db: Session, settings: Settings, body: dict[str, Any], error: str
) -> None:
    reg = setup.registration(db, settings)
    grant = setup.files_grant(db, reg, "f1")
    token = setup.admin_token(db, reg)
    db.commit()
    response = _patch(client, token, grant.grant_id, body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    stored = _grant(db, grant.grant_id)
    assert (stored.status, stored.scope) == ("active", setup.FILES_SCOPE)
    assert stored.authorization_details == [{"type": setup.FILES_SCOPE, "file_id": "f1"}]
    assert _messages(db, reg.registration_id) == []


@pytest.mark.req("WG1-02-8.6-d")
def test_an_ended_grant_cannot_be_changed(
    client: TestClient, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    grant = setup.files_grant(db, reg, "f1", "f2")
    token = setup.admin_token(db, reg)
    db.commit()
    assert _patch(client, token, grant.grant_id, {"status": "closed"}).status_code == 200
    narrower = [{"type": setup.FILES_SCOPE, "file_id": "f1"}]
    response = _patch(client, token, grant.grant_id, {"authorization_details": narrower})
    assert response.status_code == 400
    assert len(_grant(db, grant.grant_id).authorization_details) == 2
