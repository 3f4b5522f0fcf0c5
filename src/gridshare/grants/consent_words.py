"""The authorization form's Request Sections in the Customer's words (CDS-WG3-01 §9.2.2.1,
§9.2.2.2): per consent scope type a plain title and what it includes (from the `include_*`
fields; a "See details" toggle gives each with an example value), and its durations from the
resolved dates, never field names or ISO durations; and the Preselection Error's list of what the
request preselected (§9.3.1). The Authorization Receipt and its email repeat the Request
Sections as approved (§9.4, `grants.receipts.approved_sections`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from gridshare.config import Settings
from gridshare.grants.durations import INFINITE
from gridshare.grants.scopes import Catalogue
from gridshare.grants.selections import SelectionGroup

TITLES: Final = {
    "cds_rate_plan": "Your rate plans",
    "cds_account_programs": "Programs on your accounts",
    "cds_service_programs": "Programs on your services",
    "cds_accounts": "Your account list",
    "cds_service_contracts": "Your services",
    "cds_meters": "Your meters",
    "cds_bill_statements": "Your bills",
    "cds_service_bills": "The charges on your bills",
    "cds_usage": "Your electricity usage",
    "cds_aggregation_consent": "Your consent to be counted in combined data",
}
"""Request Section titles by Scope Description type (scopes of other types use their name)."""

INCLUDES: Final = {
    "include_accounts": "your accounts",
    "include_account_numbers": "your account numbers",
    "include_account_details": "account names, addresses and contacts",
    "include_account_programs": "programs you are enrolled in on your accounts",
    "include_service_contracts": "your services",
    "include_contract_numbers": "your service numbers",
    "include_rate_plans": "your rate plans",
    "include_service_contract_details": "service addresses and start and end dates",
    "include_service_programs": "programs you are enrolled in on your services",
    "include_service_points": "where your services are delivered",
    "include_premises": "your premise numbers",
    "include_service_point_addresses": "service location addresses",
    "include_coordinates": "service location map coordinates",
    "include_meter_devices": "your meters",
    "include_meter_numbers": "your meter numbers",
    "include_meter_apps": "apps installed on your meters",
    "include_aggregations": "groups of your services (such as a campus)",
    "include_aggregation_addresses": "the addresses of those groups",
    "include_bill_statements": "your bills",
    "include_bill_statement_files": "copies of your bills (PDF)",
    "include_bill_statement_charges": "the amounts on your bills",
    "include_bill_statement_programs": "programs shown on your bills",
    "include_bill_sections": "the sections of your bills",
    "include_bill_section_line_items": "each charge on your bills",
}
"""What an `include_*` field set to true adds, in plain words (§9.2.2.1)."""

EXAMPLES: Final = {
    "include_accounts": "an account opened 3 March 2019, active",
    "include_account_numbers": "account 4100000291-9",
    "include_account_details": "“Jane Doe”, 274 Oak Ave, Woodland, jane@example.org",
    "include_account_programs": "enrolled in the low-income discount since 2021",
    "include_service_contracts": "electricity service, active since 2019",
    "include_contract_numbers": "service 5200000123-4",
    "include_rate_plans": "residential time-of-use rate DGE-E-TOU",
    "include_service_contract_details": "274 Oak Ave, started 3 March 2019",
    "include_service_programs": "demand response, eligible",
    "include_service_points": "an electric service location",
    "include_premises": "premise 7300001234",
    "include_service_point_addresses": "274 Oak Ave, Woodland, CA 95695",
    "include_coordinates": "38.6785, -121.7733",
    "include_meter_devices": "a smart electric meter, installed 2019",
    "include_meter_numbers": "meter 1ND-558812",
    "include_meter_apps": "a home energy display paired with your meter",
    "include_aggregations": "“Sycamore Court Apartments” building",
    "include_aggregation_addresses": "1200 Sycamore Ln, Davis, CA 95616",
    "include_bill_statements": "your bill of 5 October 2026",
    "include_bill_statement_files": "the PDF of that bill",
    "include_bill_statement_charges": "amount due $84.17, due 26 October 2026",
    "include_bill_statement_programs": "a $12.00 low-income credit on that bill",
    "include_bill_sections": "the electricity delivery section of that bill",
    "include_bill_section_line_items": "“Peak energy 61.2 kWh at $0.52” = $31.82",
}
"""An example of each `include_*` field's data, for the details toggle (§9.2.2.1)."""

VALUE_EXAMPLES: Final = {
    "electric_usage_net_kwh": "0.42 kWh between 2:00 and 2:15 p.m.",
    "electric_usage_forward_kwh": "0.61 kWh between 2:00 and 2:15 p.m.",
    "electric_usage_reverse_kwh": "0.19 kWh sent out between 2:00 and 2:15 p.m.",
    "natural_gas_usage_therm": "0.08 therms between 7:00 and 8:00 a.m.",
    "water_usage_gal": "14.2 gallons between 7:00 and 8:00 a.m.",
}

VALUE_TYPES: Final = {
    "electric_usage_net_kwh": "electricity used (kWh)",
    "electric_usage_forward_kwh": "electricity taken from the grid (kWh)",
    "electric_usage_reverse_kwh": "electricity sent to the grid, e.g. from solar panels (kWh)",
    "natural_gas_usage_therm": "gas used (therms)",
    "water_usage_gal": "water used (gallons)",
}

