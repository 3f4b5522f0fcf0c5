"""CDS-WG1-02 §6.9 review of client requests (`grants.reviews`): requests posted over HTTP, reviewed
by the operator's functions, and the answers read back over the Messages, Clients, Credentials and
Grants APIs with the registration's cds_client_admin token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants import reviews
from gridshare.grants.grants import STATUSES, create_grant, grant_json
from gridshare.grants.messages import create_message
from gridshare.oauth.messages_api import CREATED_STATUS
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.messages import Message
from tests.grants import review_setup as rs
from tests.oauth import grant_setup
from tests.oauth.admin_setup import (
    ACCOUNTS,
    DIRECT,
    DIRECT_TOO,
    Admin,
    clients_by_scope,
    credential_for,
    http_factory,
    register,
)

MESSAGE_TYPES = {
    "notification",
    "private_message",
    "production_request",
    "support_request",
    "grant_request",
    "field_changes",
    "server_request",
    "client_submission",
    "payment_request",
    "online_form_request",
    "pdf_form_request",
    "request_update",
}
"""§6.2, as the spec lists them."""
MESSAGE_STATUSES = {"complete", "open", "pending", "rejected", "errored"}
"""§6.3."""
GRANT_STATUSES = {
    "active",
    "future",
    "pending",
    "partial",
    "needs_authorization",
    "needs_sub_grants",
    "disabled",
    "suspended",
    "revoked",
    "closed",
    "expired",
    "delayed",
    "stopped",
    "errored",
}
"""§8.2."""

Review = Callable[..., Message]


@pytest.fixture
def http(tmp_path: Path, database_url: str, engine: Engine) -> TestClient:
    return http_factory(tmp_path, database_url, engine)()


@pytest.fixture
def review_settings(tmp_path: Path, database_url: str) -> Settings:
    return rs.review_settings(tmp_path, database_url)


@pytest.fixture
def admin(http: TestClient) -> Admin:
    return register(http)


@pytest.fixture
def approve(engine: Engine, review_settings: Settings) -> Review:
    """`reviews.approve` in its own committed transaction, as the CLI runs it."""

    def run(message_id: str, note: str = "") -> Message:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            return reviews.approve(session, review_settings, message_id, note)

    return run


@pytest.fixture
def reject(engine: Engine, review_settings: Settings) -> Review:
    def run(message_id: str, reason: str) -> Message:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            return reviews.reject(session, review_settings, message_id, reason)

    return run


def _grants_of(engine: Engine, client_id: str) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(Grant.client_id == client_id)
        return session.scalar(query) or 0


def _count(engine: Engine, table: type[Any]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


@pytest.mark.req("WG1-02-6.9-h", "WG1-02-6.3-d", "WG1-02-6.2-c")
def test_approving_a_production_request_creates_the_production_object(
    http: TestClient, admin: Admin, engine: Engine, approve: Review
) -> None:
    request = rs.production_request(http, admin)
    with Session(engine) as session:
        assert [m.message_id for m in reviews.pending_requests(session)] == [request["message_id"]]
    approve(request["message_id"])

    reply = rs.unread_reply(http, admin, request)
    assert (reply["status"], reply["related_type"], reply["creator"]) == (
        "complete",
        "client",
        None,
    )
    production = http.get(rs.path(reply["related_uri"]), headers=admin.headers)
    assert production.status_code == 200, production.text
    assert production.json()["scope"] == ACCOUNTS
    assert "production" in production.json()["cds_status_options"]
    assert (
        credential_for(http, admin, production.json()["client_id"])["client_id"]
        == (production.json()["client_id"])
    )
    original = rs.message(http, admin, request["uri"])
    assert original["status"] == "complete"
    assert (original["related_type"], original["related_uri"]) == ("client", reply["related_uri"])
    assert request["message_id"] not in {
        m["message_id"] for m in rs.messages(http, admin)["outstanding"]
    }
    with Session(engine) as session:
        assert reviews.pending_requests(session) == []


@pytest.mark.req("WG1-02-6.9-i", "WG1-02-6.3-e", "WG1-02-6.2-c")
def test_approving_a_grant_request_creates_the_grants(
    http: TestClient, admin: Admin, engine: Engine, approve: Review
) -> None:
    target = clients_by_scope(http, admin)[ACCOUNTS]
    asked = [
        {"scope": ACCOUNTS, "authorization_details": [rs.ASKED_DETAILS]},
        {"scope": ACCOUNTS, "authorization_details": []},
    ]
    request = rs.grant_request(http, admin, asked)
    approve(request["message_id"])

    reply = rs.unread_reply(http, admin, request)
    assert (reply["status"], reply["related_type"]) == ("complete", "grant_list")
    assert reply["related_uri"].startswith("http://testserver/cds-api/v1/grants?grant_ids=")
    assert "%20" in reply["related_uri"]
    listing = http.get(rs.path(reply["related_uri"]), headers=admin.headers)
    assert listing.status_code == 200, listing.text
    grants = listing.json()["grants"]
    assert len(grants) == 2
    assert _grants_of(engine, target["client_id"]) == 2
    for grant in grants:
        assert (grant["client_id"], grant["status"], grant["scope"]) == (
            target["client_id"],
            "active",
            ACCOUNTS,
        )
        assert grant["enabled_scope"] == ACCOUNTS
        assert [entry["type"] for entry in grant["authorization_details"]] == [ACCOUNTS]
    assert any(g["authorization_details"][0]["include_account_programs"] is True for g in grants)
    original = rs.message(http, admin, request["uri"])
    assert (original["status"], original["related_type"], original["related_uri"]) == (
        "complete",
        "grant_list",
        reply["related_uri"],
    )


@pytest.mark.req("WG1-02-6.3-g", "WG1-02-6.9-h", "WG1-02-6.9-i", "WG1-02-6.2-c")
def test_rejected_requests_say_why_and_change_nothing(
    http: TestClient, admin: Admin, engine: Engine, reject: Review
) -> None:
    clients_before = _count(engine, Client)
    for request in (rs.production_request(http, admin), rs.grant_request(http, admin)):
        with pytest.raises(reviews.ReviewError, match="reason"):
            reject(request["message_id"], "  ")
        reason = f"We cannot approve {request['type']} yet: send us your W-9 first."
        reject(request["message_id"], reason)
        reply = rs.unread_reply(http, admin, request)
        assert (reply["status"], reply["description"]) == ("rejected", reason)
        assert "related_uri" not in reply
        original = rs.message(http, admin, request["uri"])
        assert original["status"] == "rejected"
        assert original["related_type"] == "client"  # still the object it was about
    assert _count(engine, Client) == clients_before
    assert _grants_of(engine, clients_by_scope(http, admin)[ACCOUNTS]["client_id"]) == 0


@pytest.mark.req("WG1-02-6.2-b", "WG1-02-5.5-f")
def test_approving_field_changes_applies_the_held_values(
    http: TestClient, admin: Admin, approve: Review
) -> None:
    held = rs.field_changes(http, admin)
    direct = clients_by_scope(http, admin)[DIRECT]
    assert direct["scope"] == DIRECT
    answer = approve(held["message_id"])
    changed = http.get(rs.path(direct["cds_client_uri"]), headers=admin.headers).json()
    assert changed["scope"] == f"{DIRECT} {DIRECT_TOO}"
    assert changed["authorization_details_types"] == [DIRECT, DIRECT_TOO]
    reviewed = rs.message(http, admin, held["uri"])
    assert (reviewed["status"], reviewed["read"]) == ("complete", False)
    unread = {m["message_id"]: m for m in rs.messages(http, admin)["unread"]}
    assert (unread[answer.message_id]["type"], unread[answer.message_id]["related_uri"]) == (
        "notification",
        direct["cds_client_uri"],
    )


@pytest.mark.req("WG1-02-6.3-g")
def test_rejecting_field_changes_keeps_the_object_and_says_why(
    http: TestClient, admin: Admin, reject: Review
) -> None:
    held = rs.field_changes(http, admin)
    reject(held["message_id"], "That scope is for utilities only.")
    assert clients_by_scope(http, admin)[DIRECT]["scope"] == DIRECT
    reviewed = rs.message(http, admin, held["uri"])
    assert reviewed["status"] == "rejected"
    assert "That scope is for utilities only." in reviewed["description"]


def test_field_changes_overtaken_by_another_change_are_not_applied(
    http: TestClient, admin: Admin, approve: Review
) -> None:
    first = rs.field_changes(http, admin)
    direct = clients_by_scope(http, admin)[DIRECT]
    body = {k: v for k, v in direct.items() if k in rs.MODIFIABLE} | {"scope": DIRECT_TOO}
    assert http.put(direct["cds_client_uri"], json=body, headers=admin.headers).status_code == 202
    outstanding = rs.messages(http, admin)["outstanding"]
    second = next(m for m in outstanding if m["message_id"] != first["message_id"])
    approve(second["message_id"])
    assert clients_by_scope(http, admin)[DIRECT_TOO]["client_id"] == direct["client_id"]
    with pytest.raises(reviews.ReviewError, match="changed since"):
        approve(first["message_id"])
    assert clients_by_scope(http, admin)[DIRECT_TOO]["client_id"] == direct["client_id"]
    assert rs.message(http, admin, first["uri"])["status"] == "pending"


def test_support_requests_are_resolved_not_rejected(
    http: TestClient, admin: Admin, approve: Review, reject: Review
) -> None:
    request = rs.support_request(http, admin)
    with pytest.raises(reviews.ReviewError, match="cannot be rejected"):
        reject(request["message_id"], "no")
    approve(request["message_id"], "Refresh tokens last 90 days; see the docs.")
    reply = rs.unread_reply(http, admin, request)
    assert reply["status"] == "complete"
    assert "90 days" in reply["description"]
    assert rs.message(http, admin, request["uri"])["status"] == "complete"


def test_review_errors(
    http: TestClient, admin: Admin, engine: Engine, approve: Review, reject: Review
) -> None:
    with pytest.raises(reviews.ReviewError, match="no Message"):
        approve("m-unknown")
    request = rs.production_request(http, admin)
    approve(request["message_id"])
    with pytest.raises(reviews.ReviewError, match="already reviewed"):
        approve(request["message_id"])
    with pytest.raises(reviews.ReviewError, match="already reviewed"):
        reject(request["message_id"], "late")
    reply = rs.unread_reply(http, admin, request)
    with pytest.raises(reviews.ReviewError, match="request_update"):
        approve(reply["message_id"])
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(Message.type == "request_update")) == 1


def test_pending_requests_filters_by_registration(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    other = register(http)
    mine, theirs = rs.production_request(http, admin), rs.support_request(http, other)
    with Session(engine) as session:
        everything = reviews.pending_requests(session)
        assert [m.message_id for m in everything] == [mine["message_id"], theirs["message_id"]]
        registration = session.get_one(Client, other.client_id).registration_id
        only = reviews.pending_requests(session, registration)
        assert [m.message_id for m in only] == [theirs["message_id"]]


@pytest.mark.req("WG1-02-6.2-a", "WG1-02-6.3-a")
def test_messages_use_only_the_enumerated_types_and_statuses(
    http: TestClient, admin: Admin, engine: Engine, approve: Review, reject: Review
) -> None:
    assert set(CREATED_STATUS) <= MESSAGE_TYPES
    assert set(CREATED_STATUS.values()) <= MESSAGE_STATUSES
    approve(rs.production_request(http, admin)["message_id"])
    approve(rs.grant_request(http, admin)["message_id"])
    reject(rs.grant_request(http, admin)["message_id"], "Not for this account.")
    approve(rs.support_request(http, admin)["message_id"])
    approve(rs.field_changes(http, admin)["message_id"])
    rs.post(http, admin, {"type": "private_message", "name": "Hi", "description": "Thanks!"})
    listed = rs.messages(http, admin)
    seen = [m for name in ("outstanding", "unread", "read") for m in listed[name]]
    with Session(engine) as session:
        stored = session.scalars(select(Message)).all()
    assert {m.type for m in stored} >= {"request_update", "field_changes", "notification"}
    for found in (*((m.type, m.status) for m in stored), *((m["type"], m["status"]) for m in seen)):
        assert found[0] in MESSAGE_TYPES and found[1] in MESSAGE_STATUSES, found


@pytest.mark.req("WG1-02-8.2-a")
def test_grant_statuses_are_those_of_section_8_2(engine: Engine, settings: Settings) -> None:
    assert STATUSES <= GRANT_STATUSES
    with Session(engine) as session:
        client = _any_client(session, settings)
        for status in sorted(STATUSES):
            grant = create_grant(
                session,
                client_id=client,
                scope=ACCOUNTS,
                authorization_details=[],
                status=status,
            )
            assert grant_json(settings, grant)["status"] in GRANT_STATUSES
        session.rollback()


def _any_client(session: Session, settings: Settings) -> str:
    registration = grant_setup.registration(session, settings)
    session.flush()
    return registration.accounts


def test_a_request_update_supersedes_only_its_own_request(
    engine: Engine, settings: Settings
) -> None:
    """A reply changes the status of the Message it links to, and of no other."""
    with Session(engine) as session:
        reg = grant_setup.registration(session, settings)
        session.flush()
        first, second = (
            create_message(
                session,
                registration_id=reg.registration_id,
                type="support_request",
                name=name,
                description="",
                status="pending",
                creator=reg.admin,
            )
            for name in ("one", "two")
        )
        session.flush()
        create_message(
            session,
            registration_id=reg.registration_id,
            type="request_update",
            name="Resolved",
            description="Done.",
            status="complete",
            previous_id=first.message_id,
        )
        session.flush()
        assert (first.status, second.status) == ("complete", "pending")
        session.rollback()
