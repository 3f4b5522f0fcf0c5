"""Object formats of the nine Customer Data APIs (CDS-WG3-01 §10.1-§10.9) over HTTP.

A production Client Object's direct-access tokens (§6.2, `client_credentials`) without
preselections reach every object of their kind; with every boolean `include_*` field the scope
offers set true, every value type, and durations reaching back before the demo's months, the
listings show every object with every field the scopes can give. Each object and nested object is
checked against the formats §10 defines:

- enumerations hold only the spec's values (the lists below, transcribed from
  `cds-wg3-01-dev.md`, each with its §), and every enumeration checked was met at least once, so a
  check that never ran fails;
- dates are `YYYY-MM-DD`, datetimes RFC 3339 in UTC with `Z`;
- decimals are JSON numbers: bodies are parsed with `parse_float=Decimal`, and a decimal field
  holding a string (or a string that reads as a number where the spec allows a string) fails;
- REQUIRED fields are present with their type (`null` only where the spec allows it); `types`
  arrays are non-empty where the spec says so; Account Contacts hold E.164 numbers and emails;
- server-specific extra fields in Account Programs and Aggregations carry our `gridshare_` prefix
  (§10.1.8, §10.7.1 RECOMMENDED).

Account Programs are met inside Bill Statements (`include_bill_statement_programs`): no
direct-access scope gives Accounts' or Service Contracts' programs, so Service Programs are not
checked here, nor the value types the demo never serves (electric demand, fuel oil, meter
readings); reading quality is checked wherever it appears, but the demo writes none.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import urlsplit

import pytest

from gridshare import urls
from gridshare.grants.scopes import load_catalogue
from tests.cds.data_setup import DataWorld, data_world
from tests.demo.conftest import SmallDemo

# --- Enumerations (CDS-WG3-01, cds-wg3-01-dev.md) ---------------------------------------------

ACCOUNT_TYPES: Final = frozenset(  # §10.1.2
    {
        "customer",
        "thirdparty",
        "internal",
        "parent",
        "child",
        "test",
        "residential",
        "commercial",
        "industrial",
        "agriculture",
        "municipal",
        "billed_monthly",
        "billed_quarterly",
    }
)
ACCOUNT_STATUSES: Final = frozenset({"active", "suspended", "closed", "unknown"})  # §10.1.3
ENTITY_TYPES: Final = frozenset(  # §10.1.5
    {
        "distributor",
        "supplier",
        "iou",
        "muni",
        "cca",
        "retailer",
        "generator",
        "dso",
        "tso",
        "iso",
    }
)
CONTACT_TYPES: Final = frozenset(  # §10.1.7
    {"phone_number", "email", "home", "work", "mobile", "preferred", "primary", "secondary"}
)
ACCOUNT_PROGRAM_TYPES: Final = frozenset(  # §10.1.9
    {
        "active",
        "inactive",
        "eligible",
        "ineligible",
        "low_income",
        "flat_rate",
        "payment_plan",
        "protected",
        "survey",
        "pilot",
        "rebate",
        "credit_bank",
    }
)
CONTRACT_TYPES: Final = frozenset(  # §10.2.2
    {"utility_service", "project", "billed_monthly", "billed_quarterly"}
)
CONTRACT_STATUSES: Final = frozenset(  # §10.2.3
    {"active", "paused", "stopped", "closed", "unknown"}
)
SERVICE_TYPES: Final = frozenset(  # §10.2.4
    {
        "electric",
        "water",
        "natural_gas",
        "fuel_oil",
        "waste_water",
        "solid_waste",
        "residential",
        "commercial",
        "industrial",
        "agriculture",
        "metered",
        "unmetered",
        "distribution",
        "supply",
        "generation",
    }
)
SERVICEPOINT_TYPES: Final = frozenset(  # §10.3.2
    {
        "electric",
        "water",
        "natural_gas",
        "fuel_oil",
        "single_service",
        "multi_service",
        "physical",
        "virtual",
        "edge",
        "internal",
    }
)
PREMISE_TYPES: Final = frozenset({"service_group", "building", "land", "zone"})  # §10.3.4
METER_TYPES: Final = frozenset(  # §10.4.2
    {
        "electric_usage",
        "water_usage",
        "natural_gas_usage",
        "fuel_oil_usage",
        "forward_only",
        "reverse_only",
        "bidirectional",
        "physical_meter",
        "virtual_meter",
        "electric_demand",
        "ami_meter",
        "amr_meter",
        "analog_meter",
        "wifi_capable",
        "wifi_enabled",
        "wifi_configured",
        "zigbee_capable",
        "zigbee_enabled",
        "zigbee_configured",
        "central_apps_capable",
        "customer_apps_capable",
    }
)
METER_APP_TYPES: Final = frozenset(  # §10.4.4
    {
        "installed",
        "uninstalled",
        "compatible",
        "incompatible",
        "customer_installable",
        "central_installable",
    }
)
NEW_CHARGE_TYPES: Final = frozenset(  # §10.5.3
    {
        "electric_total",
        "water_total",
        "natural_gas_total",
        "fuel_oil_total",
        "waste_water_total",
        "solid_waste_total",
        "tax",
        "fixed_fee",
        "flat_rate",
        "interest",
        "deposit",
        "differed",
        "credit_bank",
        "program",
        "adhoc",
        "amount_due_sum_difference",
    }
)
SECTION_TYPES: Final = frozenset(  # §10.6.2
    {
        "service_contract",
        "sub_account",
        "other_section",
        "electric",
        "water",
        "natural_gas",
        "fuel_oil",
        "distribution",
        "supply",
    }
)
USAGE_DETAIL_TYPES: Final = frozenset(  # §10.6.4
    {
        "electric_usage",
        "water_usage",
        "natural_gas_usage",
        "fuel_oil_usage",
        "electric_demand",
        "time_of_use",
        "tiered",
        "directional",
        "seasonal",
        "ami_reading",
        "amr_reading",
        "analog_meter",
        "customer_provided",
        "estimated",
    }
)
COST_DETAIL_TYPES: Final = frozenset(  # §10.6.6
    {
        "overall_total",
        "subtotal",
        "fixed_charges",
        "usage_charges",
        "taxes",
        "distribution",
        "supply",
        "transmission",
        "other",
    }
)
LINE_ITEM_TYPES: Final = frozenset(  # §10.6.8
    {"fixed_charge", "usage_charge", "tax", "distribution", "supply", "transmission", "other"}
)
AGGREGATION_TYPES: Final = frozenset(  # §10.7.2
    {
        "public",
        "listed",
        "confidential",
        "region",
        "country",
        "province",
        "municipality",
        "local",
        "building",
        "account_number",
        "account_type",
        "account_program_number",
        "contract_number",
        "service_type",
        "rateplan_code",
        "service_program_number",
        "servicepoint_number",
        "servicepoint_type",
        "premise_number",
        "meter_number",
        "meter_type",
        "meter_app_number",
    }
)
REGION_TYPES: Final = frozenset(  # §10.7.4
    {"geographic", "postal_code", "county", "neighborhood", "city_block"}
)
CONSENT_REQUIREMENT_TYPES: Final = frozenset({"always", "sometimes", "never"})  # §10.7.6
VALUE_TYPES: Final = frozenset(  # §10.8.5
    {
        "electric_usage",
        "electric_demand",
        "electric_supply_mix",
        "water_usage",
        "natural_gas_usage",
        "fuel_oil_usage",
        "cost",
        "meter_readings",
    }
)
UNIT_TYPES: Final = frozenset(  # §10.8.7.1
    {
        "Wh",
        "kWh",
        "MWh",
        "W",
        "kW",
        "MW",
        "m3",
        "ft3",
        "CCF",
        "MCF",
        "MMCF",
        "MMCFD",
        "L",
        "gal",
        "Btu",
        "therm",
        "Sm3",
        "scf",
        "SCFM",
        "C",
        "F",
        "var",
        "kvar",
        "varh",
        "kvarh",
        "years",
        "months",
        "days",
        "hours",
        "minutes",
        "seconds",
        "money",
        "count",
        "percent",
    }
)
DIRECTION_TYPES: Final = frozenset({"net", "forward", "reverse"})  # §10.8.7.2
TOU_TYPES: Final = frozenset(  # §10.8.7.3
    {"super_peak", "peak", "partial_peak", "off_peak", "super_off_peak"}
)
TIER_TYPES: Final = frozenset(  # §10.8.7.4
    {"baseline", "overage", *(f"tier_{n}" for n in range(1, 10))}
)
SEASON_TYPES: Final = frozenset({"spring", "summer", "fall", "winter"})  # §10.8.7.5
QUALITY_TYPES: Final = frozenset(  # §10.8.7.6
    {"raw", "manual", "valid", "revenue", "estimated", "calculated", "corrected", "website"}
)
DEMAND_TYPES: Final = frozenset({"peak", "average", "starting", "ending"})  # §10.8.7.7
SUPPLY_ATTRIBUTION_TYPES: Final = frozenset({"base", "individual", "residual"})  # §10.8.7.8
SUPPLY_TYPES: Final = frozenset(  # §10.8.7.9
    {
        "general",
        "carbonfree",
        "peaker",
        "solar",
        "wind",
        "hydro",
        "geothermal",
        "biomass",
        "nuclear",
        "storage",
        "demand_management",
        "distributed",
        "natural_gas",
        "coal",
        "oil",
    }
)
BENEFICIARY_TYPES: Final = frozenset(  # §10.9.2
    {"customer", "account", "servicecontract", "rateplan", "program", "general"}
)

# Units each usage value type allows (§10.8.5.1.1, §10.8.5.2.1, §10.8.5.3.1 water, §10.8.5.5.1,
# §10.8.5.6.1).
VALUE_TYPE_UNITS: Final[Mapping[str, frozenset[str]]] = {
    "electric_usage": frozenset({"Wh", "kWh", "MWh"}),
    "electric_demand": frozenset({"W", "kW", "MW"}),
    "water_usage": frozenset({"m3", "L", "gal", "ft3", "CCF", "MCF", "MMCF"}),
    "natural_gas_usage": frozenset({"Btu", "therm", "Sm3", "scf"}),
    "fuel_oil_usage": frozenset({"L", "gal"}),
}
VALUE_KEYS: Final[Mapping[str, str]] = {  # §10.8.5.x.2: the Value Object's number
    "electric_usage": "eu",
    "electric_demand": "ed",
    "electric_supply_mix": "sm",
    "water_usage": "wu",
    "natural_gas_usage": "gu",
    "fuel_oil_usage": "fu",
    "cost": "c",
}
PREFIX: Final = "gridshare_"
"""Our prefix for server-specific extra fields (§10.1.8, §10.7.1: RECOMMENDED)."""

# --- The listings ---------------------------------------------------------------------------

SCOPES: Final = (
    "cds_query_accounts_1",
    "cds_query_service_contracts_1",
    "cds_query_service_points_1",
    "cds_query_meter_devices_1",
    "cds_query_bill_statements_1",
    "cds_query_bill_sections_1",
    "cds_query_aggregations_1",
    "cds_query_usage_1",
)
APIS: Final = (  # (url, listing name, the scope whose token lists it)
    (urls.ACCOUNTS, "accounts", "cds_query_accounts_1"),
    (urls.SERVICE_CONTRACTS, "service_contracts", "cds_query_service_contracts_1"),
    (urls.SERVICE_POINTS, "service_points", "cds_query_service_points_1"),
    (urls.METER_DEVICES, "meter_devices", "cds_query_meter_devices_1"),
    (urls.BILL_STATEMENTS, "bill_statements", "cds_query_bill_statements_1"),
    (urls.BILL_SECTIONS, "bill_sections", "cds_query_bill_sections_1"),
    (urls.AGGREGATIONS, "aggregations", "cds_query_aggregations_1"),
    (urls.USAGE_SEGMENTS, "usage_segments", "cds_query_usage_1"),
    (urls.EACS, "eacs", "cds_query_accounts_1"),
)
EARLY: Final = {  # reaching back before the demo's months (October 2024 - March 2025)
    "segment_start": "2024-01-01T00:00:00Z",
    "start_date": "2024-01-01",
    "statement_date_start": "2024-01-01",
}

Listings = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    found = data_world(demo, list(SCOPES))
    yield found
    found.http.close()


def _everything_entry(world: DataWorld, scope_id: str) -> dict[str, Any]:
    """Every boolean `include_*` true, every value type, durations reaching back early."""
    entry: dict[str, Any] = {"type": scope_id}
    catalogue = load_catalogue(world.demo.settings)
    for field in catalogue.scopes[scope_id].authorization_details_fields_supported:
        if field.id.startswith("include_") and field.format == "boolean":
            entry[field.id] = True
        elif field.id == "include_usage_segment_value_types":
            entry[field.id] = [choice.id for choice in field.choices]
        elif field.id in EARLY:
            entry[field.id] = EARLY[field.id]
    return entry


def _exact(text: str) -> Any:
    """A JSON body with its fractional numbers as `Decimal` (ints stay `int`)."""
    return json.loads(text, parse_float=Decimal)


@pytest.fixture(scope="module")
def listed(world: DataWorld) -> Listings:
    tokens = {
        scope: world.direct_token(scope, [_everything_entry(world, scope)])["access_token"]
        for scope in SCOPES
    }
    found: Listings = {}
    for url, name, scope in APIS:
        headers = {"Authorization": f"Bearer {tokens[scope]}"}
        answer = world.http.get(url, headers=headers)
        found[name] = []
        while True:
            assert answer.status_code == 200, (name, answer.text)
            body = _exact(answer.text)
            found[name] += body[name]
            if body["next"] is None:
                break
            answer = world.http.get(body["next"], headers=headers)
        assert found[name], f"the demo has no {name}"
    return found


@pytest.fixture(scope="module")
def metadata(world: DataWorld) -> dict[str, Any]:
    """The authorization server metadata, which carries the §5 Customer Data fields."""
    answer = world.http.get(urls.AS_METADATA)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = _exact(answer.text)
    return body


# --- Field kinds ----------------------------------------------------------------------------

Kind = Callable[[Any], bool]
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
E164 = re.compile(r"\+[1-9]\d{1,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CURRENCY = re.compile(r"[A-Z]{3}")


def is_string(value: Any) -> bool:
    return isinstance(value, str)


def is_date(value: Any) -> bool:
    if not (isinstance(value, str) and DATE.fullmatch(value)):
        return False
    date.fromisoformat(value)
    return True


def is_datetime(value: Any) -> bool:
    if not (isinstance(value, str) and DATETIME.fullmatch(value)):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def is_decimal(value: Any) -> bool:
    """A JSON number (never a string holding one)."""
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def is_decimal_or_word(value: Any) -> bool:
    """`decimal or string` (§10.6.3 value, §10.6.5 cost): a number is written as a number."""
    if isinstance(value, str):
        try:
            Decimal(value)
        except InvalidOperation:
            return True
        return False
    return is_decimal(value)


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def is_currency(value: Any) -> bool:
    return isinstance(value, str) and CURRENCY.fullmatch(value) is not None


def is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def is_list(value: Any) -> bool:
    return isinstance(value, list)


def is_object(value: Any) -> bool:
    return isinstance(value, dict)


def is_ints(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    )


def or_null(kind: Kind) -> Kind:
    return lambda value: value is None or kind(value)


STAMPS: Final = {"cds_created": is_datetime, "cds_modified": is_datetime, "cds_synced": is_datetime}


def fields(
    where: str, obj: Any, required: Mapping[str, Kind], optional: Mapping[str, Kind] = {}
) -> None:
    """REQUIRED fields present with their kind; OPTIONAL ones, when present, with theirs."""
    assert isinstance(obj, dict), f"{where} is not an object: {obj!r}"
    for name, kind in required.items():
        assert name in obj, f"{where} lacks {name}"
        assert kind(obj[name]), f"{where}.{name} = {obj[name]!r} is not a {kind.__name__}"
    for name, kind in optional.items():
        if name in obj:
            assert kind(obj[name]), f"{where}.{name} = {obj[name]!r} is not a {kind.__name__}"


def extras_prefixed(where: str, obj: dict[str, Any], defined: set[str]) -> None:
    """Fields beyond the spec's carry our prefix (§10.1.8, §10.7.1 RECOMMENDED)."""
    unprefixed = {k for k in set(obj) - defined if not k.startswith(PREFIX)}
    assert not unprefixed, f"{where} has unprefixed server-specific fields {sorted(unprefixed)}"