HISTORY: Final = {
    "cds_usage": ("segment_start", "segment_end", "usage"),
    "cds_bill_statements": ("statement_date_start", "statement_date_end", "bills"),
    "cds_service_bills": ("start_date", "end_date", "bill charges"),
}
"""Scope types whose data reaches into history: (start field, end field, what) (§9.2.2.2)."""


@dataclass(frozen=True)
class RequestSection:
    """One Request Section: title, Data Component items and Duration Component sentence."""

    scope_id: str
    title: str
    includes: list[str]
    duration: str | None
    examples: list[tuple[str, str]]
    """Each included kind of data with an example value, for the details toggle (§9.2.2.1)."""


def request_sections(
    catalogue: Catalogue,
    settings: Settings,
    scope: str,
    details: list[dict[str, Any]],
    today: date,
) -> list[RequestSection]:
    """One section per requested consent scope, in request order (§9.2.1.4-b)."""
    sections = []
    for scope_id in scope.split():
        described = catalogue.scopes.get(scope_id)
        if described is None:
            continue
        types = set(described.authorization_details_types_supported)
        entry = next((e for e in details if e.get("type") in types), {})
        sections.append(
            RequestSection(
                scope_id=scope_id,
                title=TITLES.get(described.type, described.name),
                includes=_includes(entry),
                duration=duration_words(settings, described.type, entry, today),
                examples=_examples(entry),
            )
        )
    return sections


def _includes(entry: dict[str, Any]) -> list[str]:
    found = [words for field, words in INCLUDES.items() if entry.get(field) is True]
    for value_type in entry.get("include_usage_segment_value_types") or ():
        found.append(VALUE_TYPES.get(value_type, value_type.replace("_", " ")))
    return found


def _examples(entry: dict[str, Any]) -> list[tuple[str, str]]:
    found = [
        (words, EXAMPLES[field])
        for field, words in INCLUDES.items()
        if entry.get(field) is True and field in EXAMPLES
    ]
    for value_type in entry.get("include_usage_segment_value_types") or ():
        if value_type in VALUE_EXAMPLES:
            found.append((VALUE_TYPES[value_type], VALUE_EXAMPLES[value_type]))
    return found


def duration_words(
    settings: Settings, scope_type: str, entry: dict[str, Any], today: date
) -> str | None:
    """The Duration Component: how far back and how long (§9.2.2.2-a..d). A date on or before
    `today` (the utility's local date) is "now": no history, or no updates."""
    if scope_type == "cds_aggregation_consent":
        expires = entry.get("expires")
        if expires is None:
            return None
        if expires == INFINITE:
            return "Your consent lasts until you withdraw it."
        if _day(settings, expires) <= today:
            return (
                "Your consent is for this request only; the app must ask you again "
                "for later updates."
            )
        return f"Your consent lasts until {date_words(settings, expires)}."
    if scope_type in HISTORY:
        start_field, end_field, what = HISTORY[scope_type]
        start, end = entry.get(start_field), entry.get(end_field)
        if start is None or end is None:
            return None
        no_history = _day(settings, start) >= today
        if end == INFINITE:
            if no_history:
                return f"Only new {what} from now on, with no end date (until you stop it)."
            return f"Includes your {what} since {date_words(settings, start)}, and new {what} " + (
                "with no end date (until you stop it)."
            )
        if _day(settings, end) <= today:
            return f"Only your past {what} since {date_words(settings, start)}; no new {what}."
        if no_history:
            return f"Only new {what} from now on, until {date_words(settings, end)}."
        return (
            f"Includes your {what} since {date_words(settings, start)}, and new {what} until "
            f"{date_words(settings, end)}."
        )
    sync_until = entry.get("sync_until")
    if sync_until is None:
        return None
    if sync_until == INFINITE:
        return "Kept up to date with no end date (until you stop it)."
    if _day(settings, sync_until) <= today:
        return "A one-time copy of your current details; no updates after today."
    return f"Kept up to date until {date_words(settings, sync_until)}."


def date_words(settings: Settings, value: str) -> str:
    """A resolved absolute date or datetime as "22 November 2027" in the utility's time zone."""
    day = _day(settings, value)
    return f"{day.day} {day.strftime('%B %Y')}"


def _day(settings: Settings, value: str) -> date:
    """A resolved absolute date or datetime as the utility's local date."""
    if "T" in value:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(settings.tz).date()
    return date.fromisoformat(value)


PRESELECTION_WORDS: Final = {
    "account_numbers": "Accounts",
    "account_programs": "Accounts in the programs",
    "contract_numbers": "Services",
    "service_types": "Services of the types",
    "service_programs": "Services in the programs",
    "servicepoint_numbers": "Service locations",
    "servicepoint_types": "Service locations of the types",
    "premise_numbers": "Premises",
    "meter_numbers": "Meters",
    "meter_types": "Meters of the types",
    "meter_apps": "Meters with the apps",
    "aggregation_numbers": "Groups",
    "addresses": "Addresses",
}
"""What each §7.1 preselection field asks for, as the Preselection Error lists it (§9.3.1)."""

SPECIAL_VALUES: Final = {"_all": "all of them", "_include_future": "and future ones"}


def preselection_words(groups: Iterable[SelectionGroup]) -> list[str]:
    """The resources a request preselected, one line per field, e.g. "Services: 111111, 222222"."""
    lines: list[str] = []
    for group in groups:
        for field_id, values in group.requested.items():
            shown = ", ".join(SPECIAL_VALUES.get(v, v.replace("_", " ")) for v in values)
            line = f"{PRESELECTION_WORDS.get(field_id, field_id)}: {shown}"
            if line not in lines:
                lines.append(line)
    return lines
