"""CDS-WG3-01 §6.2: the Direct Access scopes' rules, by Scope Description `type`.

A Client reaches Customer Data through these scopes with the Client Credentials grant (RFC 6749
§4.4), without a Customer's authorization: the catalogue loader checks every scope of these types
against its section (`response_types_supported` empty, `client_credentials` offered, the fields
each section requires). Which objects a type gives access to without asking (its "included `true`"
fields) is in `IMPLIED`, beside §6.1's in `consent_scopes.IMPLIED`; the server metadata derives
its `cds_*_api` URLs from both (§5).

Preselection fields a token request sends stay in the Grant and limit its access (§6.2), unlike
the form-only preselections of Customer authorizations (`authorization_details.for_grant`).
Because direct access exposes Customer Data without consent, the bundled catalogue lists an
`internal_review` registration requirement for these scopes: their Client Objects start in
`sandbox`, and the token endpoint issues direct-access tokens to `production` Client Objects only,
which exist once the utility's staff approved the registration (`gridshare clients approve`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from gridshare.grants.scopes import ScopeDescription

REQUIRED: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "cds_query_accounts": ("§6.2.1", ("sync_until",)),
    "cds_query_service_contracts": ("§6.2.2", ("sync_until",)),
    "cds_query_service_points": ("§6.2.3", ("sync_until",)),
    "cds_query_meter_devices": ("§6.2.4", ("sync_until",)),
    "cds_query_bill_statements": (
        "§6.2.5",
        ("sync_until", "statement_date_start", "statement_date_end"),
    ),
    "cds_query_bill_sections": (
        "§6.2.6",
        ("sync_until", "start_date", "end_date"),
    ),
    "cds_query_aggregations": ("§6.2.7", ("sync_until",)),
    "cds_query_usage": ("§6.2.8", ("sync_until", "segment_start", "segment_end")),
}
"""Per type: its section and the fields its Scope Description must offer."""

IMPLIED: Final[dict[str, tuple[str, ...]]] = {
    "cds_query_accounts": ("include_accounts",),
    "cds_query_service_contracts": ("include_accounts", "include_service_contracts"),
    "cds_query_service_points": ("include_service_points",),
    "cds_query_meter_devices": ("include_meter_devices",),
    "cds_query_bill_statements": ("include_bill_statements",),
    "cds_query_bill_sections": ("include_bill_sections",),
    "cds_query_aggregations": ("include_aggregations",),
    "cds_query_usage": ("include_usage_segments", "include_usage_segment_value_types"),
}
"""The fields each type treats as included `true`: the data it gives by default (§6.2.x)."""


def is_direct(scope: ScopeDescription) -> bool:
    """Whether `scope` is a §6.2 Direct Access scope."""
    return scope.type in REQUIRED


def problems(scope: ScopeDescription) -> list[str]:
    """How `scope` breaks its §6.2.x section (empty when it is not a direct type or is fine)."""
    rules = REQUIRED.get(scope.type)
    if rules is None:
        return []
    section, required = rules
    where = f"type {scope.type} ({section})"
    out = []
    if scope.response_types_supported:
        out.append(f"response_types_supported must be [] for {where}")
    if "client_credentials" not in scope.grant_types_supported:
        out.append(f"grant_types_supported must contain client_credentials for {where}")
    found = {f.id for f in scope.authorization_details_fields_supported}
    missing = [f for f in required if f not in found]
    if missing:
        out.append(f"missing field {', '.join(missing)} for {where}")
    return out