class Enumerations:
    """Checks enumerated values against their lists and remembers which lists were exercised."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = defaultdict(set)

    def one(self, name: str, value: Any, allowed: frozenset[str], where: str) -> None:
        assert value in allowed, f"{where}: {value!r} is not a {name} (spec: {sorted(allowed)})"
        self.seen[name].add(value)

    def many(
        self, name: str, values: Any, allowed: frozenset[str], where: str, *, non_empty: bool
    ) -> None:
        assert isinstance(values, list), f"{where}: {values!r} is not an array"
        assert values or not non_empty, f"{where}: an empty {name} array"
        for value in values:
            self.one(name, value, allowed, where)

    def exercised(self, *names: str) -> None:
        missing = [n for n in names if not self.seen[n]]
        assert not missing, f"no value of {missing} was met: the check proved nothing"


# --- Nested objects -------------------------------------------------------------------------


def check_entity(enums: Enumerations, entity: Any, where: str) -> None:
    """§10.1.4 Entity, §10.1.5 types."""
    fields(
        where,
        entity,
        {
            "id": is_string,
            "types": is_list,
            "entity_number": is_string,
            "entity_name": is_string,
            "entity_abbreviation": or_null(is_string),
        },
    )
    enums.many("entity type", entity["types"], ENTITY_TYPES, where, non_empty=False)


ACCOUNT_PROGRAM_FIELDS: Final = {
    "id": is_string,
    "program_number": is_string,
    "types": is_list,
    "name": is_string,
    "description": is_string,
    "documentation": is_url,
}
ACCOUNT_PROGRAM_OPTIONAL: Final = {
    "more_info": is_url,
    "signup": is_url,
    "settings": is_url,
    "discontinue": is_url,
    "participation_number": is_string,
    "start": is_date,
    "end": is_date,
}


def check_account_program(enums: Enumerations, program: Any, where: str) -> None:
    """§10.1.8 Account Program, §10.1.9 types (credit_bank: balance with its currency)."""
    fields(where, program, ACCOUNT_PROGRAM_FIELDS, ACCOUNT_PROGRAM_OPTIONAL)
    enums.many(
        "account program type", program["types"], ACCOUNT_PROGRAM_TYPES, where, non_empty=False
    )
    defined = set(ACCOUNT_PROGRAM_FIELDS) | set(ACCOUNT_PROGRAM_OPTIONAL)
    for name in ACCOUNT_PROGRAM_OPTIONAL:
        assert program.get(name, "") is not None, f"{where}.{name} is null, not omitted"
    if "credit_bank" in program["types"]:
        defined |= {"balance", "currency"}
        fields(where, program, {}, {"balance": is_decimal, "currency": is_currency})
        if "balance" in program:
            assert "currency" in program, f"{where}: a balance without its currency"
    extras_prefixed(where, program, defined)


def check_contact(enums: Enumerations, contact: Any, where: str) -> None:
    """§10.1.6 Account Contact, §10.1.7 types."""
    fields(where, contact, {"id": is_string, "types": is_list, "value": is_string})
    enums.many("contact type", contact["types"], CONTACT_TYPES, where, non_empty=True)
    kinds = {"phone_number", "email"} & set(contact["types"])
    assert kinds, f"{where}: types {contact['types']} have neither phone_number nor email"
    if "phone_number" in kinds:
        assert E164.fullmatch(contact["value"]), f"{where}: {contact['value']!r} is not E.164"
    if "email" in kinds:
        assert EMAIL.fullmatch(contact["value"]), f"{where}: {contact['value']!r} is not an email"


# --- Tests ----------------------------------------------------------------------------------


@pytest.mark.req(
    "WG3-10.1.1-a",
    "WG3-10.1.2-a",
    "WG3-10.1.3-a",
    "WG3-10.1.4-a",
    "WG3-10.1.5-a",
    "WG3-10.1.6-a",
    "WG3-10.1.7-a",
)
def test_accounts(listed: Listings) -> None:
    enums = Enumerations()
    for account in listed["accounts"]:
        where = f"account {account.get('cds_account_id')}"
        fields(
            where,
            account,
            {**STAMPS, "cds_account_id": is_string, "cds_account_parent": or_null(is_string)},
            {
                "customer_number": or_null(is_string),
                "account_number": is_string,
                "account_entity": or_null(is_object),
                "account_name": is_string,
                "account_address": is_string,
                "account_types": is_list,
                "account_status": is_string,
                "account_contacts": is_list,
                "account_programs": is_list,
            },
        )
        # include_account_details and include_account_numbers are true.
        for name in ("account_entity", "account_types", "account_status", "account_contacts"):
            assert name in account, f"{where} lacks {name} although its flag is true"
        if account["account_entity"] is not None:
            check_entity(enums, account["account_entity"], f"{where}.account_entity")
        enums.many("account type", account["account_types"], ACCOUNT_TYPES, where, non_empty=True)
        enums.one("account status", account["account_status"], ACCOUNT_STATUSES, where)
        for contact in account["account_contacts"]:
            check_contact(enums, contact, f"{where} contact {contact.get('id')}")
    enums.exercised("account type", "account status", "entity type", "contact type")


@pytest.mark.req(
    "WG3-10.2.1-a", "WG3-10.2.2-a", "WG3-10.2.3-a", "WG3-10.2.4-a", "WG3-10.1.4-a", "WG3-10.1.5-a"
)
def test_service_contracts(listed: Listings) -> None:
    enums = Enumerations()
    for contract in listed["service_contracts"]:
        where = f"contract {contract.get('cds_servicecontract_id')}"
        fields(
            where,
            contract,
            {
                **STAMPS,
                "cds_servicecontract_id": is_string,
                "cds_account_id": is_string,
                "contract_types": is_list,
                "contract_status": is_string,
                "service_types": is_list,
            },
            {
                "account_number": is_string,
                "contract_number": or_null(is_string),
                "contract_address": is_string,
                "contract_entity": or_null(is_object),
                "contract_start": is_date,
                "contract_end": or_null(is_date),
                "rateplan_code": is_string,
                "rateplan_name": is_string,
                "service_programs": is_list,
            },
        )
        for name in ("contract_entity", "contract_start", "contract_end", "rateplan_code"):
            assert name in contract, f"{where} lacks {name} although its flag is true"
        if contract["contract_entity"] is not None:
            check_entity(enums, contract["contract_entity"], f"{where}.contract_entity")
        enums.many(
            "contract type", contract["contract_types"], CONTRACT_TYPES, where, non_empty=False
        )
        enums.one("contract status", contract["contract_status"], CONTRACT_STATUSES, where)
        enums.many("service type", contract["service_types"], SERVICE_TYPES, where, non_empty=False)
    enums.exercised("contract type", "contract status", "service type", "entity type")


@pytest.mark.req("WG3-10.3.1-a", "WG3-10.3.2-a", "WG3-10.3.3-a", "WG3-10.3.4-a")
def test_service_points(listed: Listings) -> None:
    enums = Enumerations()
    for point in listed["service_points"]:
        where = f"service point {point.get('cds_servicepoint_id')}"
        fields(
            where,
            point,
            {
                **STAMPS,
                "cds_servicepoint_id": is_string,
                "servicepoint_number": or_null(is_string),
                "servicepoint_types": is_list,
                "current_servicecontracts": is_strings,
                "previous_servicecontracts": is_strings,
            },
            {
                "servicepoint_address": or_null(is_string),
                "latitude": or_null(is_decimal),
                "longitude": or_null(is_decimal),
                "premises": is_list,
            },
        )
        for name in ("servicepoint_address", "latitude", "longitude", "premises"):
            assert name in point, f"{where} lacks {name} although its flag is true"
        enums.many(
            "service point type",
            point["servicepoint_types"],
            SERVICEPOINT_TYPES,
            where,
            non_empty=False,
        )
        for premise in point["premises"]:
            inner = f"{where} premise {premise.get('id')}"
            fields(inner, premise, {"id": is_string, "premise_number": is_string, "types": is_list})
            enums.many("premise type", premise["types"], PREMISE_TYPES, inner, non_empty=False)
    enums.exercised("service point type", "premise type")


@pytest.mark.req("WG3-10.4.1-a", "WG3-10.4.2-a", "WG3-10.4.3-a", "WG3-10.4.4-a")
def test_meter_devices(listed: Listings) -> None:
    enums = Enumerations()
    for meter in listed["meter_devices"]:
        where = f"meter {meter.get('cds_meterdevice_id')}"
        fields(
            where,
            meter,
            {
                **STAMPS,
                "cds_meterdevice_id": is_string,
                "meter_types": is_list,
                "current_servicepoints": is_strings,
                "previous_servicepoints": is_strings,
            },
            {"meter_number": or_null(is_string), "meter_apps": is_list},
        )
        for name in ("meter_number", "meter_apps"):
            assert name in meter, f"{where} lacks {name} although its flag is true"
        enums.many("meter type", meter["meter_types"], METER_TYPES, where, non_empty=False)
        for app in meter["meter_apps"]:
            inner = f"{where} app {app.get('id')}"
            fields(
                inner,
                app,
                {"id": is_string, "app_number": is_string, "types": is_list, "name": is_string},
                {"start": is_datetime, "end": is_datetime},
            )
            enums.many("meter app type", app["types"], METER_APP_TYPES, inner, non_empty=False)
            if "end" in app:  # §10.4.4: `end` belongs to uninstalled apps
                assert "uninstalled" in app["types"], f"{inner} has an end but is installed"
    enums.exercised("meter type", "meter app type")


@pytest.mark.req(
    "WG3-10.5.1-a",
    "WG3-10.5.1-b",
    "WG3-10.5.2-a",
    "WG3-10.5.3-a",
    "WG3-10.1.8-a",
    "WG3-10.1.8-b",
    "WG3-10.1.9-a",
)
def test_bill_statements(listed: Listings) -> None:
    enums = Enumerations()
    for statement in listed["bill_statements"]:
        where = f"statement {statement.get('cds_billstatement_id')}"
        fields(
            where,
            statement,
            {
                **STAMPS,
                "cds_billstatement_id": is_string,
                "cds_account_id": is_string,
                "account_number": is_string,
                "statement_date": is_date,
                "currency": is_currency,
                "amount_due": is_decimal,
                "amount_due_date": is_date,
                "shutoff_prevention_minimum_due": or_null(is_decimal),
                "shutoff_prevention_date": or_null(is_date),
                # include_bill_statement_files / _charges / _programs are true:
                "file_uri": or_null(is_url),
                "previous_balance_amount": is_decimal,
                "previous_balance_paid": is_decimal,
                "previous_balance_unpaid": is_decimal,
                "new_charges_amount": is_decimal,
                "new_charges": is_list,
                "new_balance_amount": is_decimal,
                "account_programs": is_list,
            },
            {"file_mimetype": is_string},
        )
        if statement["shutoff_prevention_minimum_due"] is None:
            assert statement["shutoff_prevention_date"] is None, where
        if statement["file_uri"] is not None:
            assert "file_mimetype" in statement, f"{where}: a file_uri without its file_mimetype"
        for charge in statement["new_charges"]:
            inner = f"{where} new charge {charge.get('id')}"
            fields(
                inner,
                charge,
                {
                    "id": is_string,
                    "name": is_string,
                    "types": is_list,
                    "amount": is_decimal,
                    "included_in_amount_due": is_bool,
                },
                {"related_billsections": is_strings},
            )
            enums.many("new charge type", charge["types"], NEW_CHARGE_TYPES, inner, non_empty=False)
        for program in statement["account_programs"]:
            check_account_program(enums, program, f"{where} program {program.get('id')}")
    enums.exercised("new charge type", "account program type")


USAGE_KINDS: Final = ("electric_usage", "water_usage", "natural_gas_usage", "fuel_oil_usage")
READ_KINDS: Final = ("amr_reading", "analog_meter", "customer_provided")


def check_usage_detail(enums: Enumerations, detail: Any, where: str) -> None:
    """§10.6.3 Usage Detail, §10.6.4 types and what each type brings."""
    fields(
        where,
        detail,
        {"id": is_string, "name": is_string, "types": is_list, "value": is_decimal_or_word},
        {"units": is_string, "start_date": is_date, "end_date": is_date},
    )
    types = detail["types"]
    enums.many("usage detail type", types, USAGE_DETAIL_TYPES, where, non_empty=False)
    if is_decimal(detail["value"]):
        assert "units" in detail, f"{where}: a decimal value without units"
    if "units" in detail:
        enums.one("unit", detail["units"], UNIT_TYPES, where)
    if any(t in types for t in (*USAGE_KINDS, "electric_demand")):
        fields(where, detail, {"value": is_decimal, "start_date": is_date, "end_date": is_date})
    for flag, name, allowed, enumeration in (
        ("electric_demand", "demand_type", DEMAND_TYPES, "demand type"),
        ("time_of_use", "tou", TOU_TYPES, "tou"),
        ("tiered", "tier", TIER_TYPES, "tier"),
        ("directional", "direction", DIRECTION_TYPES, "direction"),
        ("seasonal", "season", SEASON_TYPES, "season"),
    ):
        if flag in types:
            assert name in detail, f"{where}: {flag} without {name}"
        if name in detail:
            enums.one(enumeration, detail[name], allowed, where)
    if any(t in types for t in READ_KINDS):
        fields(
            where,
            detail,
            {"start_read": is_decimal, "end_read": is_decimal, "multiplier": is_decimal},
        )


def check_line_item(enums: Enumerations, item: Any, where: str) -> None:
    """§10.6.7 Line Item, §10.6.8 types."""
    fields(
        where,
        item,
        {
            "id": is_string,
            "name": is_string,
            "types": is_list,
            "start_date": is_date,
            "end_date": is_date,
            "cost": is_decimal,
            "value": or_null(is_decimal),
            "rate": or_null(is_decimal),
            "related_usage_details": is_strings,
            "related_cost_details": is_strings,
        },
        {"units": is_string},
    )
    enums.many("line item type", item["types"], LINE_ITEM_TYPES, where, non_empty=False)
    if item["value"] is not None:
        assert "units" in item, f"{where}: a decimal value without units"
    if "units" in item:
        enums.one("unit", item["units"], UNIT_TYPES, where)


@pytest.mark.req(
    "WG3-10.6.1-a",
    "WG3-10.6.2-a",
    "WG3-10.6.3-a",
    "WG3-10.6.4-a",
    "WG3-10.6.4-b",
    "WG3-10.6.5-a",
    "WG3-10.6.6-a",
    "WG3-10.6.7-a",
    "WG3-10.6.8-a",
    "WG3-10.1.4-a",
    "WG3-10.1.5-a",
    "WG3-10.8.7-a",
    "WG3-10.8.7-b",
    "WG3-10.8.7-c",
)
def test_bill_sections(listed: Listings) -> None:
    enums = Enumerations()
    for section in listed["bill_sections"]:
        where = f"section {section.get('cds_billsection_id')}"
        fields(
            where,
            section,
            {
                **STAMPS,
                "cds_billsection_id": is_string,
                "cds_billstatement_id": or_null(is_string),
                "cds_account_id": is_string,
                "account_number": is_string,
                "section_types": is_list,
                "start_date": is_date,
                "end_date": is_date,
                "currency": is_currency,
                "distribution_entity": or_null(is_object),
                "supply_entity": or_null(is_object),
                "related_servicecontracts": is_strings,
                "related_servicepoints": is_strings,
                "related_meterdevices": is_strings,
                "related_billsections": is_strings,
                "usage_details": is_list,
                "cost_details": is_list,
                "line_items": is_list,  # include_bill_section_line_items is true
            },
        )
        enums.many("section type", section["section_types"], SECTION_TYPES, where, non_empty=False)
        for name in ("distribution_entity", "supply_entity"):
            if section[name] is not None:
                check_entity(enums, section[name], f"{where}.{name}")
        for detail in section["usage_details"]:
            check_usage_detail(enums, detail, f"{where} usage detail {detail.get('id')}")
        for cost in section["cost_details"]:
            inner = f"{where} cost detail {cost.get('id')}"
            fields(
                inner,
                cost,
                {"id": is_string, "name": is_string, "types": is_list, "cost": is_decimal_or_word},
            )
            enums.many("cost detail type", cost["types"], COST_DETAIL_TYPES, inner, non_empty=False)
        for item in section["line_items"]:
            check_line_item(enums, item, f"{where} line item {item.get('id')}")
    enums.exercised(
        "section type",
        "entity type",
        "usage detail type",
        "cost detail type",
        "line item type",
        "unit",
        "demand type",
        "tou",
        "tier",
        "direction",
        "season",
    )


AGGREGATION_FIELDS: Final = {
    **STAMPS,
    "cds_aggregation_id": is_string,
    "aggregation_types": is_list,
    "aggregation_number": or_null(is_string),
    "scope": is_string,
    "authorization_details": is_list,
    "grouped_accounts": is_strings,
    "grouped_servicecontracts": is_strings,
    "grouped_servicepoints": is_strings,
    "grouped_meterdevices": is_strings,
    "grouped_aggregations": is_strings,
    "grouped_regions": is_list,
    "consent_requirements": is_list,
}
AGGREGATION_EXTRAS: Final[Mapping[str, tuple[str, frozenset[str] | None]]] = {
    # §10.7.2: type -> the field it requires, and the list its values come from (None: strings)
    "country": ("countries", None),
    "province": ("provinces", None),
    "municipality": ("municipalities", None),
    "account_type": ("account_types", ACCOUNT_TYPES),
    "account_program_number": ("account_program_numbers", None),
    "service_type": ("service_types", SERVICE_TYPES),
    "rateplan_code": ("rateplan_code", None),
    "service_program_number": ("service_program_numbers", None),
    "servicepoint_type": ("servicepoint_types", SERVICEPOINT_TYPES),
    "premise_number": ("premise_numbers", None),
    "meter_type": ("meter_types", METER_TYPES),
    "meter_app_number": ("meter_app_numbers", None),
}
REGION_EXTRAS: Final = {  # §10.7.4
    "postal_code": "postal_codes",
    "county": "counties",
    "neighborhood": "neighborhoods",
    "city_block": "city_blocks",
}


def check_region(enums: Enumerations, region: Any, where: str) -> None:
    """§10.7.3 Aggregation Region, §10.7.4 types and their fields."""
    fields(where, region, {"id": is_string, "name": is_string, "types": is_list})
    enums.many("region type", region["types"], REGION_TYPES, where, non_empty=False)
    for kind, name in REGION_EXTRAS.items():
        if kind in region["types"]:
            fields(where, region, {name: is_strings})
    if "geographic" in region["types"]:
        fields(
            where,
            region,
            {
                "map_resource": or_null(is_url),
                "map_content_type": or_null(is_string),
                "geojson_resource": or_null(is_url),
            },
        )
        assert region["map_resource"] or region["geojson_resource"], f"{where}: no map"
        if region["map_resource"] is not None:
            assert region["map_content_type"] is not None, f"{where}: a map without its type"


@pytest.mark.req(
    "WG3-10.7.1-a",
    "WG3-10.7.1-c",
    "WG3-10.7.2-a",
    "WG3-10.7.2-d",
    "WG3-10.7.3-a",
    "WG3-10.7.4-a",
    "WG3-10.7.4-c",
    "WG3-10.7.5-a",
    "WG3-10.7.6-a",
)
def test_aggregations(listed: Listings) -> None:
    enums = Enumerations()
    for aggregation in listed["aggregations"]:
        where = f"aggregation {aggregation.get('cds_aggregation_id')}"
        fields(where, aggregation, AGGREGATION_FIELDS, {"grouped_addresses": is_strings})
        types = aggregation["aggregation_types"]
        enums.many("aggregation type", types, AGGREGATION_TYPES, where, non_empty=False)
        defined = set(AGGREGATION_FIELDS) | {"grouped_addresses"}
        for kind, (name, allowed) in AGGREGATION_EXTRAS.items():
            if kind in types:
                defined.add(name)
                fields(where, aggregation, {name: is_strings})
                if allowed is not None:
                    enums.many(kind, aggregation[name], allowed, where, non_empty=False)
        extras_prefixed(where, aggregation, defined)
        if "building" in types:  # §10.7.2 RECOMMENDED
            assert aggregation.get("grouped_addresses"), f"{where}: a building without addresses"
        if {"region", "local"} & set(types):
            assert aggregation["grouped_regions"], f"{where}: a region without regions"
        for detail in aggregation["authorization_details"]:
            fields(f"{where} authorization detail", detail, {"type": is_string})
        for region in aggregation["grouped_regions"]:
            check_region(enums, region, f"{where} region {region.get('id')}")
        for requirement in aggregation["consent_requirements"]:
            inner = f"{where} consent requirement {requirement.get('id')}"
            fields(
                inner,
                requirement,
                {"id": is_string, "name": is_string, "types": is_list, "documentation": is_url},
            )
            enums.many(
                "consent requirement type",
                requirement["types"],
                CONSENT_REQUIREMENT_TYPES,
                inner,
                non_empty=False,
            )
    enums.exercised("aggregation type", "region type", "consent requirement type")


def check_value_format(
    enums: Enumerations, value_format: Any, count: int, where: str
) -> Callable[[Any], bool]:
    """§10.8.2 Value Format and its type's fields (§10.8.5.x.1); returns the check of the Value
    Objects it describes (§10.8.5.x.2)."""
    fields(where, value_format, {"id": is_string, "type": is_string})
    kind = value_format["type"]
    enums.one("value type", kind, VALUE_TYPES, where)
    if kind in VALUE_TYPE_UNITS:
        fields(where, value_format, {"units": is_string})
        enums.one("unit", value_format["units"], UNIT_TYPES, where)
        assert value_format["units"] in VALUE_TYPE_UNITS[kind], f"{where}: units of {kind}"
        if kind == "electric_demand":
            fields(where, value_format, {"demand_type": is_string})
            enums.one("demand type", value_format["demand_type"], DEMAND_TYPES, where)
        fields(where, value_format, {}, {"related_meterdevices": is_strings})
        for name, allowed, enumeration, nullable in (
            ("direction", DIRECTION_TYPES, "direction", False),
            ("tou", TOU_TYPES, "tou", True),
            ("tier", TIER_TYPES, "tier", True),
            ("season", SEASON_TYPES, "season", True),
            ("quality", QUALITY_TYPES, "quality", False),
        ):
            if name in value_format and not (nullable and value_format[name] is None):
                enums.one(enumeration, value_format[name], allowed, where)
    elif kind in ("electric_supply_mix", "cost"):
        fields(where, value_format, {"indexes": is_ints})
        assert all(0 <= i < count for i in value_format["indexes"]), f"{where}: indexes"
        if kind == "cost":
            fields(where, value_format, {"currency": is_currency})
        else:
            fields(where, value_format, {"attribution": is_string, "supply_type": is_string})
            enums.one(
                "supply attribution",
                value_format["attribution"],
                SUPPLY_ATTRIBUTION_TYPES,
                where,
            )
            enums.one("supply type", value_format["supply_type"], SUPPLY_TYPES, where)
    else:
        fields(
            where,
            value_format,
            {"related_meterdevice": is_string, "register": or_null(is_string), "units": is_string},
        )
        enums.one("unit", value_format["units"], UNIT_TYPES, where)
        return lambda value: isinstance(value, dict) and is_string(value.get("r"))
    key = VALUE_KEYS[kind]
    if kind == "electric_supply_mix":
        return lambda value: (
            isinstance(value, dict)
            and is_decimal(value.get("sm"))
            and 0 <= value["sm"] <= 1
            and is_decimal(value.get("ci", 0))
            and is_strings(value.get("eacs", []))
        )
    return lambda value: isinstance(value, dict) and is_decimal(value.get(key))


@pytest.mark.req(
    "WG3-10.8.1-a",
    "WG3-10.8.2-a",
    "WG3-10.8.5-a",
    "WG3-10.8.5.3-a",
    "WG3-10.8.5.4-a",
    "WG3-10.8.5.5-a",
    "WG3-10.8.5.7-a",
    "WG3-10.8.7-a",
    "WG3-10.8.7-b",
    "WG3-10.8.7-d",
)
def test_usage_segments(listed: Listings) -> None:
    enums = Enumerations()
    for segment in listed["usage_segments"]:
        where = f"usage segment {segment.get('cds_usagesegment_id')}"
        fields(
            where,
            segment,
            {
                **STAMPS,
                "cds_usagesegment_id": is_string,
                "related_aggregations": is_strings,
                "related_accounts": is_strings,
                "related_servicecontracts": is_strings,
                "related_servicepoints": is_strings,
                "related_meterdevices": is_strings,
                "related_billsections": is_strings,
                "segment_start": is_datetime,
                "segment_end": is_datetime,
                "interval": is_decimal,
                "formats": is_list,
                "values": is_list,
            },
        )
        assert segment["interval"] > 0, where
        formats = segment["formats"]
        checks = [
            check_value_format(enums, f, len(formats), f"{where} format {i}")
            for i, f in enumerate(formats)
        ]
        for n, value_set in enumerate(segment["values"]):
            assert isinstance(value_set, list) and len(value_set) == len(formats), (where, n)
            for i, value in enumerate(value_set):
                assert value is None or checks[i](value), f"{where} values[{n}][{i}] = {value!r}"
    enums.exercised("value type", "unit", "direction", "supply attribution", "supply type")
    assert {
        "electric_usage",
        "electric_supply_mix",
        "water_usage",
        "natural_gas_usage",
        "cost",
    } <= (enums.seen["value type"])


@pytest.mark.req("WG3-10.9.1-a", "WG3-10.9.2-a", "WG3-10.9.3-a")
def test_eacs(listed: Listings, metadata: dict[str, Any]) -> None:
    enums = Enumerations()
    formats = metadata["cds_eac_formats"]
    for key, description in formats.items():  # §10.9.3
        fields(
            f"eac format {key}",
            description,
            {"id": is_string, "name": is_string, "description": is_string, "documentation": is_url},
        )
        assert description["id"] == key
    for eac in listed["eacs"]:
        where = f"eac {eac.get('cds_eac_id')}"
        fields(
            where,
            eac,
            {
                **STAMPS,
                "cds_eac_id": is_string,
                "beneficiary_type": is_string,
                "beneficiaries": is_strings,
                "eac_numbers": is_strings,
                "eac_format": is_string,
                "eac_data_url": is_url,
                "period_start": is_datetime,
                "period_end": is_datetime,
            },
        )
        enums.one("beneficiary type", eac["beneficiary_type"], BENEFICIARY_TYPES, where)
        if eac["beneficiary_type"] == "general":
            assert eac["beneficiaries"] == [], where
        assert eac["eac_format"] in formats, where
    enums.exercised("beneficiary type")


def test_the_checks_can_fail() -> None:
    """The kinds reject what the spec forbids."""
    assert not is_decimal("1.5") and not is_decimal(True) and is_decimal(Decimal("1.5"))
    assert not is_decimal_or_word("1.5") and is_decimal_or_word("n/a")
    assert not is_date("2025-1-02") and not is_date("2025-01-02T00:00:00Z")
    assert not is_datetime("2025-01-02T00:00:00+00:00") and not is_datetime("2025-01-02")
    assert is_datetime("2025-01-02T00:00:00Z")
    assert not E164.fullmatch("5554443333") and not EMAIL.fullmatch("name.example.com")
    enums = Enumerations()
    with pytest.raises(AssertionError):
        enums.one("account status", "open", ACCOUNT_STATUSES, "x")
    with pytest.raises(AssertionError):
        enums.many("account type", [], ACCOUNT_TYPES, "x", non_empty=True)
    with pytest.raises(AssertionError):
        enums.exercised("account status")
    with pytest.raises(AssertionError):
        fields("x", {"amount": "1.00"}, {"amount": is_decimal})
