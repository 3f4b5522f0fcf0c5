"""The pushed authorization request endpoint (RFC 9126 §2): authenticated, fully validated,
stored hashed, and nothing stored when refused."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, func, select

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants.pushed_requests import URN_PREFIX
from gridshare.grants.secrets import digest
from gridshare.store.tables.grants import PushedRequest
from tests.oauth.authorization_setup import ACCOUNTS, World, world

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    return world(settings, engine)


def _stored(w: World) -> list[PushedRequest]:
    with w.session() as session:
        return list(session.scalars(select(PushedRequest)))


@pytest.mark.req("WG1-02-3.2-f")
def test_a_valid_request_gets_a_request_uri_stored_only_hashed(w: World) -> None:
    response = w.push(w.query())
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["expires_in"] == w.settings.par_seconds
    assert body["request_uri"].startswith(URN_PREFIX)
    secret = body["request_uri"].removeprefix(URN_PREFIX)
    assert len(secret) >= 43
    [record] = _stored(w)
    assert record.request_hash == digest(secret)
    assert record.client_id == w.client_id
    assert secret not in json.dumps(record.parameters)
    assert (record.expires_at - record.created).total_seconds() == w.settings.par_seconds


@pytest.mark.req("WG1-02-3.2-f")
def test_the_client_must_authenticate(w: World) -> None:
    response = w.http.post(urls.PAR, content=urlencode(w.query()), headers=FORM)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    wrong = {**FORM, "Authorization": w.basic["Authorization"][:-4] + "AAA="}
    assert w.http.post(urls.PAR, content=urlencode(w.query()), headers=wrong).status_code == 401
    assert _stored(w) == []


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"redirect_uri": "https://evil.example/"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"scope": "cds_unknown"}, "invalid_scope"),
        ({"authorization_details": "[{}]"}, "invalid_authorization_details"),
        ({"request_uri": URN_PREFIX + "abc"}, "invalid_request"),
        ({"client_id": "someone-else"}, "invalid_request"),
        ({"cds_grant_id": "g-none"}, "cds_grant_id_invalid_value"),
    ],
    ids=[
        "redirect-uri",
        "response-type",
        "pkce-plain",
        "no-pkce",
        "scope",
        "details",
        "request-uri-inside",
        "other-client-id",
        "grant-id",
    ],
)
@pytest.mark.req("WG1-02-3.2-f", "WG1-02-3.4-e", "WG1-02-8.3-a")
def test_an_invalid_request_is_refused_with_its_error_and_not_stored(
    w: World, overrides: dict[str, str | None], error: str
) -> None:
    response = w.push(w.query(**overrides))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert _stored(w) == []


def test_a_parameter_twice_is_refused(w: World) -> None:
    response = w.push([*w.query().items(), ("scope", ACCOUNTS)])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_body_must_be_a_form_of_bounded_size(w: World) -> None:
    as_json = w.http.post(
        urls.PAR, json=w.query(), headers={**w.basic, "Content-Type": "application/json"}
    )
    assert as_json.status_code == 400
    assert as_json.json()["error"] == "invalid_request"
    huge = w.push({**w.query(), "state": "x" * 70_000})
    assert huge.status_code == 413
    assert huge.json()["error"] == "invalid_request"
    assert _stored(w) == []


def test_client_secrets_in_the_body_are_not_kept(w: World) -> None:
    response = w.push({**w.query(), "client_secret": w.secret})
    assert response.status_code == 201
    [record] = _stored(w)
    assert "client_secret" not in record.parameters["pushed"]
    assert w.secret not in json.dumps(record.parameters)


def test_each_push_stores_a_new_request(w: World) -> None:
    first = w.push(w.query()).json()["request_uri"]
    second = w.push(w.query()).json()["request_uri"]
    assert first != second
    with w.session() as session:
        assert session.scalar(select(func.count()).select_from(PushedRequest)) == 2


@pytest.mark.req("WG1-02-11.3-b")
def test_requests_are_rate_limited_per_address_before_authentication(
    settings: Settings, engine: Engine
) -> None:
    w = world(settings.model_copy(update={"rate_limit_per_address": 2}), engine)
    anonymous = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = [
        w.http.post(urls.PAR, content=urlencode(w.query()), headers=anonymous).status_code
        for _ in range(3)
    ]
    assert answers == [401, 401, 429]
    assert w.push(w.query()).status_code == 429
