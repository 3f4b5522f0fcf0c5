"""CDS-WG1-02 §3.3.3: storing and sharing server-provided files, and what a token reaches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants import tokens
from gridshare.grants.files import FileError, add_file, file_sizes, files_for_token, share_file
from gridshare.grants.grants import grant_uri, set_status
from gridshare.grants.scopes import load_catalogue
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.messages import Message, ServerFile
from tests.oauth import grant_setup as setup


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def _pdf(db: Session, name: str = "DR_API_docs_v1.0.pdf") -> ServerFile:
    return add_file(
        db, name=name, mime_type="application/pdf", data=b"%PDF-1.7 demo", description="Docs"
    )


def test_add_file_keeps_the_bytes_and_their_size(db: Session) -> None:
    stored = _pdf(db)
    empty = add_file(db, name="empty.txt", mime_type="Text/Plain", data=b"")
    db.commit()
    db.expire_all()
    again = db.get_one(ServerFile, stored.file_id)
    assert (again.name, again.mime_type, again.description) == (
        "DR_API_docs_v1.0.pdf",
        "application/pdf",
        "Docs",
    )
    assert again.data == b"%PDF-1.7 demo"
    assert again.created == again.modified
    assert db.get_one(ServerFile, empty.file_id).mime_type == "text/plain"
    assert db.get_one(ServerFile, empty.file_id).description == ""
    assert file_sizes(db, [stored.file_id, empty.file_id, "missing"]) == {
        stored.file_id: 13,
        empty.file_id: 0,
    }


@pytest.mark.parametrize(
    ("name", "mime_type"),
    [
        ("", "application/pdf"),
        ("a/b.pdf", "application/pdf"),
        ('quote".pdf', "application/pdf"),
        ("line\nbreak.pdf", "application/pdf"),
        ("x" * 256, "application/pdf"),
        ("ok.pdf", "pdf"),
        ("ok.pdf", "application/pdf; charset=x"),
    ],
)
def test_add_file_refuses_bad_names_and_types(db: Session, name: str, mime_type: str) -> None:
    with pytest.raises(FileError):
        add_file(db, name=name, mime_type=mime_type, data=b"x")
    assert db.scalars(select(ServerFile)).all() == []


@pytest.mark.req("WG1-02-3.3.3-a", "WG1-02-6-a")
def test_share_file_creates_a_server_grant_naming_the_file(db: Session, settings: Settings) -> None:
    reg = setup.registration(db, settings)
    stored = _pdf(db)
    grant = share_file(db, settings, file_id=stored.file_id, client_id=reg.files)
    db.commit()
    assert grant.client_id == reg.files
    assert grant.customer_id is None
    assert grant.status == "active"
    assert grant.scope == setup.FILES_SCOPE
    entry = {"type": setup.FILES_SCOPE, "file_id": stored.file_id}
    assert grant.authorization_details == [entry]
    assert (grant.enabled_scope, grant.enabled_authorization_details) == (
        setup.FILES_SCOPE,
        [entry],
    )
    messages = db.scalars(
        select(Message).where(Message.registration_id == reg.registration_id)
    ).all()
    assert [(m.type, m.read, m.related_uri) for m in messages] == [
        ("notification", False, grant_uri(settings, grant.grant_id))
    ]


def test_share_file_needs_a_files_client_and_a_file(db: Session, settings: Settings) -> None:
    reg = setup.registration(db, settings)
    stored = _pdf(db)
    with pytest.raises(FileError, match="not registered for a Server-Provided Files scope"):
        share_file(db, settings, file_id=stored.file_id, client_id=reg.grant_admin)
    with pytest.raises(FileError, match="no Client Object"):
        share_file(db, settings, file_id=stored.file_id, client_id="nobody")
    with pytest.raises(FileError, match="no server-provided file"):
        share_file(db, settings, file_id="missing", client_id=reg.files)
    assert db.scalars(select(Grant)).all() == []


@pytest.mark.req("WG1-02-3.3.3-f", "WG1-02-9.2-b")
def test_a_grant_admin_token_reaches_the_files_of_its_grant(
    db: Session, settings: Settings
) -> None:
    catalogue = load_catalogue(settings)
    reg = setup.registration(db, settings)
    first, second = _pdf(db, "a.pdf"), _pdf(db, "b.pdf")
    grant = share_file(db, settings, file_id=first.file_id, client_id=reg.files)
    share_file(db, settings, file_id=second.file_id, client_id=reg.files)
    token = tokens.find(db, setup.grant_admin_token(db, reg, grant))
    assert token is not None
    access = files_for_token(db, catalogue, token)
    assert access is not None
    assert access.file_ids == {first.file_id}
    assert access.grant_ids == {grant.grant_id}

    set_status(db, grant, "suspended")
    access = files_for_token(db, catalogue, token)
    assert access is not None and access.file_ids == frozenset()


def test_other_tokens_are_not_files_tokens(db: Session, settings: Settings) -> None:
    catalogue = load_catalogue(settings)
    reg, other = setup.registration(db, settings), setup.registration(db, settings, "Other")
    grant = share_file(db, settings, file_id=_pdf(db).file_id, client_id=reg.files)
    accounts = setup.customer_grant(settings, db, reg, setup.customer(db))
    candidates = {
        "client admin": setup.admin_token(db, reg),
        "customer data": setup.access_token(
            db, reg.accounts, "cds_accounts_1", [accounts.grant_id]
        ),
        "another registration": setup.access_token(
            db, other.grant_admin, setup.FILES_SCOPE, [grant.grant_id]
        ),
    }
    for name, raw in candidates.items():
        token = tokens.find(db, raw)
        assert token is not None, name
        assert files_for_token(db, catalogue, token) is None, name
