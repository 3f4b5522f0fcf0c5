"""Client requests made over HTTP for the review tests (CDS-WG1-02 §6.9): a registration with its
`cds_client_admin` token posts production_request, grant_request and support_request Messages, or
a PUT that the Clients API holds for review (202, a field_changes Message)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from gridshare import urls
from gridshare.config import Settings
from tests.oauth.admin_setup import (
    ACCOUNTS,
    DIRECT,
    DIRECT_TOO,
    Admin,
    catalogue_file,
    clients_by_scope,
)

MODIFIABLE = {
    "redirect_uris",
    "client_name",
    "client_uri",
    "logo_uri",
    "scope",
    "contacts",
    "tos_uri",
    "policy_uri",
    "cds_status",
    "cds_default_scope",
    "cds_default_redirect_uri",
    "cds_default_authorization_details",
}
ASKED_DETAILS = {"type": ACCOUNTS, "include_account_programs": True, "sync_until": "P0D"}


def review_settings(tmp_path: Path, database_url: str) -> Settings:
    """The settings `admin_setup.http_factory` gives the app (same base URL and catalogue)."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        base_url="http://testserver",
        scopes_file=catalogue_file(tmp_path),
    )


def path(url: str) -> str:
    """The path and query of one of the test server's URLs, to GET with the TestClient."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def post(http: TestClient, admin: Admin, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(urls.MESSAGES, json=body, headers=admin.headers)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def production_request(http: TestClient, admin: Admin) -> dict[str, Any]:
    sandbox = clients_by_scope(http, admin)[ACCOUNTS]
    return post(
        http,
        admin,
        {
            "type": "production_request",
            "name": "Production please",
            "description": "Our app is ready.",
            "related_uri": sandbox["cds_client_uri"],
        },
    )


def grant_request(
    http: TestClient, admin: Admin, grants: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    target = clients_by_scope(http, admin)[ACCOUNTS]
    asked = grants or [{"scope": ACCOUNTS, "authorization_details": [ASKED_DETAILS]}]
    return post(
        http,
        admin,
        {
            "type": "grant_request",
            "name": "Access to our test accounts",
            "description": "For support ticket #99993333",
            "related_uri": target["cds_client_uri"],
            "grants_requested": asked,
        },
    )


def support_request(http: TestClient, admin: Admin) -> dict[str, Any]:
    return post(
        http,
        admin,
        {"type": "support_request", "name": "Help", "description": "Our tokens expire early."},
    )


def field_changes(http: TestClient, admin: Admin) -> dict[str, Any]:
    """PUT a new scope on the production DIRECT object: held (202) in a field_changes Message."""
    direct = clients_by_scope(http, admin)[DIRECT]
    body = {k: v for k, v in direct.items() if k in MODIFIABLE} | {
        "scope": f"{DIRECT} {DIRECT_TOO}"
    }
    answer = http.put(direct["cds_client_uri"], json=body, headers=admin.headers)
    assert answer.status_code == 202, answer.text
    outstanding = messages(http, admin)["outstanding"]
    held = [m for m in outstanding if m["type"] == "field_changes"]
    assert len(held) == 1
    return held[0]


def messages(http: TestClient, admin: Admin) -> dict[str, Any]:
    listing = http.get(urls.MESSAGES, headers=admin.headers)
    assert listing.status_code == 200, listing.text
    body: dict[str, Any] = listing.json()
    return body


def message(http: TestClient, admin: Admin, uri: str) -> dict[str, Any]:
    answer = http.get(path(uri), headers=admin.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def unread_reply(http: TestClient, admin: Admin, request: dict[str, Any]) -> dict[str, Any]:
    """The one unread request_update whose previous_uri is `request`."""
    replies = [
        m
        for m in messages(http, admin)["unread"]
        if m["type"] == "request_update" and m["previous_uri"] == request["uri"]
    ]
    assert len(replies) == 1, replies
    return replies[0]
