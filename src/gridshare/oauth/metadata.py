"""RFC 8414 Authorization Server Metadata, with the CDS-WG1-02 §3.2 additions.

Served publicly at the RFC 8414 well-known path, which the CDS server metadata names as
`oauth_metadata` (§3.1). The per-scope arrays of the catalogue are unioned into the server-wide
ones (§3.2-d/e); the authorization and PAR endpoints and `cds_test_accounts` are listed when some
scope takes Customer authorizations, and `cds_server_provided_files_api` when a Server-Provided
Files scope exists. Public, cacheable for five minutes, rate limited per remote address (§11.3).

CDS-WG3-01 §5 adds `cds_customerdata_version` and the Customer Data API URLs: each `cds_*_api`
is listed when some offered scope has its `include_*` field or includes that data by its type
(`consent_scopes.IMPLIED`, `direct_scopes.IMPLIED`), with `cds_usagesegments_additional_value_types`
(none: `{}`) beside the usage segments API and `cds_eac_formats` beside the EAC API.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from fastapi import APIRouter, Depends, Response

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants import consent_scopes, direct_scopes
from gridshare.grants.scopes import (
    FILES_TYPE,
    SUPPORTED_AUTH_METHODS,
    Catalogue,
    ScopeDescription,
    load_catalogue,
)
from gridshare.http import SettingsDep
from gridshare.oauth.rate_limit import per_address
from gridshare.store.jsontext import to_bytes
from gridshare.utility.eac_formats import eac_formats_json

OAUTH_VERSION: Final = "v1"
CUSTOMERDATA_VERSION: Final = "v1"

CUSTOMER_DATA_APIS: Final = (
    ("include_accounts", "cds_accounts_api", urls.ACCOUNTS),
    ("include_service_contracts", "cds_servicecontracts_api", urls.SERVICE_CONTRACTS),
    ("include_service_points", "cds_servicepoints_api", urls.SERVICE_POINTS),
    ("include_meter_devices", "cds_meterdevices_api", urls.METER_DEVICES),
    ("include_bill_statements", "cds_billstatement_api", urls.BILL_STATEMENTS),
    ("include_bill_sections", "cds_billsection_api", urls.BILL_SECTIONS),
    ("include_aggregations", "cds_aggregations_api", urls.AGGREGATIONS),
    ("include_usage_segments", "cds_usagesegments_api", urls.USAGE_SEGMENTS),
    ("include_eacs", "cds_eacs_api", urls.EACS),
)
"""CDS-WG3-01 §5: the field that makes each Customer Data API URL required, its key and path."""

router = APIRouter(tags=["OAuth 2.0"])


@router.get(
    urls.AS_METADATA,
    dependencies=[Depends(per_address("metadata"))],
    summary="Authorization server metadata (RFC 8414, CDS-WG1-02 §3)",
    response_class=Response,
)
def authorization_server_metadata(settings: SettingsDep) -> Response:
    body = to_bytes(metadata(settings, load_catalogue(settings)))
    return Response(
        body, media_type="application/json", headers={"Cache-Control": "public, max-age=300"}
    )


def metadata(settings: Settings, catalogue: Catalogue) -> dict[str, Any]:
    """The §3.2 Authorization Server Metadata Object."""
    scopes = list(catalogue.scopes.values())
    response_types = _union(s.response_types_supported for s in scopes)
    user_authorization = bool(response_types)
    body: dict[str, Any] = {
        "issuer": settings.base_url,
        "service_documentation": settings.url(urls.DEVELOPER_DOCS),
        "op_policy_uri": settings.url(urls.POLICY),
        "op_tos_uri": settings.url(urls.TERMS),
        "registration_endpoint": settings.url(urls.REGISTER),
    }
    if user_authorization:
        body["authorization_endpoint"] = settings.url(urls.AUTHORIZE)
    body |= {
        "token_endpoint": settings.url(urls.TOKEN),
        "revocation_endpoint": settings.url(urls.REVOKE),
        "introspection_endpoint": settings.url(urls.INTROSPECT),
    }
    if user_authorization:
        body["pushed_authorization_request_endpoint"] = settings.url(urls.PAR)
    body |= {
        "code_challenge_methods_supported": _union(
            s.code_challenge_methods_supported for s in scopes
        ),
        "response_types_supported": response_types,
        "grant_types_supported": _union(s.grant_types_supported for s in scopes),
        "token_endpoint_auth_methods_supported": _union(
            s.token_endpoint_auth_methods_supported for s in scopes
        ),
        "revocation_endpoint_auth_methods_supported": list(SUPPORTED_AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(SUPPORTED_AUTH_METHODS),
        "scopes_supported": [s.id for s in scopes],
        "authorization_details_types_supported": _union(
            s.authorization_details_types_supported for s in scopes
        ),
        "cds_oauth_version": OAUTH_VERSION,
        "cds_human_registration": settings.url(urls.HUMAN_REGISTRATION),
        "cds_timezone": settings.timezone,
        "cds_clients_api": settings.url(urls.CLIENTS),
        "cds_messages_api": settings.url(urls.MESSAGES),
        "cds_credentials_api": settings.url(urls.CREDENTIALS),
        "cds_grants_api": settings.url(urls.GRANTS),
    }
    if any(s.type == FILES_TYPE for s in scopes):
        body["cds_server_provided_files_api"] = settings.url(urls.FILES)
    if user_authorization:
        body["cds_test_accounts"] = settings.url(urls.TEST_ACCOUNTS)
    body |= customer_data(settings, scopes)
    body["cds_scope_descriptions"] = catalogue.scopes_json(settings)
    body["cds_registration_fields"] = catalogue.registration_fields_json(settings)
    return body


def customer_data(settings: Settings, scopes: Iterable[ScopeDescription]) -> dict[str, Any]:
    """The CDS-WG3-01 §5 fields for these offered scopes."""
    included = {data for scope in scopes for data in _included(scope)}
    body: dict[str, Any] = {"cds_customerdata_version": CUSTOMERDATA_VERSION}
    for field_id, key, path in CUSTOMER_DATA_APIS:
        if field_id in included:
            body[key] = settings.url(path)
    if "cds_usagesegments_api" in body:
        body["cds_usagesegments_additional_value_types"] = {}
    if "cds_eacs_api" in body:
        body["cds_eac_formats"] = eac_formats_json(settings)
    return body


def _included(scope: ScopeDescription) -> set[str]:
    """The `include_*` fields `scope` offers or includes by its type (§6.1.x, §6.2.x)."""
    offered = {f.id for f in scope.authorization_details_fields_supported}
    implied = consent_scopes.IMPLIED.get(scope.type, ()) + direct_scopes.IMPLIED.get(scope.type, ())
    return {f for f in (*offered, *implied) if f.startswith("include_")}


def _union(lists: Iterable[Iterable[str]]) -> list[str]:
    """Every value of `lists`, once, in order of first appearance."""
    return list(dict.fromkeys(value for values in lists for value in values))
