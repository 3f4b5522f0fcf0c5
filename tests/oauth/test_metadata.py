"""RFC 8414 Authorization Server Metadata with the CDS-WG1-02 §3.1-§3.2 additions, over HTTP."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.demo.supply import EAC_FORMAT
from gridshare.grants.direct_scopes import REQUIRED as DIRECT
from tests.grants.catalogue_samples import SAMPLE, bundled, with_sample, write

AS_METADATA = "/.well-known/oauth-authorization-server"
REQUIRED = {
    "issuer",
    "registration_endpoint",
    "token_endpoint",
    "scopes_supported",
    "service_documentation",
    "op_policy_uri",
    "op_tos_uri",
    "revocation_endpoint",
    "introspection_endpoint",
    "code_challenge_methods_supported",
    "authorization_details_types_supported",
    "response_types_supported",
    "grant_types_supported",
    "token_endpoint_auth_methods_supported",
    "cds_oauth_version",
    "cds_human_registration",
    "cds_timezone",
    "cds_clients_api",
    "cds_messages_api",
    "cds_credentials_api",
    "cds_grants_api",
    "cds_scope_descriptions",
    "cds_registration_fields",
}
PER_SCOPE_UNIONS = [
    ("code_challenge_methods_supported", "code_challenge_methods_supported"),
    ("authorization_details_types_supported", "authorization_details_types_supported"),
    ("response_types_supported", "response_types_supported"),
    ("grant_types_supported", "grant_types_supported"),
    ("token_endpoint_auth_methods_supported", "token_endpoint_auth_methods_supported"),
]


@pytest.fixture
def client(settings: Settings, engine: Engine) -> TestClient:
    return TestClient(create_app(settings, engine))


def _get(client: TestClient, path: str = AS_METADATA) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("http", "testserver"), url
    return parts.path


@pytest.mark.req("WG1-02-3.1-a", "WG1-02-3.1-b", "WG1-02-3.1-c")
def test_the_cds_server_metadata_leads_to_the_oauth_metadata(client: TestClient) -> None:
    server = _get(client, "/.well-known/cds-server-metadata.json")
    assert "oauth" in server["capabilities"]
    assert server["oauth_metadata"] == f"http://testserver{AS_METADATA}"
    assert _get(client, _path(server["oauth_metadata"]))["issuer"] == "http://testserver"


@pytest.mark.req("WG1-02-3-a", "WG1-02-3.2-a", "WG1-02-3.2-g", "WG1-02-3.2-c", "WG1-02-4.2-k")
def test_every_required_field_is_present(client: TestClient, settings: Settings) -> None:
    metadata = _get(client)
    assert set(metadata) >= REQUIRED
    assert metadata["issuer"] == "http://testserver"
    assert metadata["cds_oauth_version"] == "v1"
    assert metadata["cds_timezone"] == settings.timezone == "America/Los_Angeles"
    assert metadata["registration_endpoint"] == "http://testserver/oauth/register"
    assert metadata["cds_clients_api"] == "http://testserver/cds-api/v1/clients"
    assert metadata["cds_messages_api"] == "http://testserver/cds-api/v1/messages"
    assert metadata["cds_credentials_api"] == "http://testserver/cds-api/v1/credentials"
    assert metadata["cds_grants_api"] == "http://testserver/cds-api/v1/grants"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    for key, value in metadata.items():
        if key.endswith(("_endpoint", "_api", "_uri", "documentation", "registration")) or (
            key == "cds_test_accounts"
        ):
            _path(value)


@pytest.mark.req("WG1-02-3.2-a")
def test_the_registration_endpoint_answers_where_the_metadata_says(client: TestClient) -> None:
    metadata = _get(client)
    response = client.post(_path(metadata["registration_endpoint"]), json={"scope": "nothing"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


@pytest.mark.req("WG1-02-3.2-a", "WG1-02-5.1-h")
def test_the_documentation_pages_exist_and_anchor_every_catalogue_link(
    client: TestClient,
) -> None:
    metadata = _get(client)
    for key in ("service_documentation", "op_policy_uri", "op_tos_uri"):
        page = client.get(_path(metadata[key]))
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    docs = client.get(_path(metadata["service_documentation"])).text
    links = []
    for scope in metadata["cds_scope_descriptions"].values():
        links.append(scope["documentation"])
        for field in scope["authorization_details_fields_supported"]:
            links.append(field["documentation"])
            links.extend(choice["documentation"] for choice in field.get("choices", []))
    links.extend(f["documentation"] for f in metadata["cds_registration_fields"].values())
    # Client Objects carry registration field values under their field_name: documented (§5.1).
    assert "cds_company_name" in docs and "field_name" in docs
    for link in links:
        parts = urlsplit(link)
        assert parts.path == _path(metadata["service_documentation"]), link
        assert f'id="{html.escape(parts.fragment)}"' in docs, link


@pytest.mark.req("WG1-02-3.2-d", "WG1-02-3.2-e", "WG1-02-3.2-j", "WG1-02-3.3-a")
def test_server_wide_lists_are_unions_of_the_scope_descriptions(client: TestClient) -> None:
    metadata = _get(client)
    scopes = metadata["cds_scope_descriptions"]
    assert set(metadata["scopes_supported"]) >= set(scopes)
    for scope_id in metadata["scopes_supported"]:
        assert scopes[scope_id]["id"] == scope_id
    for server_key, scope_key in PER_SCOPE_UNIONS:
        union = {value for scope in scopes.values() for value in scope[scope_key]}
        assert set(metadata[server_key]) >= union, server_key
        assert len(metadata[server_key]) == len(set(metadata[server_key])), server_key
    assert metadata["grant_types_supported"] == [
        "client_credentials",
        "authorization_code",
        "refresh_token",
    ]


@pytest.mark.req("WG1-02-3.2-f", "WG1-02-3.2-h", "WG1-02-3.2-i")
def test_user_authorization_brings_par_and_test_accounts(client: TestClient) -> None:
    metadata = _get(client)
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["authorization_endpoint"] == "http://testserver/oauth/authorize"
    assert metadata["pushed_authorization_request_endpoint"] == "http://testserver/oauth/par"
    assert metadata["cds_test_accounts"] == "http://testserver/developers/test-accounts"
    assert metadata["cds_server_provided_files_api"] == (
        "http://testserver/cds-api/v1/server-provided-files"
    )


@pytest.mark.req("WG1-02-3.2-f", "WG1-02-3.2-h", "WG1-02-3.2-i", "WG1-02-3.2-k")
def test_optional_fields_follow_the_catalogue(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    data = with_sample()
    scopes = data["cds_scope_descriptions"]
    for key in [
        k for k, s in scopes.items() if s["response_types_supported"] or s["type"] in DIRECT
    ]:
        del scopes[key]  # every Customer consent scope and Direct Access scope
    del scopes["cds_server_provided_files_1"]
    custom = settings.model_copy(update={"scopes_file": write(tmp_path / "s.json", data)})
    metadata = _get(TestClient(create_app(custom, engine)))
    assert metadata["response_types_supported"] == []
    for absent in (
        "authorization_endpoint",
        "pushed_authorization_request_endpoint",
        "cds_test_accounts",
        "cds_server_provided_files_api",
    ):
        assert absent not in metadata
    assert metadata["code_challenge_methods_supported"] == []
    assert metadata["scopes_supported"] == ["cds_client_admin", "cds_grant_admin_1", SAMPLE]
    # Registration fields are listed whether or not a scope asks for them (a superset of §3.2-k).
    assert list(metadata["cds_registration_fields"]) == ["company_name", "internal_review"]
    price = next(
        f
        for f in metadata["cds_scope_descriptions"][SAMPLE][
            "authorization_details_fields_supported"
        ]
        if f["id"] == "price"
    )
    assert (price["default"], price["maximum"]) == (1.5, 99.99)
    docs = TestClient(create_app(custom, engine)).get(
        urlsplit(metadata["service_documentation"]).path
    )
    assert docs.status_code == 200 and "<code>1.50</code>" in docs.text


@pytest.mark.req("WG1-02-3.2-k", "WG1-02-3.4-c")
def test_every_required_registration_field_is_described(client: TestClient) -> None:
    metadata = _get(client)
    described = metadata["cds_registration_fields"]
    for scope in metadata["cds_scope_descriptions"].values():
        for field_id in (*scope["registration_requirements"], *scope["registration_optional"]):
            assert described[field_id]["id"] == field_id
    assert bundled()["cds_registration_fields"].keys() == described.keys()


def test_the_metadata_is_public_and_cacheable(client: TestClient) -> None:
    response = client.get(AS_METADATA)
    assert response.headers["cache-control"] == "public, max-age=300"


@pytest.mark.req("WG1-02-11.2-a", "WG1-02-11.2-b", "WG1-02-11.3-a")
def test_the_metadata_is_public_but_rate_limited_per_address(
    settings: Settings, engine: Engine
) -> None:
    client = TestClient(
        create_app(settings.model_copy(update={"rate_limit_per_address": 3}), engine)
    )
    assert [client.get(AS_METADATA).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(AS_METADATA)
    assert refused.status_code == 429 and "retry-after" in refused.headers


CUSTOMER_DATA_APIS = {
    "cds_accounts_api": "/cds-api/v1/accounts",
    "cds_servicecontracts_api": "/cds-api/v1/servicecontracts",
    "cds_servicepoints_api": "/cds-api/v1/servicepoints",
    "cds_meterdevices_api": "/cds-api/v1/meterdevices",
    "cds_billstatement_api": "/cds-api/v1/billstatements",
    "cds_billsection_api": "/cds-api/v1/billsections",
    "cds_aggregations_api": "/cds-api/v1/aggregations",
    "cds_usagesegments_api": "/cds-api/v1/usagesegments",
    "cds_eacs_api": "/cds-api/v1/eacs",
}


@pytest.mark.req("WG3-5-a", "WG3-5-b", "WG3-5-c", "WG3-5-d")
def test_the_customer_data_version_and_apis_are_listed(client: TestClient) -> None:
    metadata = _get(client)
    assert metadata["cds_customerdata_version"] == "v1"
    for key, path in CUSTOMER_DATA_APIS.items():
        assert metadata[key] == f"http://testserver{path}", key
    assert metadata["cds_usagesegments_additional_value_types"] == {}
    formats = metadata["cds_eac_formats"]
    assert EAC_FORMAT in formats  # every eac_format the demo's certificates carry
    for key, described in formats.items():
        assert described["id"] == key
        assert described["name"] and described["description"]
        assert _path(described["documentation"]) == "/developers/oauth"


def _only(settings: Settings, tmp_path: Path, *keep: str) -> Settings:
    data = bundled()
    scopes = data["cds_scope_descriptions"]
    for key in [k for k in scopes if k not in {"cds_client_admin", "cds_grant_admin_1", *keep}]:
        del scopes[key]
    return settings.model_copy(update={"scopes_file": write(tmp_path / "s.json", data)})


@pytest.mark.req("WG3-5-a", "WG3-5-b", "WG3-5-c", "WG3-5-d")
def test_each_api_follows_the_include_fields_of_the_offered_scopes(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    # Bill Statements Query implies include_bill_statements and offers include_accounts.
    custom = _only(settings, tmp_path, "cds_query_bill_statements_1")
    metadata = _get(TestClient(create_app(custom, engine)))
    assert metadata["cds_customerdata_version"] == "v1"
    listed = {key for key in CUSTOMER_DATA_APIS if key in metadata}
    assert listed == {"cds_billstatement_api", "cds_accounts_api"}
    assert "cds_usagesegments_additional_value_types" not in metadata
    assert "cds_eac_formats" not in metadata


@pytest.mark.req("WG3-5-b", "WG3-5-c")
def test_a_scope_that_implies_usage_brings_the_usage_segments_api(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    # Meter Usage (§6.1.9) has no include_usage_segments field: its type includes the data.
    custom = _only(settings, tmp_path, "cds_usage_1")
    metadata = _get(TestClient(create_app(custom, engine)))
    assert metadata["cds_usagesegments_api"] == "http://testserver/cds-api/v1/usagesegments"
    assert metadata["cds_usagesegments_additional_value_types"] == {}
    assert "cds_eacs_api" not in metadata and "cds_eac_formats" not in metadata


@pytest.mark.req("WG3-5-a")
def test_without_customer_data_scopes_only_the_version_is_listed(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    metadata = _get(TestClient(create_app(_only(settings, tmp_path), engine)))
    assert metadata["cds_customerdata_version"] == "v1"
    assert not {key for key in CUSTOMER_DATA_APIS if key in metadata}
