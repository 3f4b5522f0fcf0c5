"""CDS-WG1-02 §7 Credentials API over HTTP: listing, retrieving, creating and expiring client
secrets, and what an expiry does at the token endpoint."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.store.tables.clients import Credential
from gridshare.store.tables.grants import Token
from gridshare.store.tables.messages import Message
from tests.oauth.admin_setup import (
    ACCOUNTS,
    DIRECT,
    FILES,
    Admin,
    HttpFactory,
    clients_by_scope,
    credential_for,
    register,
    token,
)
from tests.object_keys import CREDENTIAL_KEYS


def _path(url: str) -> str:
    return urlsplit(url).path


def _listing(http: TestClient, admin: Admin, **params: str) -> Any:
    answer = http.get(urls.CREDENTIALS, params=params, headers=admin.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _patch(http: TestClient, admin: Admin, credential: dict[str, Any], body: Any) -> Any:
    return http.patch(_path(credential["uri"]), json=body, headers=admin.headers)


def _changelog(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return list(session.scalars(select(Message).where(Message.related_type == "credential")))


@pytest.mark.req(
    "WG1-02-7-b", "WG1-02-7.1-a", "WG1-02-7.1-b", "WG1-02-7.2-a", "WG1-02-7.3-a", "WG1-02-7.4-a"
)
def test_the_listing_shows_every_secret_of_the_registration(http: TestClient, admin: Admin) -> None:
    other = register(http)
    body = _listing(http, admin)
    assert set(body) == {"credentials", "next", "previous"}
    assert (body["next"], body["previous"]) == (None, None)
    objects = clients_by_scope(http, admin)
    with_secrets = {c["client_id"] for c in objects.values() if c["token_endpoint_auth_method"]}
    assert {c["client_id"] for c in body["credentials"]} == with_secrets
    assert objects[FILES]["client_id"] not in with_secrets
    theirs = {c["credential_id"] for c in _listing(http, other)["credentials"]}
    for credential in body["credentials"]:
        assert credential.keys() == CREDENTIAL_KEYS
        assert credential["credential_id"] not in theirs
        assert credential["type"] == "client_secret"
        assert credential["client_secret_expires_at"] == 0
        assert len(credential["client_secret"]) >= 43  # 256 random bits, base64url
        assert (
            credential["uri"]
            == f"http://testserver{urls.CREDENTIALS}/{credential['credential_id']}"
        )
        got = http.get(_path(credential["uri"]), headers=admin.headers)
        assert got.status_code == 200 and got.json() == credential
        assert got.headers["cache-control"] == "no-store"
    mine = next(c for c in body["credentials"] if c["client_id"] == admin.client_id)
    assert mine["client_secret"] == admin.secret
    assert token(http, admin.client_id, mine["client_secret"])


@pytest.mark.req("WG1-02-7.4-a")
def test_another_registrations_credential_is_not_found(http: TestClient, admin: Admin) -> None:
    other = register(http)
    theirs = _listing(http, other)["credentials"][0]
    assert http.get(_path(theirs["uri"]), headers=admin.headers).status_code == 404
    answer = _patch(http, admin, theirs, {"client_secret_expires_at": int(time.time())})
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"
    assert http.get(_path(theirs["uri"]), headers=other.headers).json() == theirs


@pytest.mark.req("WG1-02-7-b", "WG1-02-11.2-d")
def test_the_api_needs_a_client_admin_bearer_token(http: TestClient, admin: Admin) -> None:
    direct = clients_by_scope(http, admin)[DIRECT]
    credential = credential_for(http, admin, direct["client_id"])
    narrow = token(http, direct["client_id"], credential["client_secret"], scope=DIRECT)
    calls = [
        ("GET", urls.CREDENTIALS, None),
        ("GET", _path(credential["uri"]), None),
        ("POST", urls.CREDENTIALS, {"client_id": direct["client_id"]}),
        ("PATCH", _path(credential["uri"]), {"client_secret_expires_at": int(time.time())}),
    ]
    for method, url, body in calls:
        assert http.request(method, url, json=body).status_code == 401
        denied = http.request(method, url, json=body, headers={"Authorization": f"Bearer {narrow}"})
        assert denied.status_code == 403
    assert credential_for(http, admin, direct["client_id"]) == credential
    assert len(_listing(http, admin)["credentials"]) == 4


@pytest.mark.req("WG1-02-7.3-b")
def test_the_filters_intersect(http: TestClient, admin: Admin, engine: Engine) -> None:
    objects = clients_by_scope(http, admin)
    direct, accounts = objects[DIRECT]["client_id"], objects[ACCOUNTS]["client_id"]
    old = credential_for(http, admin, direct)
    with Session(engine) as session, session.begin():
        session.execute(
            update(Credential)
            .where(Credential.credential_id == old["credential_id"])
            .values(created=datetime(2024, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC))
        )
    both = f"{direct} {accounts}"

    def ids(**params: str) -> set[str]:
        return {c["credential_id"] for c in _listing(http, admin, **params)["credentials"]}

    assert {c["client_id"] for c in _listing(http, admin, client_ids=both)["credentials"]} == {
        direct,
        accounts,
    }
    assert ids(credential_ids=old["credential_id"]) == {old["credential_id"]}
    assert ids(credential_ids=old["credential_id"], client_ids=accounts) == set()
    assert ids(before="2024-06-01T00:00:00Z") == {old["credential_id"]}
    assert ids(before="2024-01-01T12:00:00Z") == {old["credential_id"]}  # its shown second
    assert ids(before="2024-01-01T11:59:59Z") == set()
    assert ids(before="2024-01-01T13:00:00+01:00") == {old["credential_id"]}
    assert old["credential_id"] not in ids(after="2024-06-01T00:00:00Z")
    assert ids(after="2024-01-01T00:00:00Z", before="2024-01-02T00:00:00Z", client_ids=both) == {
        old["credential_id"]
    }
    for params in (
        {"client_ids": ""},
        {"credential_ids": "  "},
        {"after": "yesterday"},
        {"before": "2024-01-01"},
        {"after": "2024-01-01T00:00:00"},
    ):
        answer = http.get(urls.CREDENTIALS, params=params, headers=admin.headers)
        assert answer.status_code == 400, params
        assert answer.json()["error"] == "invalid_request"


@pytest.mark.req("WG1-02-7.3-a", "WG1-02-7.3-c")
def test_the_listing_is_newest_modified_first_in_pages(make_http: HttpFactory) -> None:
    http = make_http(page_size=3)
    admin = register(http)
    direct = credential_for(http, admin, clients_by_scope(http, admin)[DIRECT]["client_id"])
    later = int(time.time()) + 3600
    assert _patch(http, admin, direct, {"client_secret_expires_at": later}).status_code == 200
    seen: list[dict[str, Any]] = []
    url: str | None = urls.CREDENTIALS
    while url:
        page = http.get(url, headers=admin.headers).json()
        seen += page["credentials"]
        url = page["next"]
    assert len(seen) == 4
    assert seen[0]["credential_id"] == direct["credential_id"]
    assert [c["modified"] for c in seen] == sorted((c["modified"] for c in seen), reverse=True)
    assert page["previous"] is not None


@pytest.mark.req("WG1-02-7.5-a", "WG1-02-7.3-d", "WG1-02-7.1-b")
def test_a_new_credential_like_example_12_13(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    direct = clients_by_scope(http, admin)[DIRECT]["client_id"]
    answer = http.post(urls.CREDENTIALS, json={"client_id": direct}, headers=admin.headers)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created.keys() == CREDENTIAL_KEYS
    assert created["client_id"] == direct
    assert created["created"] == created["modified"]
    assert http.get(_path(created["uri"]), headers=admin.headers).json() == created
    assert token(http, direct, created["client_secret"], scope=DIRECT)
    listed = _listing(http, admin, client_ids=direct)["credentials"]
    assert listed[0]["credential_id"] == created["credential_id"]
    assert len({c["client_secret"] for c in listed}) == 2
    logged = _changelog(engine)
    assert [m.related_uri for m in logged] == [created["uri"]]
    assert logged[0].type == "notification" and logged[0].read is False


@pytest.mark.req("WG1-02-7.5-a")
def test_a_bad_creation_request_creates_nothing(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    other = register(http)
    objects = clients_by_scope(http, admin)
    for body in (
        {},
        {"client_id": 12},
        {"client_id": other.client_id},
        {"client_id": "nope"},
        {"client_id": objects[FILES]["client_id"]},
    ):
        answer = http.post(urls.CREDENTIALS, json=body, headers=admin.headers)
        assert answer.status_code == 400, body
        assert answer.json()["error"] == "invalid_request"
    for content, content_type, status in (
        (b'{"client_id": ', "application/json", 400),
        (b"client_id=x", "application/x-www-form-urlencoded", 415),
    ):
        answer = http.post(
            urls.CREDENTIALS,
            content=content,
            headers=admin.headers | {"Content-Type": content_type},
        )
        assert answer.status_code == status
    assert len(_listing(http, admin)["credentials"]) == 4
    assert _changelog(engine) == []


@pytest.mark.req("WG1-02-7.6-a", "WG1-02-7.6-b", "WG1-02-7.6-c", "WG1-02-7.3-d")
def test_an_expiry_can_only_be_brought_forward(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    credential = credential_for(http, admin, clients_by_scope(http, admin)[DIRECT]["client_id"])
    now = int(time.time())
    day, hour = now + 86_400, now + 3_600

    def expiry(value: Any) -> Any:
        return _patch(http, admin, credential, {"client_secret_expires_at": value})

    first = expiry(day)
    assert first.status_code == 200, first.text
    assert first.json()["client_secret_expires_at"] == day
    assert first.json()["client_secret"] == credential["client_secret"]
    for refused in (day + 1, 0, now - 86_400, "soon", 1.5, True, None, -1, 10**12):
        answer = expiry(refused)
        assert answer.status_code == 400, refused
        assert answer.json()["error"] == "invalid_request"
    assert expiry(day).status_code == 200  # the same value is no change
    second = expiry(hour)
    assert second.status_code == 200
    assert second.json()["client_secret_expires_at"] == hour
    ignored = _patch(
        http, admin, credential, {"client_secret": "mine", "client_id": "x", "type": "other"}
    )
    assert ignored.status_code == 200
    assert ignored.json() == second.json()
    assert http.get(_path(credential["uri"]), headers=admin.headers).json() == second.json()
    assert len(_changelog(engine)) == 2
    assert token(http, credential["client_id"], credential["client_secret"], scope=DIRECT)


@pytest.mark.req("WG1-02-7.6-b")
def test_a_secret_without_expiry_may_keep_none(http: TestClient, admin: Admin) -> None:
    credential = credential_for(http, admin, clients_by_scope(http, admin)[DIRECT]["client_id"])
    answer = _patch(http, admin, credential, {"client_secret_expires_at": 0})
    assert answer.status_code == 200
    assert answer.json() == credential


@pytest.mark.req("WG1-02-7.6-d", "WG1-02-7.6-e", "WG1-02-7.3-d")
def test_expiring_a_secret_now_ends_it_and_its_tokens_at_once(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    spare = http.post(urls.CREDENTIALS, json={"client_id": admin.client_id}, headers=admin.headers)
    spare_token = token(http, admin.client_id, spare.json()["client_secret"])
    spare_headers = {"Authorization": f"Bearer {spare_token}"}
    leaked = credential_for(http, admin, admin.client_id)
    if leaked["credential_id"] == spare.json()["credential_id"]:
        leaked = _listing(http, admin, client_ids=admin.client_id)["credentials"][1]
    assert leaked["client_secret"] == admin.secret
    second_token = token(http, admin.client_id, admin.secret)
    now = int(time.time())
    answer = http.patch(
        _path(leaked["uri"]), json={"client_secret_expires_at": now}, headers=spare_headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["client_secret_expires_at"] == now
    assert answer.json()["client_secret"] == leaked["client_secret"]
    for used in (admin.token, second_token):
        refused = http.get(urls.CLIENTS, headers={"Authorization": f"Bearer {used}"})
        assert refused.status_code == 401
    again = http.post(
        urls.TOKEN,
        data={"grant_type": "client_credentials", "scope": "cds_client_admin"},
        auth=(admin.client_id, admin.secret),
    )
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"
    with Session(engine) as session:
        issued = session.scalars(
            select(Token).where(Token.credential_id == leaked["credential_id"])
        ).all()
    assert len(issued) == 2 and all(t.revoked_at is not None for t in issued)
    assert http.get(urls.CLIENTS, headers=spare_headers).status_code == 200
    logged = [m for m in _changelog(engine) if m.related_uri == leaked["uri"]]
    assert len(logged) == 1 and "revoked" in logged[0].description


@pytest.mark.req("WG1-02-7.6-b")
def test_an_expiry_within_the_clock_allowance_counts_as_now(http: TestClient, admin: Admin) -> None:
    credential = credential_for(http, admin, clients_by_scope(http, admin)[DIRECT]["client_id"])
    a_bit_ago = int((datetime.now(UTC) - timedelta(seconds=20)).timestamp())
    answer = _patch(http, admin, credential, {"client_secret_expires_at": a_bit_ago})
    assert answer.status_code == 200
    refused = http.post(
        urls.TOKEN,
        data={"grant_type": "client_credentials", "scope": DIRECT},
        auth=(credential["client_id"], credential["client_secret"]),
    )
    assert refused.status_code == 401
