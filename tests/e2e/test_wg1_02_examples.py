"""CDS-WG1-02 §12 Examples 12.1-12.22, replayed in order against a live server over HTTP.

A real uvicorn server runs the app on a free local port; the client side is plain httpx, holding
nothing but what earlier responses gave it (URLs from the metadata, ids and secrets from the
listings), as a third-party client would. The operator's part (sharing a file, sending the welcome
Message) is done with the `gridshare` CLI. Each step checks the example's status code and its
response's key set (EXAMPLES.md part B).

Adaptations to our ids and decisions (each one is repeated where it applies):
- Scope ids: `cds_server_provided_files_1` for `cds_server_provided_files_01`, and `cds_accounts_1`
  (a Customer-authorization scope with a registration field, as `example_custom` is) for
  `example_custom`. The registration field is `company_name` (`cds_company_name`) as in the example.
- Order: 12.18 closes the Grant that 12.19-12.22 use (EXAMPLES.md D.4), so it runs after 12.22;
  then the files token no longer works.
- 12.2: we also send `cds_timezone` (§3.2 REQUIRED; missing from the example) and the RFC 8414
  `revocation_endpoint_auth_methods_supported` / `introspection_endpoint_auth_methods_supported`.
- 12.3: 201 Created (RFC 7591 §3.2.1), not 200. Client Objects carry `contacts` (§5.1 REQUIRED;
  the examples omit it) and every one carries `client_name` (§5.1: defaults to the client_id).
- 12.4/12.19: token responses carry `cds_grant_ids` (docs/spec-decisions.md); `token_type` is
  "Bearer" (case-insensitive, RFC 6749 §5.1; the example writes "bearer").
- 12.5: the grant-admin and files Client Objects list "disabled" in `cds_status_options` (§5.1
  requires it; the example omits it).
- 12.8/12.10: the example's "Welcome!" notification is sent by the operator with
  `gridshare messages send`; the example's pending `production_request` Message is not created by
  registration here, so `outstanding` holds none.
- 12.15: the new `client_secret_expires_at` is a time in the future (the example's 1760125049 is
  now in the past, which §7.6 would treat as a compromised secret).
- 12.18: the closed Grant shows `enabled_scope` "" and `enabled_authorization_details` [] (§8.1;
  the example keeps them populated, a known defect).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine
from typer.testing import CliRunner

from gridshare.app import create_app
from gridshare.cli import app as cli
from gridshare.config import Settings
from tests.e2e.servers import free_port
from tests.object_keys import (
    CREDENTIAL_KEYS,
    FILE_KEYS,
    GRANT_KEYS,
    MESSAGE_KEYS,
    SERVER_METADATA_KEYS,
)

CLIENT_KEYS = {
    "client_id",
    "client_id_issued_at",
    "scope",
    "redirect_uris",
    "response_types",
    "grant_types",
    "token_endpoint_auth_method",
    "client_name",
    "authorization_details_types",
    "cds_created",
    "cds_modified",
    "cds_client_uri",
    "cds_status",
    "cds_status_options",
    "cds_server_metadata",
}
AUTHORIZING_CLIENT_KEYS = CLIENT_KEYS | {
    "cds_purposes",  # CDS-WG3-01 §8.1
    "cds_default_scope",
    "cds_default_redirect_uri",
    "cds_default_authorization_details",
    "cds_company_name",
}
REGISTRATION_SCOPE = "cds_client_admin cds_grant_admin_1 cds_server_provided_files_1 cds_accounts_1"
FILES_SCOPE = "cds_server_provided_files_1"
PDF = b"%PDF-1.4\n% Proprietary demand response API documentation\n" + bytes(range(256)) * 40


@pytest.fixture
def live(settings: Settings, engine: Engine) -> Iterator[Settings]:
    """The app served by uvicorn on a free port; yields the settings naming its base URL."""
    port = free_port()
    served = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(served, engine),
            host="127.0.0.1",
            port=port,
            log_config=None,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _gridshare(settings: Settings, *args: str) -> str:
    """The operator's `gridshare ARGS` on the live server's database; returns its stdout."""
    assert settings.database_url is not None
    env = {
        "GRIDSHARE_DATABASE_URL": settings.database_url,
        "GRIDSHARE_DATA_DIR": str(settings.data_dir),
        "GRIDSHARE_BASE_URL": settings.base_url,
    }
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def _check(step: str, response: httpx.Response, status: int, keys: set[str]) -> Any:
    """The example's status code and top-level key set; returns the JSON body."""
    assert response.status_code == status, f"{step}: {response.status_code} {response.text}"
    body = response.json()
    assert set(body) == keys, (
        f"{step}: missing {sorted(keys - set(body))}, unexpected {sorted(set(body) - keys)}"
    )
    return body


