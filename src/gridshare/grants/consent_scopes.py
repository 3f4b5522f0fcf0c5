"""CDS-WG3-01 §6.1: the Customer Consent scopes' rules, by Scope Description `type`.

The catalogue loader checks every scope of these types against its section (so an operator's file
cannot offer, say, a Rate Plan scope with usage segments or a second selection type), and
`authorization_details` applies the request rules: the fields that must not be null (§6.1.2,
§6.1.3, §6.1.10), the fixed values of §6.1.10, and the preselection fields a Grant keeps (§6.1.2,
§6.1.3). §6 lists the field ids under `authorization_details_types_supported`; they are field
objects of `authorization_details_fields_supported` (see docs/spec-decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from gridshare.grants.scopes import ScopeDescription

SELECTION: Final = "authorization_form_selection_type"
COMMON: Final = (SELECTION, "merge_selection_with", "error_if_no_preselections")
COMMON_DATA: Final = (*COMMON, "allow_scope_modifications", "jwk")
NO_DATA: Final = ("include_bill_statements", "include_bill_sections", "include_usage_segments")
SELECTIONS: Final = (
    "account_selection",
    "service_contract_selection",
    "servicepoint_selection",
    "meter_device_selection",
    "aggregation_selection",
)


@dataclass(frozen=True)
class ConsentRules:
    """One §6.1.x section: what its Scope Description must and must not offer."""

    section: str
    required: tuple[str, ...]
    forbidden: tuple[str, ...] = ()
    selections_required: tuple[str, ...] = ()
    selections_allowed: tuple[str, ...] = ()
    """Every choice id must be one of these; `selections_required` must all be present."""
    exactly_one: bool = False
    per_selection: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Fields required when a selection choice is offered (§6.1.9)."""
    defaults: dict[str, Any] = field(default_factory=dict)
    not_null: tuple[str, ...] = ()
    """Fields a request may not leave null (invalid_authorization_details)."""
    fixed: dict[str, Any] = field(default_factory=dict)
    """Fields a request may only send with this value."""
    kept_preselections: tuple[str, ...] = ()
    """Preselection fields the Grant keeps (§6.1.2, §6.1.3)."""


_ACCOUNT_SEL: Final = (
    "sync_until",
    "account_numbers",
    "include_accounts",
    "include_account_numbers",
    "include_service_contracts",
    "include_contract_numbers",
)
RULES: Final[dict[str, ConsentRules]] = {
    "cds_rate_plan": ConsentRules(
        "§6.1.1",
        (
            "contract_numbers",
            "service_types",
            "include_contract_numbers",
            "sync_until",
            *COMMON_DATA,
        ),
        NO_DATA,
        ("service_contract_selection",),
        ("service_contract_selection",),
        exactly_one=True,
    ),
    "cds_account_programs": ConsentRules(
        "§6.1.2",
        (
            "account_numbers",
            "account_programs",
            "include_account_numbers",
            "sync_until",
            *COMMON_DATA,
        ),
        NO_DATA,
        ("account_selection",),
        ("account_selection",),
        exactly_one=True,
        not_null=("account_programs",),
        kept_preselections=("account_programs",),
    ),
    "cds_service_programs": ConsentRules(
        "§6.1.3",
        (
            "contract_numbers",
            "service_programs",
            "service_types",
            "include_contract_numbers",
            "sync_until",
            *COMMON_DATA,
        ),
        NO_DATA,
        ("service_contract_selection",),
        ("service_contract_selection",),
        exactly_one=True,
        not_null=("service_programs",),
        kept_preselections=("service_programs",),
    ),
    "cds_accounts": ConsentRules(
        "§6.1.4",
        ("account_numbers", "include_account_numbers", "sync_until", *COMMON_DATA),
        NO_DATA,
        ("account_selection",),
        ("account_selection",),
        exactly_one=True,
    ),
    "cds_service_contracts": ConsentRules(
        "§6.1.5",
        (
            "contract_numbers",
            "service_types",
            "include_contract_numbers",
            "sync_until",
            *COMMON_DATA,
        ),
        NO_DATA,
        ("service_contract_selection",),
        ("service_contract_selection", "account_selection"),
    ),
    "cds_meters": ConsentRules(
        "§6.1.6",
        ("meter_numbers", "meter_types", "include_meter_numbers", "sync_until", *COMMON_DATA),
        NO_DATA,
        ("meter_device_selection",),
        (
            "meter_device_selection",
            "service_contract_selection",
            "account_selection",
            "servicepoint_selection",
        ),
    ),
    "cds_bill_statements": ConsentRules(
        "§6.1.7",
        ("account_numbers", "statement_date_start", "statement_date_end", *COMMON_DATA),
        ("include_usage_segments",),
        ("account_selection",),
        ("account_selection",),
        exactly_one=True,
    ),
    "cds_service_bills": ConsentRules(
        "§6.1.8",
        ("contract_numbers", "service_types", "start_date", "end_date", *COMMON_DATA),
        ("include_usage_segments",),
        ("service_contract_selection", "account_selection"),
        ("service_contract_selection", "account_selection"),
    ),
    "cds_usage": ConsentRules(
        "§6.1.9",
        (
            "include_meter_devices",
            "include_meter_numbers",
            "include_usage_segment_value_types",
            "segment_start",
            "segment_end",
            *COMMON_DATA,
        ),
        (),
        (),
        SELECTIONS,
        per_selection={
            "account_selection": _ACCOUNT_SEL,
            "service_contract_selection": (*_ACCOUNT_SEL, "contract_numbers"),
            "servicepoint_selection": (
                "sync_until",
                "servicepoint_numbers",
                "include_service_points",
            ),
            "meter_device_selection": ("sync_until", "meter_numbers"),
            "aggregation_selection": ("sync_until", "aggregation_numbers", "include_aggregations"),
        },
    ),
    "cds_aggregation_consent": ConsentRules(
        "§6.1.10",
        (
            "aggregation_numbers",
            "premise_numbers",
            "expires",
            SELECTION,
            "error_if_no_preselections",
            "allow_scope_modifications",
        ),
        (),
        ("aggregation_selection",),
        ("aggregation_selection",),
        exactly_one=True,
        defaults={"error_if_no_preselections": True, "allow_scope_modifications": False},
        not_null=("aggregation_numbers", "premise_numbers"),
        fixed={"error_if_no_preselections": True, "allow_scope_modifications": False},
    ),
}


