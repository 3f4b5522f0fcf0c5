"""`gridshare requests list/approve/reject` (CDS-WG1-02 §6.9): requests posted over HTTP, reviewed
with Typer's CliRunner on the same test database, the answers read back over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from gridshare.cli import app
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Grant
from tests.grants import review_setup as rs
from tests.oauth.admin_setup import ACCOUNTS, Admin, clients_by_scope, http_factory, register


@pytest.fixture
def http(tmp_path: Path, database_url: str, engine: Engine) -> TestClient:
    return http_factory(tmp_path, database_url, engine)()


@pytest.fixture
def admin(http: TestClient) -> Admin:
    return register(http)


@pytest.fixture
def gridshare(tmp_path: Path, database_url: str, engine: Engine) -> CliCall:
    return CliCall(tmp_path, database_url)


class CliCall:
    """`gridshare ARGS` on the test database, with the app's base URL and scope catalogue."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        settings = rs.review_settings(tmp_path, database_url)
        self.env = {
            "GRIDSHARE_DATABASE_URL": database_url,
            "GRIDSHARE_DATA_DIR": str(settings.data_dir),
            "GRIDSHARE_BASE_URL": settings.base_url,
            "GRIDSHARE_SCOPES_FILE": str(settings.scopes_file),
        }

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env)


def test_requests_list_shows_what_awaits_review(
    http: TestClient, admin: Admin, engine: Engine, gridshare: CliCall
) -> None:
    empty = gridshare("requests", "list")
    assert empty.exit_code == 0, empty.output
    assert empty.stdout == "" and "No requests" in empty.stderr
    production = rs.production_request(http, admin)
    other = register(http)
    support = rs.support_request(http, other)
    listed = gridshare("requests", "list")
    assert listed.exit_code == 0, listed.output
    for request in (production, support):
        assert request["message_id"] in listed.stdout
    assert "production_request" in listed.stdout and "support_request" in listed.stdout
    with Session(engine) as session:
        registration = session.get_one(Client, other.client_id).registration_id
    only = gridshare("requests", "list", "--registration", registration)
    assert support["message_id"] in only.stdout
    assert production["message_id"] not in only.stdout


@pytest.mark.req("WG1-02-6.9-h", "WG1-02-6.3-d", "WG1-02-6.2-c")
def test_requests_approve_answers_a_production_request(
    http: TestClient, admin: Admin, gridshare: CliCall
) -> None:
    request = rs.production_request(http, admin)
    result = gridshare("requests", "approve", request["message_id"])
    assert result.exit_code == 0, result.output
    reply = rs.unread_reply(http, admin, request)
    assert result.stdout.strip() == reply["message_id"]
    assert (reply["status"], reply["related_type"]) == ("complete", "client")
    production = http.get(rs.path(reply["related_uri"]), headers=admin.headers)
    assert production.status_code == 200
    assert production.json()["cds_status"] == "production"
    assert rs.message(http, admin, request["uri"])["status"] == "complete"
    again = gridshare("requests", "approve", request["message_id"])
    assert again.exit_code == 1
    assert "Nothing was changed" in again.stderr and "already reviewed" in again.stderr


@pytest.mark.req("WG1-02-6.9-i", "WG1-02-6.3-e", "WG1-02-6.2-c")
def test_requests_approve_answers_a_grant_request(
    http: TestClient, admin: Admin, gridshare: CliCall
) -> None:
    target = clients_by_scope(http, admin)[ACCOUNTS]
    request = rs.grant_request(http, admin)
    result = gridshare("requests", "approve", request["message_id"])
    assert result.exit_code == 0, result.output
    reply = rs.unread_reply(http, admin, request)
    assert (reply["status"], reply["related_type"]) == ("complete", "grant_list")
    listing = http.get(rs.path(reply["related_uri"]), headers=admin.headers)
    assert listing.status_code == 200
    grants = listing.json()["grants"]
    assert [(g["client_id"], g["status"], g["scope"]) for g in grants] == [
        (target["client_id"], "active", ACCOUNTS)
    ]
    assert rs.message(http, admin, request["uri"])["status"] == "complete"


@pytest.mark.req("WG1-02-6.3-g", "WG1-02-6.9-i", "WG1-02-6.2-c")
def test_requests_reject_says_why(
    http: TestClient, admin: Admin, engine: Engine, gridshare: CliCall
) -> None:
    target = clients_by_scope(http, admin)[ACCOUNTS]
    request = rs.grant_request(http, admin)
    missing = gridshare("requests", "reject", request["message_id"])
    assert missing.exit_code != 0
    blank = gridshare("requests", "reject", request["message_id"], "--reason", " ")
    assert blank.exit_code == 1 and "Nothing was changed" in blank.stderr
    reason = "Account 1234567 is not one of your test accounts."
    result = gridshare("requests", "reject", request["message_id"], "--reason", reason)
    assert result.exit_code == 0, result.output
    reply = rs.unread_reply(http, admin, request)
    assert (reply["status"], reply["description"]) == ("rejected", reason)
    assert rs.message(http, admin, request["uri"])["status"] == "rejected"
    with Session(engine) as session:
        granted = session.scalar(select(func.count()).where(Grant.client_id == target["client_id"]))
    assert granted == 0


def test_requests_approve_unknown_fails(gridshare: CliCall) -> None:
    result = gridshare("requests", "approve", "m-unknown")
    assert result.exit_code == 1
    assert "Nothing was changed" in result.stderr and "m-unknown" in result.stderr
