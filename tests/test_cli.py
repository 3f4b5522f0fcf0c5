"""The operator's commands for client registrations: clients list/approve, messages send, files add
(run with Typer's CliRunner against the test database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from gridshare.cli import app
from gridshare.config import Settings
from gridshare.store.tables.clients import Client, Credential
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.messages import Message, ServerFile
from tests.oauth import grant_setup as setup


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@pytest.fixture
def gridshare(settings: Settings, engine: Engine) -> Iterator[CliRunnerCall]:
    yield CliRunnerCall(settings)


class CliRunnerCall:
    """`gridshare ARGS` on the test database."""

    def __init__(self, settings: Settings) -> None:
        assert settings.database_url is not None
        self.env = {
            "GRIDSHARE_DATABASE_URL": settings.database_url,
            "GRIDSHARE_DATA_DIR": str(settings.data_dir),
            "GRIDSHARE_BASE_URL": settings.base_url,
        }

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env)


def test_clients_list_shows_every_object_or_one_registrations(
    gridshare: CliRunnerCall, db: Session, settings: Settings
) -> None:
    mine = setup.registration(db, settings, "Mine")
    theirs = setup.registration(db, settings, "Theirs")
    db.commit()
    everything = gridshare("clients", "list")
    assert everything.exit_code == 0, everything.output
    for reg in (mine, theirs):
        for client_id in (reg.admin, reg.grant_admin, reg.files, reg.accounts):
            assert client_id in everything.stdout
    assert "sandbox" in everything.stdout and "production" in everything.stdout

    only = gridshare("clients", "list", "--registration", mine.registration_id)
    assert only.exit_code == 0
    assert mine.accounts in only.stdout and "Mine" in only.stdout
    assert theirs.accounts not in only.stdout and "Theirs" not in only.stdout

    none = gridshare("clients", "list", "--registration", "r-unknown")
    assert none.exit_code == 0
    assert none.stdout == ""
    assert "No Client Objects" in none.stderr


@pytest.mark.req("WG1-02-4.2-i", "WG1-02-4.2-j")
def test_clients_approve_creates_the_production_object(
    gridshare: CliRunnerCall, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    db.commit()
    result = gridshare("clients", "approve", reg.accounts)
    assert result.exit_code == 0, result.output
    new_id = result.stdout.strip()
    production = db.get_one(Client, new_id)
    sandbox = db.get_one(Client, reg.accounts)
    assert production.registration_id == reg.registration_id
    assert production.scope == sandbox.scope
    assert production.status == "production"
    assert "sandbox" not in production.status_options
    assert db.scalars(select(Credential).where(Credential.client_id == new_id)).all()

    twice = gridshare("clients", "approve", reg.accounts)
    assert twice.exit_code == 1
    assert "already has a production twin" in twice.stderr
    for other in (reg.admin, "nobody"):
        refused = gridshare("clients", "approve", other)
        assert refused.exit_code == 1
        assert "Nothing was changed" in refused.stderr


@pytest.mark.req("WG1-02-6.1-b", "WG1-02-6.3-b")
def test_messages_send_writes_an_unread_server_message(
    gridshare: CliRunnerCall, db: Session, settings: Settings
) -> None:
    reg = setup.registration(db, settings)
    db.commit()
    by_client = gridshare(
        "messages",
        "send",
        "--client",
        reg.files,
        "--name",
        "Maintenance",
        "--description",
        "Sunday",
    )
    assert by_client.exit_code == 0, by_client.output
    by_registration = gridshare(
        "messages",
        "send",
        "--registration",
        reg.registration_id,
        "--name",
        "Hello",
        "--description",
        "A private word",
        "--type",
        "private_message",
        "--related-uri",
        "https://example.com/docs",
        "--related-type",
        "documentation",
    )
    assert by_registration.exit_code == 0, by_registration.output
    sent = [db.get_one(Message, r.stdout.strip()) for r in (by_client, by_registration)]
    assert [(m.registration_id, m.type, m.name, m.description) for m in sent] == [
        (reg.registration_id, "notification", "Maintenance", "Sunday"),
        (reg.registration_id, "private_message", "Hello", "A private word"),
    ]
    assert all(not m.read and m.creator is None and m.status == "complete" for m in sent)
    assert [(m.related_uri, m.related_type) for m in sent] == [
        (None, None),
        ("https://example.com/docs", "documentation"),
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--name", "n", "--description", "d"],
        ["--registration", "REG", "--client", "CLIENT", "--name", "n", "--description", "d"],
        ["--registration", "REG", "--name", "n", "--description", "d", "--type", "grant_request"],
        ["--registration", "REG", "--name", " ", "--description", "d"],
        ["--registration", "r-unknown", "--name", "n", "--description", "d"],
        ["--client", "nobody", "--name", "n", "--description", "d"],
        [
            "--client",
            "CLIENT",
            "--name",
            "n",
            "--description",
            "d",
            "--related-uri",
            "https://x.org",
        ],
        ["--client", "CLIENT", "--name", "n", "--description", "d", "--related-type", "support"],
        [
            "--client",
            "CLIENT",
            "--name",
            "n",
            "--description",
            "d",
            "--related-uri",
            "https://x.org",
            "--related-type",
            "grant",
        ],
        [
            "--client",
            "CLIENT",
            "--name",
            "n",
            "--description",
            "d",
            "--related-uri",
            "x.org",
            "--related-type",
            "support",
        ],
    ],
)
def test_messages_send_refuses_bad_requests(
    gridshare: CliRunnerCall, db: Session, settings: Settings, args: list[str]
) -> None:
    reg = setup.registration(db, settings)
    db.commit()
    args = [reg.registration_id if a == "REG" else reg.files if a == "CLIENT" else a for a in args]
    result = gridshare("messages", "send", *args)
    assert result.exit_code == 1
    assert "Nothing was changed" in result.stderr
    assert db.scalars(select(Message)).all() == []


@pytest.mark.req("WG1-02-3.3.3-a")
def test_files_add_stores_and_shares_a_file(
    gridshare: CliRunnerCall, db: Session, settings: Settings, tmp_path: Path
) -> None:
    reg = setup.registration(db, settings)
    db.commit()
    path = tmp_path / "DR_API_docs_v1.0.pdf"
    path.write_bytes(b"%PDF-1.7 the docs")
    result = gridshare(
        "files", "add", str(path), "--client", reg.files, "--description", "DR API documentation"
    )
    assert result.exit_code == 0, result.output
    printed = dict(line.split() for line in result.stdout.splitlines())
    stored = db.get_one(ServerFile, printed["file_id"])
    assert (stored.name, stored.mime_type, stored.description, stored.data) == (
        "DR_API_docs_v1.0.pdf",
        "application/pdf",
        "DR API documentation",
        b"%PDF-1.7 the docs",
    )
    grant = db.get_one(Grant, printed["grant_id"])
    assert (grant.client_id, grant.scope, grant.status) == (reg.files, setup.FILES_SCOPE, "active")
    assert grant.authorization_details == [{"type": setup.FILES_SCOPE, "file_id": stored.file_id}]

    renamed = gridshare(
        "files",
        "add",
        str(path),
        "--client",
        reg.files,
        "--name",
        "x.bin",
        "--mime-type",
        "text/csv",
    )
    assert renamed.exit_code == 0, renamed.output
    other = db.get_one(
        ServerFile, dict(line.split() for line in renamed.stdout.splitlines())["file_id"]
    )
    assert (other.name, other.mime_type, other.description) == ("x.bin", "text/csv", "")


def test_files_add_refuses_a_client_without_the_files_scope(
    gridshare: CliRunnerCall, db: Session, settings: Settings, tmp_path: Path
) -> None:
    reg = setup.registration(db, settings)
    db.commit()
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    for client_id in (reg.accounts, "nobody"):
        result = gridshare("files", "add", str(path), "--client", client_id)
        assert result.exit_code == 1
        assert "Nothing was changed" in result.stderr
    bad_type = gridshare("files", "add", str(path), "--client", reg.files, "--mime-type", "text")
    assert bad_type.exit_code == 1
    assert db.scalars(select(ServerFile)).all() == []
    assert db.scalars(select(Grant)).all() == []


def test_approving_a_green_button_third_party_keeps_its_client_id(
    settings: Settings, engine: Engine, gridshare: CliRunnerCall
) -> None:
    """`gridshare clients approve` of a sandbox Green Button third party approves it in place
    and tells it so (a BatchList naming its ApplicationInformation)."""
    from gridshare.grants import espi_clients
    from gridshare.grants.scopes import load_catalogue
    from gridshare.store.db import session_factory
    from gridshare.store.tables.clients import Client
    from gridshare.store.tables.outbox import OutboxItem

    with session_factory(engine)() as session:
        made = espi_clients.register(
            session,
            settings,
            load_catalogue(settings),
            name="Pal",
            redirect_uris=["https://pal.example/cb"],
            notify_uri="https://pal.example/n",
            scopes=["FB=1_3_4_5_14"],
            software_id="pal",
            software_version="1",
            sandbox=True,
        )
        session.commit()
        client_id = made.client.client_id
    result = gridshare("clients", "approve", client_id)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == client_id
    with session_factory(engine)() as session:
        assert session.get_one(Client, client_id).status == "production"
        [note] = session.scalars(
            select(OutboxItem).where(OutboxItem.idempotency_key == f"espi:approved:{client_id}")
        ).all()
        assert espi_clients.application_uri(settings, client_id) in note.payload["text"]
    again = gridshare("clients", "approve", client_id)
    assert again.exit_code == 1 and "not a sandbox Green Button third party" in again.stderr
