"""CDS-WG3-01 §4 Scenarios: which scopes each use case needs, and which the server offers.

A Scenario never appears in an API response (§4); it is how a regulator (or the operator) says
which scopes a server must offer. The operator names the enabled Scenarios in
`GRIDSHARE_SCENARIOS` (comma-separated ids of `SCENARIOS`, or `all`, the default); the scope
catalogue then offers (in the metadata, at registration, at the token and authorization
endpoints alike) only:

- the scopes whose Scope Description `type` an enabled Scenario needs;
- the scopes whose type no Scenario names: the CDS-WG1-02 Client Admin, Grant Admin and
  Server-Provided Files scopes, and scopes a Server may offer beyond its Scenarios (§4: "Servers
  MAY implement any Scope"), such as the Account List scope (§6.1.4), which no Scenario lists.

The filter applies to the bundled catalogue and to an operator's own `GRIDSHARE_SCOPES_FILE`
alike, by scope type, so a file with two scopes of one type keeps or drops both. With `all` it
changes nothing. An unknown id stops the server at start-up with a message listing the valid ids
(`ScenarioError`, raised by `scopes.load_catalogue`).

The field requirements each Scenario adds to its scopes (e.g. §4.1's preselection and `include_*`
fields) are met by the bundled catalogue and checked by its tests, not at load time: an operator's
file may offer a scope with fewer fields, as §4 lets a jurisdiction choose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


class ScenarioError(ValueError):
    """`GRIDSHARE_SCENARIOS` names a Scenario this server does not know."""


@dataclass(frozen=True)
class Scenario:
    """One §4.x Scenario: its section, its name and the scope types it requires."""

    section: str
    name: str
    scope_types: tuple[str, ...]


ALL: Final = "all"

_USAGE_SELF: Final = (
    "cds_query_accounts",
    "cds_query_service_contracts",
    "cds_query_service_points",
    "cds_query_meter_devices",
    "cds_query_usage",
)
_BILLING_SELF: Final = (
    "cds_query_accounts",
    "cds_query_service_contracts",
    "cds_query_bill_statements",
    "cds_query_bill_sections",
)

SCENARIOS: Final[dict[str, Scenario]] = {
    "usage_self_access": Scenario("§4.1", "Usage Self-Access", _USAGE_SELF),
    "billing_self_access": Scenario("§4.2", "Billing Self-Access", _BILLING_SELF),
    "usage_billing_self_access": Scenario(
        "§4.3",
        "Usage and Billing Self-Access",
        tuple(dict.fromkeys((*_USAGE_SELF, *_BILLING_SELF))),
    ),
    "meter_data": Scenario(
        "§4.4", "Meter Data", ("cds_service_contracts", "cds_meters", "cds_usage")
    ),
    "customer_tariffs": Scenario("§4.5", "Customer Tariffs", ("cds_rate_plan",)),
    "customer_programs": Scenario(
        "§4.6", "Customer Programs", ("cds_account_programs", "cds_service_programs")
    ),
    "bill_amount_due": Scenario("§4.7", "Bill Amount Due", ("cds_bill_statements",)),
    "customer_bills": Scenario("§4.8", "Customer Bills", ("cds_bill_statements",)),
    "service_charges": Scenario("§4.9", "Service Charges", ("cds_service_bills",)),
    "meter_app_transparency": Scenario("§4.10", "Meter App Transparency", ("cds_meters",)),
    "whole_building_data": Scenario(
        "§4.11",
        "Whole-Building Data",
        ("cds_query_aggregations", "cds_query_usage", "cds_aggregation_consent"),
    ),
    "aggregated_data": Scenario(
        "§4.12", "Aggregated Data", ("cds_query_aggregations", "cds_query_usage")
    ),
}
"""The twelve Scenarios of CDS-WG3-01 §4, by the id `GRIDSHARE_SCENARIOS` names them with."""

NAMED_TYPES: Final = frozenset(t for s in SCENARIOS.values() for t in s.scope_types)
"""Scope types some Scenario requires; other types are offered whatever is enabled."""


def enabled(setting: str) -> tuple[str, ...]:
    """The Scenario ids `setting` enables: `all`, or comma-separated ids (blank: none)."""
    if setting.strip() == ALL:
        return tuple(SCENARIOS)
    ids = tuple(dict.fromkeys(part.strip() for part in setting.split(",") if part.strip()))
    unknown = [i for i in ids if i not in SCENARIOS]
    if unknown:
        raise ScenarioError(
            f"GRIDSHARE_SCENARIOS names unknown scenario {', '.join(unknown)}; valid ids: "
            f"{ALL}, {', '.join(SCENARIOS)} (CDS-WG3-01 §4)"
        )
    return ids


def offers(scope_type: str, scenario_ids: tuple[str, ...]) -> bool:
    """Whether a scope of `scope_type` is offered while `scenario_ids` are enabled."""
    return scope_type not in NAMED_TYPES or any(
        scope_type in SCENARIOS[i].scope_types for i in scenario_ids
    )
