"""RFC 7591 Dynamic Client Registration as CDS-WG1-02 §4 extends it, over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.store.tables.clients import Client, Credential, Registration

REGISTER = "/oauth/register"
EXAMPLE = {  # §12.3, with this server's scope ids
    "scope": "cds_client_admin cds_grant_admin_1 cds_server_provided_files_1 cds_accounts_1",
    "client_name": "My App Name",
    "cds_company_name": "My Company Name",
}
ADMIN_KEYS = {
    "client_id",
    "client_id_issued_at",
    "scope",
    "redirect_uris",
    "response_types",
    "grant_types",
    "token_endpoint_auth_method",
    "client_secret",
    "client_name",
    "contacts",
    "authorization_details_types",
    "cds_created",
    "cds_modified",
    "cds_client_uri",
    "cds_status",
    "cds_status_options",
    "cds_server_metadata",
}


@pytest.fixture
def client(settings: Settings, engine: Engine) -> TestClient:
    return TestClient(create_app(settings, engine))


def _count(engine: Engine, table: type[Any]) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _nothing_written(engine: Engine) -> None:
    for table in (Registration, Client, Credential):
        assert _count(engine, table) == 0, table.__name__


@pytest.mark.req(
    "WG1-02-4.1-a", "WG1-02-4.2-a", "WG1-02-4.2-b", "WG1-02-4.2-c", "WG1-02-5.1-b", "WG1-02-5.1-d"
)
def test_registration_answers_201_with_the_client_admin_object(
    client: TestClient, engine: Engine
) -> None:
    response = client.post(REGISTER, json=EXAMPLE)
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == ADMIN_KEYS
    assert body["scope"] == "cds_client_admin"
    assert (body["redirect_uris"], body["response_types"]) == ([], [])
    assert body["grant_types"] == ["client_credentials"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_name"] == "My App Name"
    assert body["authorization_details_types"] == []
    assert (body["cds_status"], body["cds_status_options"]) == ("production", ["production"])
    assert body["cds_client_uri"] == f"http://testserver/cds-api/v1/clients/{body['client_id']}"
    assert len(body["client_secret"]) >= 43  # 256 random bits
    assert "client_secret_expires_at" not in body
    assert _count(engine, Client) == 4 and _count(engine, Credential) == 3


@pytest.mark.req("WG1-02-4.2-b", "WG1-02-4.2-f")
def test_the_returned_secret_obtains_a_client_admin_token(client: TestClient) -> None:
    body = client.post(REGISTER, json=EXAMPLE).json()
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "cds_client_admin"},
        auth=(body["client_id"], body["client_secret"]),
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "cds_client_admin"


@pytest.mark.req("WG1-02-4.1-d")
def test_submitted_redirect_uris_are_ignored(client: TestClient, engine: Engine) -> None:
    body = EXAMPLE | {"redirect_uris": ["https://evil.example.com/cb"]}
    assert client.post(REGISTER, json=body).json()["redirect_uris"] == []
    with Session(engine) as session:
        for registered in session.scalars(select(Client)):
            assert "https://evil.example.com/cb" not in registered.redirect_uris
            if registered.response_types:
                assert registered.redirect_uris == [
                    f"http://testserver/oauth/outcome/{registered.client_id}"
                ]


@pytest.mark.req("WG1-02-4.1-b")
@pytest.mark.parametrize(
    "scope",
    [
        "cds_client_admin example_custom",
        "cds_client_admin cds_accounts_1 openid",
        "openid cds_client_admin",
    ],
)
def test_unknown_scopes_mixed_with_known_ones_are_refused(
    client: TestClient, engine: Engine, scope: str
) -> None:
    response = client.post(REGISTER, json=EXAMPLE | {"scope": scope})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_client_metadata"
    assert "cds_scope_descriptions" in body["error_description"]
    _nothing_written(engine)


@pytest.mark.req("WG1-02-4.1-a")
@pytest.mark.parametrize("scope", [None, "", "cds_accounts_1", "openid profile"])
def test_registrations_without_cds_client_admin_are_not_cds_registrations(
    client: TestClient, engine: Engine, scope: str | None
) -> None:
    body = {k: v for k, v in EXAMPLE.items() if k != "scope"}
    if scope is not None:
        body["scope"] = scope
    response = client.post(REGISTER, json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert "cds_client_admin" in response.json()["error_description"]
    _nothing_written(engine)


@pytest.mark.req("WG1-02-4.1-c", "WG1-02-3.7-a")
@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"cds_company_name": None}, "cds_company_name"),
        ({"cds_company_name": 42}, "cds_company_name"),
        ({"cds_company_name": "x" * 1025}, "1024"),
        ({"client_uri": "not a url"}, "client_uri"),
    ],
)
def test_registration_field_values_are_validated(
    client: TestClient, engine: Engine, changes: dict[str, Any], problem: str
) -> None:
    response = client.post(REGISTER, json=EXAMPLE | changes)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert problem in response.json()["error_description"]
    _nothing_written(engine)


@pytest.mark.req("WG1-02-4.1-c")
def test_a_missing_required_registration_field_is_refused(
    client: TestClient, engine: Engine
) -> None:
    body = {k: v for k, v in EXAMPLE.items() if k != "cds_company_name"}
    response = client.post(REGISTER, json=body)
    assert response.status_code == 400
    assert "cds_company_name" in response.json()["error_description"]
    _nothing_written(engine)


def test_unknown_metadata_is_ignored(client: TestClient) -> None:
    body = EXAMPLE | {"software_version": "2.1", "grant_types": ["password"], "client_id": "mine"}
    answer = client.post(REGISTER, json=body).json()
    assert answer["grant_types"] == ["client_credentials"] and answer["client_id"] != "mine"


@pytest.mark.parametrize(
    ("content", "headers", "status", "error"),
    [
        (json.dumps(EXAMPLE), {"content-type": "text/plain"}, 415, "invalid_request"),
        (
            "scope=cds_client_admin",
            {"content-type": "application/x-www-form-urlencoded"},
            415,
            None,
        ),
        (json.dumps(EXAMPLE), {}, 415, None),
        ("{not json", {"content-type": "application/json"}, 400, "invalid_request"),
        ("[1, 2]", {"content-type": "application/json"}, 400, "invalid_request"),
        (
            json.dumps(EXAMPLE | {"padding": "x" * 70_000}),
            {"content-type": "application/json"},
            413,
            None,
        ),
    ],
    ids=["text", "form", "no type", "malformed", "array", "oversize"],
)
def test_bad_bodies_are_refused_and_change_nothing(
    client: TestClient,
    engine: Engine,
    content: str,
    headers: dict[str, str],
    status: int,
    error: str | None,
) -> None:
    response = client.post(REGISTER, content=content, headers=headers)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "error_description"}
    if error:
        assert body["error"] == error
    _nothing_written(engine)


def test_every_registration_gets_its_own_objects(client: TestClient, engine: Engine) -> None:
    first = client.post(REGISTER, json=EXAMPLE).json()
    second = client.post(REGISTER, json=EXAMPLE).json()
    assert first["client_id"] != second["client_id"]
    assert first["client_secret"] != second["client_secret"]
    assert _count(engine, Registration) == 2 and _count(engine, Client) == 8


@pytest.mark.req("WG1-02-11.2-a", "WG1-02-11.2-b", "WG1-02-11.3-a")
def test_registration_is_public_but_rate_limited_per_address(
    settings: Settings, engine: Engine
) -> None:
    client = TestClient(
        create_app(settings.model_copy(update={"rate_limit_per_address": 2}), engine)
    )
    assert [client.post(REGISTER, json=EXAMPLE).status_code for _ in range(2)] == [201, 201]
    refused = client.post(REGISTER, json=EXAMPLE)
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_requests"
    assert int(refused.headers["retry-after"]) >= 1
    assert _count(engine, Registration) == 2