IMPLIED: Final[dict[str, tuple[str, ...]]] = {
    "cds_rate_plan": ("include_service_contracts", "include_rate_plans"),
    "cds_account_programs": ("include_accounts", "include_account_programs"),
    "cds_service_programs": ("include_service_contracts", "include_service_programs"),
    "cds_accounts": ("include_accounts",),
    "cds_service_contracts": ("include_accounts", "include_service_contracts"),
    "cds_meters": ("include_meter_devices",),
    "cds_bill_statements": (
        "include_bill_statements",
        "include_accounts",
        "include_account_numbers",
    ),
    "cds_service_bills": (
        "include_bill_sections",
        "include_accounts",
        "include_account_numbers",
        "include_service_contracts",
        "include_contract_numbers",
    ),
    "cds_usage": ("include_usage_segments",),
}
"""The fields each type treats as included `true`: the data it gives by default (§6.1.x)."""


def problems(scope: ScopeDescription) -> list[str]:
    """How `scope` breaks its §6.1.x section (empty when it is not a consent type or is fine)."""
    rules = RULES.get(scope.type)
    if rules is None:
        return []
    found = {f.id: f for f in scope.authorization_details_fields_supported}
    where = f"type {scope.type} ({rules.section})"
    out = []
    if "code" not in scope.response_types_supported:
        out.append(f"response_types_supported must contain code for {where}")
    grants = set(scope.grant_types_supported)
    if not {"authorization_code", "refresh_token"} <= grants or "client_credentials" in grants:
        out.append(
            "grant_types_supported must contain authorization_code and refresh_token and not "
            f"client_credentials for {where}"
        )
    missing = [f for f in rules.required if f not in found]
    if missing:
        out.append(f"missing field {', '.join(missing)} for {where}")
    present = [f for f in rules.forbidden if f in found]
    if present:
        out.append(f"field {', '.join(present)} is not allowed for {where}")
    selection = found.get(SELECTION)
    offered = [c.id for c in selection.choices] if selection is not None else []
    if selection is not None:
        if not set(rules.selections_required) <= set(offered) or not set(offered) <= set(
            rules.selections_allowed
        ):
            out.append(
                f"{SELECTION} choices {offered} must include {list(rules.selections_required)} "
                f"and come from {list(rules.selections_allowed)} for {where}"
            )
        if rules.exactly_one and len(offered) != 1:
            out.append(f"{SELECTION} must offer exactly one choice for {where}")
        if not selection.has_default:
            out.append(f"{SELECTION} needs a default (CDS-WG3-01 §7.4.1)")
    for choice in offered:
        needed = [f for f in rules.per_selection.get(choice, ()) if f not in found]
        if needed:
            out.append(f"choice {choice} needs field {', '.join(needed)} for {where}")
    for field_id, value in rules.defaults.items():
        described = found.get(field_id)
        if described is not None and (not described.has_default or described.default != value):
            out.append(f"{field_id} must default to {value!r} for {where}")
    return out


def request_problem(
    details_type: str, scope: ScopeDescription, entry: dict[str, Any]
) -> str | None:
    """What a resolved authorization_details entry breaks (§6.1.2-§6.1.3, §6.1.10), if anything."""
    rules = RULES.get(scope.type)
    if rules is None:
        return None
    for field_id in rules.not_null:
        if field_id in entry and entry[field_id] is None:
            return f"{details_type}: {field_id} must not be null ({rules.section})"
    for field_id, value in rules.fixed.items():
        if field_id in entry and entry[field_id] != value:
            return f"{details_type}: {field_id} must be {str(value).lower()} ({rules.section})"
    return None


def in_default_scope(scope: ScopeDescription) -> bool:
    """Whether a request naming only this scope can succeed, so it may be in `cds_default_scope`.

    Not so when a field that must not be null defaults to null: Aggregation Inclusion (§6.1.10)
    is asked for one named Aggregation at a time (through `cds_grant_id` sub-Grants, §4.11).
    """
    rules = RULES.get(scope.type)
    if rules is None:
        return True
    for field_id in rules.not_null:
        described = scope.field(field_id)
        if described is not None and described.has_default and described.default is None:
            return False
    return True


def kept_preselections(scope_type: str) -> frozenset[str]:
    """Preselection fields a Customer-authorized Grant of this type keeps (§6.1.2, §6.1.3)."""
    rules = RULES.get(scope_type)
    return frozenset(rules.kept_preselections) if rules is not None else frozenset()
