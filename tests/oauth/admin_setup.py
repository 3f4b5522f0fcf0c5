"""Registrations made over HTTP for the Clients, Credentials and Messages API tests.

A registration goes through the RFC 7591 endpoint and its `cds_client_admin` token through the
token endpoint, as a client would get them (CDS-WG1-02 §12.3-§12.4). The scope catalogue is the
bundled one plus a few test scopes that let Client Objects gain and lose scopes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.store.jsontext import orjson_default
from tests.grants.catalogue_samples import bundled

ACCOUNTS = "cds_accounts_1"
"""Bundled: Customer authorization (code), needs cds_company_name, sandbox first."""
USAGE = "test_usage_1"
"""Like ACCOUNTS (same response and grant types): can join an ACCOUNTS object."""
REVIEWED = "test_reviewed_1"
"""Like ACCOUNTS, but its registration asks for an internal review."""
INVITED = "test_invited_1"
"""Like ACCOUNTS, but it needs a registration field (cds_invite) no test registration gives."""
DIRECT = "test_direct_1"
"""client_credentials only: its Client Object starts in production."""
DIRECT_TOO = "test_direct_2"
"""Like DIRECT: can join a DIRECT object."""
GRANT_ADMIN = "cds_grant_admin_1"
FILES = "cds_server_provided_files_1"
ALL = f"cds_client_admin {GRANT_ADMIN} {FILES} {ACCOUNTS} {DIRECT}"

HttpFactory = Callable[..., TestClient]


def catalogue_file(directory: Path) -> Path:
    """The bundled catalogue plus the test scopes, written to `directory`."""
    data = bundled()
    scopes = data["cds_scope_descriptions"]
    fields = data["cds_registration_fields"]
    fields["internal_check"] = {
        "id": "internal_check",
        "type": "internal_review",
        "description": "We review every registration for this scope.",
        "documentation": "/developers/oauth#registration-internal_check",
    }
    fields["invite"] = {
        "id": "invite",
        "type": "registration_field",
        "field_name": "cds_invite",
        "description": "An invitation code.",
        "documentation": "/developers/oauth#registration-invite",
        "format": "string",
    }
    for scope_id, requirements in (
        (USAGE, ["company_name"]),
        (REVIEWED, ["company_name", "internal_check"]),
        (INVITED, ["company_name", "invite"]),
    ):
        scopes[scope_id] = _renamed(scopes[ACCOUNTS], scope_id, requirements)
    for scope_id in (DIRECT, DIRECT_TOO):
        scopes[scope_id] = {
            "id": scope_id,
            "type": scope_id.removesuffix("_1").removesuffix("_2"),
            "name": f"Direct {scope_id}",
            "description": "Direct access with client credentials.",
            "documentation": f"/developers/oauth#scope-{scope_id}",
            "registration_requirements": [],
            "registration_optional": [],
            "response_types_supported": [],
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": [],
            "coverages_supported": [],
            "grant_admin_scope": None,
            "authorization_details_types_supported": [scope_id],
            "authorization_details_fields_supported": [],
        }
    path = directory / "test-scopes.json"
    path.write_bytes(orjson.dumps(data, default=orjson_default))
    return path


def _renamed(scope: dict[str, Any], scope_id: str, requirements: list[str]) -> dict[str, Any]:
    renamed = copy.deepcopy(scope)
    renamed |= {
        "id": scope_id,
        "type": scope_id.removesuffix("_1"),
        "documentation": f"/developers/oauth#scope-{scope_id}",
        "registration_requirements": requirements,
        "authorization_details_types_supported": [scope_id],
    }
    for field in renamed["authorization_details_fields_supported"]:
        field["for_types"] = [scope_id]
        field["documentation"] = f"/developers/oauth#field-{scope_id}-{field['id']}"
    return renamed


def http_factory(tmp_path: Path, database_url: str, engine: Engine) -> HttpFactory:
    """Makes test clients of an app on the test database, with settings changed as asked."""
    scopes_file = catalogue_file(tmp_path)

    def make(**changes: Any) -> TestClient:
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=database_url,
            base_url="http://testserver",
            scopes_file=scopes_file,
            **changes,
        )
        return TestClient(create_app(settings, engine))

    return make


@dataclass(frozen=True)
class Admin:
    """A registration's cds_client_admin Client Object, its secret and a Bearer token."""

    client_id: str
    secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def register(http: TestClient, scope: str = ALL, **fields: Any) -> Admin:
    """Register over HTTP (§12.3) and get a cds_client_admin token (§12.4)."""
    body = {"scope": scope, "client_name": "My App", "cds_company_name": "My Company"} | fields
    registered = http.post(urls.REGISTER, json=body)
    assert registered.status_code == 201, registered.text
    client_id, secret = registered.json()["client_id"], registered.json()["client_secret"]
    return Admin(client_id, secret, token(http, client_id, secret))


def token(http: TestClient, client_id: str, secret: str, scope: str = "cds_client_admin") -> str:
    answer = http.post(
        urls.TOKEN,
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
    )
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["access_token"]
    return value


def clients_by_scope(http: TestClient, admin: Admin) -> dict[str, dict[str, Any]]:
    """The registration's Client Objects (from the Clients API), by scope string."""
    found: dict[str, dict[str, Any]] = {}
    url: str | None = urls.CLIENTS
    while url:
        listing = http.get(url, headers=admin.headers)
        assert listing.status_code == 200, listing.text
        found |= {client["scope"]: client for client in listing.json()["clients"]}
        url = listing.json()["next"]
    return found


def credential_for(http: TestClient, admin: Admin, client_id: str) -> dict[str, Any]:
    """The (first) Credential of a Client Object, from the Credentials API."""
    listing = http.get(urls.CREDENTIALS, params={"client_ids": client_id}, headers=admin.headers)
    assert listing.status_code == 200, listing.text
    credential: dict[str, Any] = listing.json()["credentials"][0]
    return credential