def _item_keys(items: list[dict[str, Any]]) -> set[str]:
    return set().union(*(set(item) for item in items))


def _basic(client_id: str, secret: str) -> dict[str, str]:
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


@pytest.mark.slow
@pytest.mark.req(
    "WG1-02-3.3.2-e",
    "WG1-02-3.3.2-g",
    "WG1-02-3.3.3-a",
    "WG1-02-3.3.3-f",
    "WG1-02-8.4-a",
    "WG1-02-8.5-a",
    "WG1-02-8.6-b",
    "WG1-02-8.6-e",
    "WG1-02-8.2-d",
    "WG1-02-9.2-a",
    "WG1-02-9.3-a",
    "WG1-02-9.4-a",
)
def test_the_section_12_examples_in_order(live: Settings) -> None:
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        _replay(http, live)


def _replay(http: httpx.Client, live: Settings) -> None:
    # 12.1 Retrieving CDS Server Metadata
    metadata = _check(
        "12.1",
        http.get("/.well-known/cds-server-metadata.json"),
        200,
        SERVER_METADATA_KEYS | {"coverage", "oauth_metadata"},
    )
    assert {"coverage", "oauth"} <= set(metadata["capabilities"])

    # 12.2 Retrieving Authorization Server Metadata (at the URL 12.1 gave)
    server = _check(
        "12.2",
        http.get(metadata["oauth_metadata"]),
        200,
        {
            "issuer",
            "service_documentation",
            "op_policy_uri",
            "op_tos_uri",
            "registration_endpoint",
            "authorization_endpoint",
            "token_endpoint",
            "revocation_endpoint",
            "introspection_endpoint",
            "pushed_authorization_request_endpoint",
            "code_challenge_methods_supported",
            "response_types_supported",
            "grant_types_supported",
            "token_endpoint_auth_methods_supported",
            "scopes_supported",
            "authorization_details_types_supported",
            "cds_oauth_version",
            "cds_human_registration",
            "cds_test_accounts",
            "cds_clients_api",
            "cds_messages_api",
            "cds_credentials_api",
            "cds_grants_api",
            "cds_server_provided_files_api",
            "cds_scope_descriptions",
            "cds_registration_fields",
            # adaptations: §3.2 REQUIRED, and RFC 8414 auth methods of the two endpoints
            "cds_timezone",
            "revocation_endpoint_auth_methods_supported",
            "introspection_endpoint_auth_methods_supported",
            # CDS-WG3-01 §5 extends this object with the Customer Data API fields
            "cds_customerdata_version",
            "cds_accounts_api",
            "cds_servicecontracts_api",
            "cds_servicepoints_api",
            "cds_meterdevices_api",
            "cds_billstatement_api",
            "cds_billsection_api",
            "cds_aggregations_api",
            "cds_usagesegments_api",
            "cds_usagesegments_additional_value_types",
            "cds_eacs_api",
            "cds_eac_formats",
        },
    )
    assert set(REGISTRATION_SCOPE.split()) <= set(server["cds_scope_descriptions"])
    assert "company_name" in server["cds_registration_fields"]

    # 12.3 Submitting a Client Registration Request (201, RFC 7591)
    admin = _check(
        "12.3",
        http.post(
            server["registration_endpoint"],
            json={
                "scope": REGISTRATION_SCOPE,
                "client_name": "My App Name",
                "cds_company_name": "My Company Name",
            },
        ),
        201,
        CLIENT_KEYS | {"client_secret", "contacts"},
    )
    assert admin["scope"] == "cds_client_admin"
    assert (admin["redirect_uris"], admin["response_types"]) == ([], [])
    assert admin["grant_types"] == ["client_credentials"]
    assert admin["token_endpoint_auth_method"] == "client_secret_basic"

    # 12.4 Obtaining a Client Admin Access Token
    token = _check(
        "12.4",
        http.post(
            server["token_endpoint"],
            data={"grant_type": "client_credentials", "scope": "cds_client_admin"},
            headers=_basic(admin["client_id"], admin["client_secret"]),
        ),
        200,
        {"access_token", "token_type", "expires_in", "scope", "cds_grant_ids"},
    )
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == "cds_client_admin"
    bearer = {"Authorization": f"Bearer {token['access_token']}"}

    # 12.5 Retrieving a Client List: admin, grant admin, files and the sandbox consent object
    listing = _check(
        "12.5",
        http.get(server["cds_clients_api"], headers=bearer),
        200,
        {"clients", "next", "previous"},
    )
    by_scope = {client["scope"]: client for client in listing["clients"]}
    assert set(by_scope) == set(REGISTRATION_SCOPE.split()), "12.5: one object per scope"
    assert _item_keys(listing["clients"]) == AUTHORIZING_CLIENT_KEYS | {"contacts"}
    for scope, client in by_scope.items():
        wanted = AUTHORIZING_CLIENT_KEYS if scope == "cds_accounts_1" else CLIENT_KEYS
        assert set(client) == wanted | {"contacts"}, f"12.5: keys of the {scope} object"
    grant_admin, files, consent = (
        by_scope["cds_grant_admin_1"],
        by_scope[FILES_SCOPE],
        by_scope["cds_accounts_1"],
    )
    assert files["token_endpoint_auth_method"] is None and files["grant_types"] == []
    assert consent["cds_status"] == "sandbox"
    assert consent["cds_status_options"] == ["sandbox", "disabled"]
    assert consent["cds_company_name"] == "My Company Name"
    assert grant_admin["cds_status_options"] == ["production", "disabled"]  # adaptation

    # The operator welcomes the registration and shares a file with its files Client Object.
    _gridshare(
        live,
        "messages",
        "send",
        "--client",
        admin["client_id"],
        "--name",
        "Welcome!",
        "--description",
        "If you have any questions about our CDS Server implementation, please see our "
        "documentation or create a support request message. Thanks!",
        "--related-uri",
        live.documentation,
        "--related-type",
        "documentation",
    )
    pdf = live.data_dir / "DR_API_docs_v1.0.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(PDF)
    shared = _gridshare(
        live,
        "files",
        "add",
        str(pdf),
        "--client",
        files["client_id"],
        "--description",
        "Proprietary demand response API documentation",
    )
    file_id = dict(line.split() for line in shared.splitlines())["file_id"]

    # 12.6 Retrieving an Individual Client (at its cds_client_uri)
    single = _check(
        "12.6",
        http.get(admin["cds_client_uri"], headers=bearer),
        200,
        CLIENT_KEYS | {"contacts"},
    )
    assert single["client_id"] == admin["client_id"]

    # 12.7 Modifying a Client: add a redirect URI to the sandbox consent object
    new_redirect = "https://client.example.com/my-new-redirect"
    modified = _check(
        "12.7",
        http.put(
            consent["cds_client_uri"],
            json={
                "scope": "cds_accounts_1",
                "redirect_uris": [consent["cds_default_redirect_uri"], new_redirect],
                "authorization_details_types": ["cds_accounts_1"],
                "cds_status": "sandbox",
                "cds_default_scope": "cds_accounts_1",
                "cds_default_redirect_uri": new_redirect,
                "cds_default_authorization_details": [],
                "cds_company_name": "My Company Name",
            },
            headers=bearer,
        ),
        200,
        AUTHORIZING_CLIENT_KEYS | {"contacts"},
    )
    assert modified["redirect_uris"] == [consent["cds_default_redirect_uri"], new_redirect]
    assert modified["cds_default_redirect_uri"] == new_redirect
    assert modified["cds_modified"] >= consent["cds_modified"]

    # 12.8 Retrieving a Message List: the welcome notification is unread
    inbox_keys = {
        f"{box}{suffix}"
        for box in ("outstanding", "read", "unread")
        for suffix in ("", "_next", "_previous")
    }
    inbox = _check("12.8", http.get(server["cds_messages_api"], headers=bearer), 200, inbox_keys)
    welcome = next(m for m in inbox["unread"] if m["name"] == "Welcome!")
    assert set(welcome) == MESSAGE_KEYS | {"related_uri", "related_type"}
    assert (welcome["read"], welcome["creator"], welcome["type"]) == (False, None, "notification")

    # 12.9 Creating a Message
    created = _check(
        "12.9",
        http.post(
            server["cds_messages_api"],
            json={"type": "private_message", "name": "My Subject", "description": "Hello World!"},
            headers=bearer,
        ),
        201,
        MESSAGE_KEYS,
    )
    assert (created["read"], created["creator"], created["status"]) == (
        True,
        admin["client_id"],
        "complete",
    )
    assert created["previous_uri"] is None

    # 12.10 Retrieving an Individual Message (at the uri 12.8 gave)
    again = _check(
        "12.10",
        http.get(welcome["uri"], headers=bearer),
        200,
        MESSAGE_KEYS | {"related_uri", "related_type"},
    )
    assert again["read"] is False

    # 12.11 Modifying a Message: mark it read
    read = _check(
        "12.11",
        http.patch(welcome["uri"], json={"read": True}, headers=bearer),
        200,
        MESSAGE_KEYS | {"related_uri", "related_type"},
    )
    assert read["read"] is True
    inbox = _check("12.11", http.get(server["cds_messages_api"], headers=bearer), 200, inbox_keys)
    assert welcome["message_id"] in {m["message_id"] for m in inbox["read"]}
    assert welcome["message_id"] not in {m["message_id"] for m in inbox["unread"]}

    # 12.12 Retrieving a Credentials List: one per object that authenticates
    credentials = _check(
        "12.12",
        http.get(server["cds_credentials_api"], headers=bearer),
        200,
        {"credentials", "next", "previous"},
    )
    assert _item_keys(credentials["credentials"]) == CREDENTIAL_KEYS
    secret_of = {c["client_id"]: c for c in credentials["credentials"]}
    assert set(secret_of) == {admin["client_id"], grant_admin["client_id"], consent["client_id"]}
    assert secret_of[admin["client_id"]]["client_secret"] == admin["client_secret"]

    # 12.13 Creating a Credential for the consent object
    new_credential = _check(
        "12.13",
        http.post(
            server["cds_credentials_api"], json={"client_id": consent["client_id"]}, headers=bearer
        ),
        201,
        CREDENTIAL_KEYS,
    )
    assert new_credential["client_id"] == consent["client_id"]

    # 12.14 Retrieving an Individual Credential (the consent object's first one)
    first = secret_of[consent["client_id"]]
    _check("12.14", http.get(first["uri"], headers=bearer), 200, CREDENTIAL_KEYS)

    # 12.15 Modifying a Credential: make it expire (in the future: adaptation)
    expires_at = int((datetime.now(UTC) + timedelta(days=30)).timestamp())
    expiring = _check(
        "12.15",
        http.patch(first["uri"], json={"client_secret_expires_at": expires_at}, headers=bearer),
        200,
        CREDENTIAL_KEYS,
    )
    assert expiring["client_secret_expires_at"] == expires_at
    assert expiring["client_secret"] == first["client_secret"]

    # 12.16 Grants List: the admin token's Grant and the server-created files Grant
    grants = _check(
        "12.16",
        http.get(server["cds_grants_api"], headers=bearer),
        200,
        {"grants", "next", "previous"},
    )
    assert _item_keys(grants["grants"]) == GRANT_KEYS
    by_client = {grant["client_id"]: grant for grant in grants["grants"]}
    assert set(by_client) == {admin["client_id"], files["client_id"]}
    assert by_client[admin["client_id"]]["scope"] == "cds_client_admin"
    files_grant = by_client[files["client_id"]]
    entry = {"type": FILES_SCOPE, "file_id": file_id}
    assert (files_grant["scope"], files_grant["authorization_details"]) == (FILES_SCOPE, [entry])

    # 12.17 Retrieving an Individual Grant (at its uri)
    shown = _check("12.17", http.get(files_grant["uri"], headers=bearer), 200, GRANT_KEYS)
    assert shown == files_grant
    assert (shown["status"], shown["enabled_scope"]) == ("active", FILES_SCOPE)
    assert shown["enabled_authorization_details"] == [entry]

    # 12.19 Obtaining Server-Provided File Access via the Grant Admin Scope
    admin_entry = {
        "type": "cds_grant_admin_1",
        "client_id": files["client_id"],
        "grant_id": files_grant["grant_id"],
    }
    files_token = _check(
        "12.19",
        http.post(
            server["token_endpoint"],
            data={
                "grant_type": "client_credentials",
                "scope": "cds_grant_admin_1",
                "authorization_details": json.dumps([admin_entry], separators=(",", ":")),
            },
            headers=_basic(
                grant_admin["client_id"], secret_of[grant_admin["client_id"]]["client_secret"]
            ),
        ),
        200,
        {"access_token", "token_type", "expires_in", "scope", "authorization_details"}
        | {"cds_grant_ids"},
    )
    assert files_token["scope"] == "cds_grant_admin_1"
    assert files_token["authorization_details"] == [admin_entry]
    files_bearer = {"Authorization": f"Bearer {files_token['access_token']}"}

    # 12.20 Retrieving a Server-Provided Files List
    listed = _check(
        "12.20",
        http.get(server["cds_server_provided_files_api"], headers=files_bearer),
        200,
        {"files", "next", "previous"},
    )
    (shared_file,) = listed["files"]
    assert set(shared_file) == FILE_KEYS
    assert (shared_file["file_id"], shared_file["name"], shared_file["size"]) == (
        file_id,
        "DR_API_docs_v1.0.pdf",
        len(PDF),
    )
    assert shared_file["mime_type"] == "application/pdf"
    assert shared_file["description"] == "Proprietary demand response API documentation"

    # 12.21 Retrieving an Individual Server-Provided File (at its uri)
    described = _check("12.21", http.get(shared_file["uri"], headers=files_bearer), 200, FILE_KEYS)
    assert described == shared_file

    # 12.22 Downloading Data for a Server-Provided File (at its download_uri)
    download = http.get(shared_file["download_uri"], headers=files_bearer)
    assert download.status_code == 200, f"12.22: {download.status_code} {download.text}"
    assert download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Length"] == str(len(PDF))
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="DR_API_docs_v1.0.pdf"'
    )

    # 12.18 Modifying a Grant: the client closes the files Grant (moved after 12.22)
    closed = _check(
        "12.18",
        http.patch(files_grant["uri"], json={"status": "closed"}, headers=bearer),
        200,
        GRANT_KEYS,
    )
    assert closed["status"] == "closed"
    assert (closed["enabled_scope"], closed["enabled_authorization_details"]) == ("", [])
    assert (closed["scope"], closed["authorization_details"]) == (FILES_SCOPE, [entry])
    after = http.get(shared_file["download_uri"], headers=files_bearer)
    assert after.status_code == 401, "12.18: a closed Grant's token stops working at once"
