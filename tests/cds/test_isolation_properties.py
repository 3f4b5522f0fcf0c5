"""Access by construction over HTTP (issue #5; CDS-WG3-01 §7.2, §10): property-based tests over
random demo Customers, consent scopes, `include_*` flags, form ticks and listing filters, proving
that the nine Customer Data APIs never return an object outside the Customer's records nor a
field outside the include set.

Tokens come from the real flow: the Customer logs in and ticks a random subset of the form's
resources (`DataWorld.customer_token`, about 0.1 s), so the Grant, its selections and its
materialised defaults are the server's own. Direct-access tokens preselecting one Customer's
accounts (`client_credentials`) cover the EAC API, which no consent scope reaches.

The oracle is written here from the spec and the tables, not from `grants/access.py`:
- **Objects** (WG3-7.2-a): every listed object is one of the Customer's records: their Accounts and
  those Accounts' parents, the Service Contracts of those Accounts, the Service Points those
  Contracts were served at, the Meter Devices installed there, the Bill Statements and Bill Sections
  of those Accounts, the Aggregations grouping any of them; EACs whose stored beneficiaries are
  theirs (customer, account, contract, rate plan, program) or `general`. A Usage Segment belongs to
  one of their meters and lies inside a period that meter measured one of their contracts.
- **Related ids** (WG3-10.8.1-c, §10.x "only identifiers the Client is authorized to see"): every id
  in a related/grouped list or parent field is one the token's own listing of that kind shows.
- **Fields** (WG3-7.2.x): an object carries its REQUIRED fields and no OPTIONAL field unless a flag
  the Grant holds (the scope's implied flags, `consent_scopes.IMPLIED` / `direct_scopes.IMPLIED`,
  or a flag the authorization details set true) gates it in `OPTIONAL` below; no field the spec
  does not define. With two scopes the flags are the union over both entries (a sound upper bound).
- **Filters** (WG3-10.x-b): a filtered listing only ever returns objects of the unfiltered one; a
  filter naming only other Customers' ids or numbers returns nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.grants import consent_scopes, direct_scopes
from gridshare.grants.scopes import Catalogue, load_catalogue
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import Aggregation, AggregationMember
from gridshare.store.tables.bills import BillSection, BillStatement
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.eacs import EnergyAttributeCertificate
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.programs import Participation, Program
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from tests.cds.data_setup import PASSWORDS, DataWorld, data_world
from tests.demo.conftest import SmallDemo

CONSENT_SCOPES: Final = (
    "cds_accounts_1",
    "cds_service_contracts_1",
    "cds_meters_1",
    "cds_bill_statements_1",
    "cds_service_bills_1",
    "cds_usage_1",
    "cds_rate_plan_1",
    "cds_account_programs_1",
    "cds_service_programs_1",
)
EAC_SCOPES: Final = ("cds_query_accounts_1", "cds_query_service_contracts_1", "cds_query_usage_1")

ACCOUNTS, CONTRACTS, POINTS, METERS = "accounts", "contracts", "points", "meters"
STATEMENTS, SECTIONS, AGGREGATIONS, USAGE, EACS = (
    "statements",
    "sections",
    "aggregations",
    "usage",
    "eacs",
)


@dataclass(frozen=True)
class Api:
    url: str
    listing: str
    id_field: str
    include: str
    """The §7.2 flag that makes this kind reachable (403 without it)."""


APIS: Final[dict[str, Api]] = {
    ACCOUNTS: Api(urls.ACCOUNTS, "accounts", "cds_account_id", "include_accounts"),
    CONTRACTS: Api(
        urls.SERVICE_CONTRACTS,
        "service_contracts",
        "cds_servicecontract_id",
        "include_service_contracts",
    ),
    POINTS: Api(
        urls.SERVICE_POINTS, "service_points", "cds_servicepoint_id", "include_service_points"
    ),
    METERS: Api(urls.METER_DEVICES, "meter_devices", "cds_meterdevice_id", "include_meter_devices"),
    STATEMENTS: Api(
        urls.BILL_STATEMENTS, "bill_statements", "cds_billstatement_id", "include_bill_statements"
    ),
    SECTIONS: Api(
        urls.BILL_SECTIONS, "bill_sections", "cds_billsection_id", "include_bill_sections"
    ),
    AGGREGATIONS: Api(
        urls.AGGREGATIONS, "aggregations", "cds_aggregation_id", "include_aggregations"
    ),
    USAGE: Api(
        urls.USAGE_SEGMENTS, "usage_segments", "cds_usagesegment_id", "include_usage_segments"
    ),
    EACS: Api(urls.EACS, "eacs", "cds_eac_id", "include_eacs"),
}

STAMPS: Final = frozenset({"cds_created", "cds_modified", "cds_synced"})
REQUIRED: Final[dict[str, frozenset[str]]] = {
    ACCOUNTS: STAMPS | {"cds_account_id", "cds_account_parent"},  # §10.1.1
    CONTRACTS: STAMPS  # §10.2.1
    | {
        "cds_servicecontract_id",
        "cds_account_id",
        "contract_types",
        "contract_status",
        "service_types",
    },
    POINTS: STAMPS  # §10.3.1
    | {
        "cds_servicepoint_id",
        "servicepoint_number",
        "servicepoint_types",
        "current_servicecontracts",
        "previous_servicecontracts",
    },
    METERS: STAMPS  # §10.4.1
    | {"cds_meterdevice_id", "meter_types", "current_servicepoints", "previous_servicepoints"},
    STATEMENTS: STAMPS  # §10.5.1 (account_number: gated below, docs/spec-decisions.md)
    | {
        "cds_billstatement_id",
        "cds_account_id",
        "statement_date",
        "currency",
        "amount_due",
        "amount_due_date",
        "shutoff_prevention_minimum_due",
        "shutoff_prevention_date",
    },
    SECTIONS: STAMPS  # §10.6.1 (account_number: gated below)
    | {
        "cds_billsection_id",
        "cds_billstatement_id",
        "cds_account_id",
        "section_types",
        "start_date",
        "end_date",
        "currency",
        "distribution_entity",
        "supply_entity",
        "related_servicecontracts",
        "related_servicepoints",
        "related_meterdevices",
        "related_billsections",
        "usage_details",
        "cost_details",
    },
    AGGREGATIONS: STAMPS  # §10.7.1
    | {
        "cds_aggregation_id",
        "aggregation_types",
        "aggregation_number",
        "scope",
        "authorization_details",
        "grouped_accounts",
        "grouped_servicecontracts",
        "grouped_servicepoints",
        "grouped_meterdevices",
        "grouped_aggregations",
        "grouped_regions",
        "consent_requirements",
    },
    USAGE: STAMPS  # §10.8.1
    | {
        "cds_usagesegment_id",
        "related_aggregations",
        "related_accounts",
        "related_servicecontracts",
        "related_servicepoints",
        "related_meterdevices",
        "related_billsections",
        "segment_start",
        "segment_end",
        "interval",
        "formats",
        "values",
    },
    EACS: STAMPS  # §10.9.1
    | {
        "cds_eac_id",
        "beneficiary_type",
        "beneficiaries",
        "eac_numbers",
        "eac_format",
        "eac_data_url",
        "period_start",
        "period_end",
    },
}

OPTIONAL: Final[dict[str, dict[str, str]]] = {
    ACCOUNTS: {
        "customer_number": "include_account_numbers",  # §7.2.1.1
        "account_number": "include_account_numbers",
        "account_entity": "include_account_numbers",
        "account_name": "include_account_details",  # §7.2.1.2
        "account_address": "include_account_details",
        "account_types": "include_account_details",
        "account_status": "include_account_details",
        "account_contacts": "include_account_details",
        "account_programs": "include_account_programs",  # §7.2.1.3
    },
    CONTRACTS: {
        "account_number": "include_account_numbers",  # §7.2.1.1
        "contract_number": "include_contract_numbers",  # §7.2.2.1
        "contract_entity": "include_contract_numbers",
        "rateplan_code": "include_rate_plans",  # §7.2.2.2
        "rateplan_name": "include_rate_plans",
        "contract_address": "include_service_contract_details",  # §7.2.2.3
        "contract_start": "include_service_contract_details",
        "contract_end": "include_service_contract_details",
        "service_programs": "include_service_programs",  # §7.2.2.4
    },
    POINTS: {
        "premises": "include_premises",  # §7.2.3.1
        "servicepoint_address": "include_service_point_addresses",  # §7.2.3.2
        "latitude": "include_coordinates",  # §7.2.3.3
        "longitude": "include_coordinates",
    },
    METERS: {
        "meter_number": "include_meter_numbers",  # §7.2.4.1
        "meter_apps": "include_meter_apps",  # §7.2.4.2
    },
    STATEMENTS: {
        "account_number": "include_account_numbers",  # §7.2.1.1 (REQUIRED in §10.5.1)
        "file_uri": "include_bill_statement_files",  # §7.2.5.1
        "file_mimetype": "include_bill_statement_files",  # goes with file_uri (§10.5.1)
        "previous_balance_amount": "include_bill_statement_charges",  # §7.2.5.2
        "previous_balance_paid": "include_bill_statement_charges",
        "previous_balance_unpaid": "include_bill_statement_charges",
        "new_charges_amount": "include_bill_statement_charges",
        "new_charges": "include_bill_statement_charges",
        "new_balance_amount": "include_bill_statement_charges",
        "account_programs": "include_bill_statement_programs",  # §7.2.5.3
    },
    SECTIONS: {
        "account_number": "include_account_numbers",  # §7.2.1.1 (REQUIRED in §10.6.1)
        "line_items": "include_bill_section_line_items",  # §7.2.6.1
    },
    AGGREGATIONS: {"grouped_addresses": "include_aggregation_addresses"},  # §7.2.7.1
    USAGE: {},
    EACS: {},
}
GATED_REQUIRED: Final = {(STATEMENTS, "account_number"), (SECTIONS, "account_number")}
"""REQUIRED by §10.5.1/§10.6.1 yet listed by §7.2.1.1: present exactly with the flag."""

AGGREGATION_EXTRAS: Final = frozenset(
    {
        "countries",
        "provinces",
        "municipalities",
        "account_types",
        "account_program_numbers",
        "service_types",
        "service_program_numbers",
        "rateplan_code",
        "servicepoint_types",
        "premise_numbers",
        "meter_types",
        "meter_app_numbers",
    }
)
"""Fields §10.7.2 adds to Aggregations by type (REQUIRED for those types, not §7.2-gated)."""

RELATED: Final[dict[str, dict[str, str]]] = {
    ACCOUNTS: {"cds_account_parent": ACCOUNTS},
    CONTRACTS: {"cds_account_id": ACCOUNTS},
    POINTS: {"current_servicecontracts": CONTRACTS, "previous_servicecontracts": CONTRACTS},
    METERS: {"current_servicepoints": POINTS, "previous_servicepoints": POINTS},
    STATEMENTS: {"cds_account_id": ACCOUNTS},
    SECTIONS: {
        "cds_billstatement_id": STATEMENTS,
        "cds_account_id": ACCOUNTS,
        "related_servicecontracts": CONTRACTS,
        "related_servicepoints": POINTS,
        "related_meterdevices": METERS,
        "related_billsections": SECTIONS,
    },
    AGGREGATIONS: {
        "grouped_accounts": ACCOUNTS,
        "grouped_servicecontracts": CONTRACTS,
        "grouped_servicepoints": POINTS,
        "grouped_meterdevices": METERS,
        "grouped_aggregations": AGGREGATIONS,
    },
    USAGE: {
        "related_aggregations": AGGREGATIONS,
        "related_accounts": ACCOUNTS,
        "related_servicecontracts": CONTRACTS,
        "related_servicepoints": POINTS,
        "related_meterdevices": METERS,
        "related_billsections": SECTIONS,
    },
    EACS: {},
}

# Filter parameters (§10.x listing sections) and the class of value each takes.
FILTERS: Final[dict[str, dict[str, str]]] = {
    ACCOUNTS: {
        "cds_account_ids": "account_id",
        "customer_numbers": "customer_number",
        "account_numbers": "account_number",
    },
    CONTRACTS: {
        "cds_servicecontract_ids": "contract_id",
        "account_numbers": "account_number",
        "contract_numbers": "contract_number",
    },
    POINTS: {
        "cds_servicepoint_ids": "point_id",
        "servicepoint_numbers": "point_number",
        "current_servicecontracts": "contract_id",
        "previous_servicecontracts": "contract_id",
    },
    METERS: {
        "cds_meterdevice_ids": "meter_id",
        "meter_number": "meter_number",
        "meter_numbers": "meter_number",
        "current_servicepoints": "point_id",
        "previous_servicepoints": "point_id",
    },
    STATEMENTS: {
        "cds_billstatement_ids": "statement_id",
        "cds_account_ids": "account_id",
        "account_numbers": "account_number",
    },
    SECTIONS: {
        "cds_billsection_ids": "section_id",
        "cds_billstatement_ids": "statement_id",
        "cds_account_ids": "account_id",
        "account_numbers": "account_number",
        "cds_servicecontract_ids": "contract_id",
        "contract_numbers": "contract_number",
    },
    AGGREGATIONS: {
        "cds_aggregation_ids": "aggregation_id",
        "aggregation_numbers": "aggregation_number",
    },
    USAGE: {
        "cds_usagesegment_ids": "segment_id",
        "cds_account_ids": "account_id",
        "account_numbers": "account_number",
        "cds_servicecontract_ids": "contract_id",
        "contract_numbers": "contract_number",
        "cds_servicepoint_ids": "point_id",
        "servicepoint_numbers": "point_number",
        "cds_meterdevice_ids": "meter_id",
        "meter_numbers": "meter_number",
        "cds_billsection_ids": "section_id",
    },
    EACS: {
        "cds_eac_ids": "eac_id",
        "eac_numbers": "eac_number",
        "beneficiaries": "beneficiary",
    },
}
ENUMS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    ACCOUNTS: {"account_statuses": ("active", "suspended", "closed", "unknown")},
    CONTRACTS: {
        "contract_statuses": ("active", "paused", "stopped", "closed", "unknown"),
        "contract_types": ("utility_service", "project", "billed_monthly", "billed_quarterly"),
        "service_types": ("electric", "water", "natural_gas", "residential", "commercial"),
    },
    AGGREGATIONS: {"aggregation_types": ("public", "listed", "confidential", "building")},
}
SEARCHED: Final[dict[str, tuple[str, ...]]] = {
    ACCOUNTS: ("account_id", "customer_number", "account_number"),
    CONTRACTS: ("contract_id", "account_number", "contract_number"),
    POINTS: ("point_id", "point_number"),
    METERS: ("meter_id", "meter_number"),
    AGGREGATIONS: ("aggregation_id", "aggregation_number"),
}
"""The value classes drawn for `q` (§10.1.10 ... §10.7.8) on the APIs that take it."""
DAYS: Final = ("2024-09-15", "2024-11-30", "2025-01-01", "2025-02-14", "2025-04-30")
DATED: Final = (STATEMENTS, SECTIONS)
TIMED: Final = (USAGE, EACS)


@dataclass
class Holdings:
    """One Customer's records (or several Customers' together), read straight from the tables."""

    objects: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    values: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    periods: dict[str, list[tuple[datetime, datetime | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    beneficiaries: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """Stored beneficiary record ids per `beneficiary_type` that are this Customer's."""

    def __or__(self, other: Holdings) -> Holdings:
        out = Holdings()
        for mine, theirs, into in (
            (self.objects, other.objects, out.objects),
            (self.values, other.values, out.values),
            (self.beneficiaries, other.beneficiaries, out.beneficiaries),
        ):
            for key in set(mine) | set(theirs):
                into[key] = set(mine.get(key, set())) | set(theirs.get(key, set()))
        for key in set(self.periods) | set(other.periods):
            out.periods[key] = [*self.periods.get(key, []), *other.periods.get(key, [])]
        return out

    def covers(self, meter_id: str, start: datetime, end: datetime) -> bool:
        """Whether [start, end] lies inside the merged periods the meter measured this Customer."""
        merged: list[list[Any]] = []
        for s, e in sorted(self.periods.get(meter_id, []), key=lambda p: p[0]):
            if merged and (merged[-1][1] is None or s <= merged[-1][1]):
                if merged[-1][1] is not None and (e is None or e > merged[-1][1]):
                    merged[-1][1] = e
                continue
            merged.append([s, e])
        return any(s <= start and (e is None or end <= e) for s, e in merged)


@dataclass
class Truth:
    customers: dict[str, Holdings]
    usernames: dict[str, str]
    everything: Holdings
    numbers_of_accounts: dict[str, str]
    """account_number -> customer id."""


def _utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def _holdings(session: Session, customer: Customer, tz: ZoneInfo) -> Holdings:
    h = Holdings()
    own = list(session.scalars(select(Account).where(Account.customer_id == customer.id)))
    accounts = {a.id for a in own}
    parents = {a.parent_id for a in own if a.parent_id}
    h.objects[ACCOUNTS] = accounts | parents
    contracts = list(
        session.scalars(select(ServiceContract).where(ServiceContract.account_id.in_(accounts)))
    )
    contract_ids = {c.id for c in contracts}
    h.objects[CONTRACTS] = contract_ids
    links = list(
        session.scalars(
            select(ServicePointContract).where(ServicePointContract.contract_id.in_(contract_ids))
        )
    )
    point_ids = {link.service_point_id for link in links}
    h.objects[POINTS] = point_ids
    installs = list(
        session.scalars(
            select(MeterInstallation).where(MeterInstallation.service_point_id.in_(point_ids))
        )
    )
    h.objects[METERS] = {i.meter_id for i in installs}
    for link in links:
        for i in installs:
            if i.service_point_id != link.service_point_id:
                continue
            start = max(link.start, i.start)
            ends = [e for e in (link.end, i.end) if e is not None]
            end = min(ends) if ends else None
            if end is None or end > start:
                h.periods[i.meter_id].append(
                    (_utc(start, tz), None if end is None else _utc(end, tz))
                )
    h.objects[STATEMENTS] = set(
        session.scalars(select(BillStatement.id).where(BillStatement.account_id.in_(accounts)))
    )
    h.objects[SECTIONS] = set(
        session.scalars(select(BillSection.id).where(BillSection.account_id.in_(accounts)))
    )
    members = accounts | contract_ids | point_ids | h.objects[METERS]
    h.objects[AGGREGATIONS] = {
        m.aggregation_id
        for m in session.scalars(select(AggregationMember))
        if {m.account_id, m.contract_id, m.service_point_id, m.meter_id} & members
    }
    plans = {c.rate_plan_id for c in contracts if c.rate_plan_id}
    programs = set(
        session.scalars(
            select(Participation.program_id).where(
                Participation.account_id.in_(accounts) | Participation.contract_id.in_(contract_ids)
            )
        )
    )
    h.beneficiaries.update(
        customer={customer.id},
        account=accounts,
        servicecontract=contract_ids,
        rateplan=plans,
        program=programs,
    )
    h.objects[EACS] = {
        e.id
        for e in session.scalars(select(EnergyAttributeCertificate))
        if e.beneficiary_type == "general"
        or set(e.beneficiaries) & h.beneficiaries.get(e.beneficiary_type, set())
    }
    v = h.values
    v["account_id"] = h.objects[ACCOUNTS]
    v["account_number"] = set(
        session.scalars(select(Account.account_number).where(Account.id.in_(h.objects[ACCOUNTS])))
    )
    v["customer_number"] = {customer.customer_number} if customer.customer_number else set()
    v["contract_id"] = contract_ids
    v["contract_number"] = {c.contract_number for c in contracts if c.contract_number}
    v["point_id"] = point_ids
    v["point_number"] = {
        n
        for n in session.scalars(
            select(ServicePoint.servicepoint_number).where(ServicePoint.id.in_(point_ids))
        )
        if n
    }
    v["meter_id"] = h.objects[METERS]
    v["meter_number"] = {
        n
        for n in session.scalars(
            select(MeterDevice.meter_number).where(MeterDevice.id.in_(h.objects[METERS]))
        )
        if n
    }
    v["statement_id"] = h.objects[STATEMENTS]
    v["section_id"] = h.objects[SECTIONS]
    v["aggregation_id"] = h.objects[AGGREGATIONS]
    v["aggregation_number"] = {
        n
        for n in session.scalars(
            select(Aggregation.aggregation_number).where(
                Aggregation.id.in_(h.objects[AGGREGATIONS])
            )
        )
        if n
    }
    v["segment_id"] = {f"{m}-900-20241015" for m in h.objects[METERS]}
    v["eac_id"] = {e for e in h.objects[EACS]}
    v["eac_number"] = {
        n
        for e in session.scalars(
            select(EnergyAttributeCertificate).where(
                EnergyAttributeCertificate.id.in_(h.objects[EACS])
            )
        )
        for n in e.eac_numbers
    }
    v["rateplan_code"] = set(session.scalars(select(RatePlan.code).where(RatePlan.id.in_(plans))))
    v["program_number"] = set(
        session.scalars(select(Program.program_number).where(Program.id.in_(programs)))
    )
    v["beneficiary"] = (
        accounts | contract_ids | v["customer_number"] | v["rateplan_code"] | v["program_number"]
    )
    return h


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    # Each example asks the token endpoint once; the default 60 per minute per client would
    # refuse the later ones (the limit itself is tested in tests/oauth/test_rate_limit.py).
    roomy = demo.settings.model_copy(
        update={"rate_limit_per_client": 10_000, "rate_limit_per_address": 10_000}
    )
    yield data_world(SmallDemo(demo.engine, roomy, demo.summary), [*CONSENT_SCOPES, *EAC_SCOPES])


@pytest.fixture(scope="module")
def truth(world: DataWorld) -> Truth:
    tz = world.demo.settings.tz
    with world.session() as session:
        customers = list(
            session.scalars(select(Customer).where(Customer.id.in_(select(Account.customer_id))))
        )
        held = {c.id: _holdings(session, c, tz) for c in customers}
        usernames = {c.username: c.id for c in customers if c.username in PASSWORDS}
        numbers = {
            number: customer_id
            for number, customer_id in session.execute(
                select(Account.account_number, Account.customer_id)
            )
        }
    everything = Holdings()
    for h in held.values():
        everything = everything | h
    return Truth(held, usernames, everything, numbers)


@pytest.fixture(scope="module")
def catalogue(world: DataWorld) -> Catalogue:
    return load_catalogue(world.demo.settings)


IMPLIED: Final[Mapping[str, tuple[str, ...]]] = {
    **consent_scopes.IMPLIED,
    **direct_scopes.IMPLIED,
}


def _granted(catalogue: Catalogue, entries: list[dict[str, Any]]) -> set[str]:
    """Every `include_*` flag the Grant holds: the scopes' implied ones and those set true."""
    granted: set[str] = set()
    for entry in entries:
        flags = set(IMPLIED.get(catalogue.scopes[entry["type"]].type, ()))
        flags |= {k for k, v in entry.items() if k.startswith("include_") and v is True}
        if {"include_service_contracts", "include_meter_devices"} <= flags:
            flags.add("include_service_points")  # §7.2.2, §7.2.4: within one scope's entry
        granted |= flags
    return granted


def _boolean_includes(catalogue: Catalogue, scope_id: str) -> list[str]:
    return sorted(
        f.id
        for f in catalogue.scopes[scope_id].authorization_details_fields_supported
        if f.id.startswith("include_") and f.format == "boolean"
    )


def _field(catalogue: Catalogue, scope_id: str, field_id: str) -> Any:
    return next(
        (
            f
            for f in catalogue.scopes[scope_id].authorization_details_fields_supported
            if f.id == field_id
        ),
        None,
    )


def _draw_entry(data: st.DataObject, catalogue: Catalogue, scope_id: str) -> dict[str, Any]:
    """Random include flags (each set true or false), durations reaching back into the demo's
    months or left at their defaults, a selection type and value types where the scope offers
    them."""
    entry: dict[str, Any] = {"type": scope_id}
    chosen = data.draw(
        st.lists(st.sampled_from(_boolean_includes(catalogue, scope_id)), unique=True),
        label=f"{scope_id} flags",
    )
    for flag in chosen:
        entry[flag] = data.draw(st.booleans(), label=flag)
    for name, early in (
        ("segment_start", ("2024-01-01T00:00:00Z", "2025-01-15T08:00:00Z")),
        ("start_date", ("2024-01-01", "2025-01-01")),
        ("statement_date_start", ("2024-01-01", "2025-02-01")),
    ):
        if _field(catalogue, scope_id, name) is not None:
            value = data.draw(st.sampled_from((None, *early)), label=name)
            if value is not None:
                entry[name] = value
    selection = _field(catalogue, scope_id, "authorization_form_selection_type")
    if selection is not None and len(selection.choices) > 1:
        entry["authorization_form_selection_type"] = data.draw(
            st.sampled_from([c.id for c in selection.choices]), label="selection type"
        )
    types = _field(catalogue, scope_id, "include_usage_segment_value_types")
    if types is not None:
        ids = [c.id for c in types.choices]
        value_types = data.draw(
            st.one_of(st.just("default"), st.none(), st.lists(st.sampled_from(ids), unique=True)),
            label="value types",
        )
        if value_types != "default":
            entry["include_usage_segment_value_types"] = value_types
    return entry


@dataclass
class Seen:
    """What the token's unfiltered listings show, by kind (empty for a 403)."""

    objects: dict[str, dict[str, dict[str, Any]]]
    enabled: set[str]

    def ids(self, kind: str) -> set[str]:
        return set(self.objects.get(kind, {}))


def _list_everything(world: DataWorld, token: str, granted: set[str]) -> Seen:
    objects: dict[str, dict[str, dict[str, Any]]] = {}
    enabled: set[str] = set()
    for kind, api in APIS.items():
        answer = world.get(api.url, token)
        if api.include not in granted:
            # "403 or empty" (docs/spec-decisions.md): no scope or flag gives this kind.
            assert answer.status_code == 403, (kind, answer.text)
            objects[kind] = {}
            continue
        assert answer.status_code == 200, (kind, answer.text)
        enabled.add(kind)
        listed = world.every_page(api.url, token, api.listing)
        by_id = {o[api.id_field]: o for o in listed}
        assert len(by_id) == len(listed), f"{kind}: an object listed twice"
        objects[kind] = by_id
    return Seen(objects, enabled)


def _check_object(
    kind: str,
    obj: dict[str, Any],
    holdings: Holdings,
    granted: set[str],
    seen: Seen,
    value_types: list[str] | str | None,
) -> None:
    object_id = obj[APIS[kind].id_field]
    # WG3-7.2-a: the object is one of the Customer's records.
    if kind == USAGE:
        meter_id = object_id.split("-")[0]
        assert meter_id in holdings.objects[METERS], f"usage of another meter: {object_id}"
        start = datetime.fromisoformat(obj["segment_start"])
        end = datetime.fromisoformat(obj["segment_end"])
        assert holdings.covers(meter_id, start, end), f"usage outside the service: {object_id}"
    else:
        assert object_id in holdings.objects[kind], f"{kind} {object_id} is not the Customer's"
    # Fields: REQUIRED present, OPTIONAL only when gated by a held flag, nothing undefined.
    allowed = REQUIRED[kind] | {f for f, flag in OPTIONAL[kind].items() if flag in granted}
    if kind == AGGREGATIONS:
        allowed |= AGGREGATION_EXTRAS
    keys = set(obj)
    assert keys <= allowed, f"{kind} {object_id} shows {sorted(keys - allowed)}"
    assert REQUIRED[kind] <= keys, f"{kind} {object_id} lacks {sorted(REQUIRED[kind] - keys)}"
    for gated_kind, name in GATED_REQUIRED:
        if gated_kind == kind:
            assert (name in keys) == (OPTIONAL[kind][name] in granted), (kind, name)
    # Related ids: only ones the token's own listing of that kind shows.
    for name, target in RELATED[kind].items():
        value = obj[name]
        named = {value} if isinstance(value, str) else set(value or ())
        hidden = named - seen.ids(target)
        assert not hidden, f"{kind} {object_id}.{name} names unreachable {sorted(hidden)}"
    _check_nested(kind, obj, holdings, granted, seen, value_types)


def _check_nested(
    kind: str,
    obj: dict[str, Any],
    holdings: Holdings,
    granted: set[str],
    seen: Seen,
    value_types: list[str] | str | None,
) -> None:
    if kind == ACCOUNTS and "customer_number" in obj and obj["customer_number"] is not None:
        assert obj["customer_number"] in holdings.values["customer_number"]
    if kind == STATEMENTS:
        for charge in obj.get("new_charges", []):
            if "related_billsections" in charge:
                assert SECTIONS in seen.enabled  # §10.5.2: only with Bill Section access
                assert set(charge["related_billsections"]) <= seen.ids(SECTIONS)
    if kind == USAGE:
        format_ids = {f["id"] for f in obj["formats"]}
        if value_types is None:  # WG3-7.2.8.1-b
            assert obj["formats"] == [] and obj["values"] == []
        elif isinstance(value_types, list):  # WG3-7.2.8.1-c
            assert format_ids <= set(value_types), (format_ids, value_types)
        named: set[str] = set()
        _collect(obj["values"], "eacs", named)
        assert named <= seen.ids(EACS), f"supply mix names unreachable EACs {named}"
    if kind == EACS:
        visible = set(holdings.beneficiaries["account"]) | holdings.beneficiaries["servicecontract"]
        if "include_account_numbers" in granted:
            visible |= holdings.values["customer_number"]
        if "include_rate_plans" in granted:
            visible |= holdings.values["rateplan_code"]
        if granted & {"include_account_programs", "include_service_programs"}:
            visible |= holdings.values["program_number"]
        shown = set(obj["beneficiaries"])
        assert shown <= visible, f"EAC {obj['cds_eac_id']} shows {sorted(shown - visible)}"
        if obj["beneficiary_type"] == "general":
            assert shown == set()


def _collect(node: Any, key: str, into: set[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, list):
                into |= {str(x) for x in v}
            else:
                _collect(v, key, into)
    elif isinstance(node, list):
        for item in node:
            _collect(item, key, into)


def _filter_strategy(
    kind: str, mine: Holdings, others: Holdings
) -> st.SearchStrategy[tuple[dict[str, str], bool]]:
    """One request's filters, and whether every id/number it names is another Customer's."""

    @st.composite
    def build(draw: Callable[..., Any]) -> tuple[dict[str, str], bool]:
        choices: list[str] = list(FILTERS[kind])
        choices += list(ENUMS.get(kind, {}))
        if kind in SEARCHED:
            choices.append("q")
        if kind in DATED or kind in TIMED:
            choices += ["before", "after"]
        names = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=2, unique=True))
        params: dict[str, str] = {}
        foreign = False
        for name in names:
            if name in FILTERS[kind]:
                value_class = FILTERS[kind][name]
                own = sorted(mine.values.get(value_class, set()))
                theirs = sorted(others.values.get(value_class, set()) - set(own))
                if not own and not theirs:
                    continue
                only_theirs = bool(theirs) and draw(st.booleans())
                pool = theirs if only_theirs else own + theirs
                values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
                params[name] = " ".join(values)
                foreign = foreign or only_theirs
            elif name in ENUMS.get(kind, {}):
                values = draw(
                    st.lists(
                        st.sampled_from(ENUMS[kind][name]), min_size=1, max_size=2, unique=True
                    )
                )
                params[name] = " ".join(values)
            elif name == "q":
                value_class = draw(st.sampled_from(SEARCHED[kind]))
                pool = sorted(mine.values.get(value_class, set()) | others.values[value_class])
                if not pool:
                    continue
                whole = draw(st.sampled_from(pool))
                cut = draw(st.integers(min_value=0, max_value=max(0, len(whole) - 3)))
                params["q"] = whole[cut : cut + 6].lower()
            else:
                day = draw(st.sampled_from(DAYS))
                params[name] = day if kind in DATED else f"{day}T00:00:00Z"
        return params, foreign

    return build()


def _check_filtered(
    world: DataWorld,
    token: str,
    kind: str,
    params: dict[str, str],
    foreign: bool,
    seen: Seen,
) -> None:
    api = APIS[kind]
    found = world.every_page(api.url, token, api.listing, **params)
    unfiltered = seen.objects[kind]
    for obj in found:
        object_id = obj[api.id_field]
        # A filter never widens access (WG3-7.2-a): every result is in the unfiltered listing.
        assert object_id in unfiltered, f"{kind} filter {params} returned {object_id}"
        assert obj == unfiltered[object_id], f"{kind} {object_id} differs under {params}"
    if foreign:
        # Naming only other Customers' ids or numbers finds nothing of theirs (or anything).
        assert found == [], f"{kind} filter {params} found {len(found)}"
    if set(params) == {_id_filter(kind)} and not foreign:
        wanted = set(params[_id_filter(kind)].split())
        assert {o[api.id_field] for o in found} == wanted & set(unfiltered), params
    for name, day in params.items():
        if name not in ("before", "after") or kind not in DATED:
            continue
        for obj in found:
            value = obj["statement_date"] if kind == STATEMENTS else None
            if kind == SECTIONS:
                value = obj["start_date"] if name == "before" else obj["end_date"]
            assert value is not None
            assert (value <= day) if name == "before" else (value >= day), (name, day, value)


def _id_filter(kind: str) -> str:
    return next(iter(FILTERS[kind]))


def _exercise(
    world: DataWorld,
    data: st.DataObject,
    token: str,
    entries: list[dict[str, Any]],
    catalogue: Catalogue,
    mine: Holdings,
    others: Holdings,
    filters_per_api: int,
) -> None:
    granted = _granted(catalogue, entries)
    seen = _list_everything(world, token, granted)
    usage_entries = [e for e in entries if "include_usage_segment_value_types" in e]
    value_types: list[str] | str | None = "any"
    if len(usage_entries) == 1 and len(entries) == 1:
        value_types = usage_entries[0]["include_usage_segment_value_types"]
    for kind, objects in seen.objects.items():
        for obj in objects.values():
            _check_object(kind, obj, mine, granted, seen, value_types)
    for kind in sorted(seen.enabled):
        for _ in range(filters_per_api):
            params, foreign = data.draw(_filter_strategy(kind, mine, others), label=f"{kind} q")
            if params:
                _check_filtered(world, token, kind, params, foreign, seen)


def _others(truth: Truth, customer_ids: set[str]) -> Holdings:
    out = Holdings()
    for customer_id, h in truth.customers.items():
        if customer_id not in customer_ids:
            out = out | h
    return out


@pytest.mark.req(
    "WG3-6-b",
    "WG3-7.2-a",
    "WG3-7.2-b",
    "WG3-7.2.1-b",
    "WG3-7.2.1.1-a",
    "WG3-7.2.2-c",
    "WG3-7.2.4-b",
    "WG3-7.2.8.1-b",
    "WG3-7.2.8.1-c",
    "WG3-10.3.1-a",
    "WG3-10.4.1-a",
    "WG3-10.6.1-a",
    "WG3-10.8.1-c",
    "WG3-10.1.10-b",
    "WG3-10.2.7-b",
    "WG3-10.3.5-b",
    "WG3-10.4.5-b",
    "WG3-10.5.4-b",
    "WG3-10.6.9-b",
    "WG3-10.7.8-b",
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_customer_token_shows_only_their_records_and_the_fields_its_flags_allow(
    world: DataWorld, truth: Truth, catalogue: Catalogue, data: st.DataObject
) -> None:
    username = data.draw(st.sampled_from(sorted(truth.usernames)), label="customer")
    scopes = data.draw(
        st.lists(st.sampled_from(CONSENT_SCOPES), min_size=1, max_size=2, unique=True),
        label="scopes",
    )
    details = [_draw_entry(data, catalogue, scope_id) for scope_id in scopes]

    def choose(ticks: list[tuple[str, str]]) -> list[tuple[str, str]]:
        by_scope: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for tick in ticks:
            by_scope[tick[0]].append(tick)
        # A form offering nothing to tick (e.g. aggregation_selection for a Customer in no
        # Aggregation) can only be declined: no token to test.
        assume(all(f"select.{scope_id}" in by_scope for scope_id in scopes))
        picked: list[tuple[str, str]] = []
        for name in sorted(by_scope):
            picked += data.draw(
                st.lists(st.sampled_from(by_scope[name]), min_size=1, unique=True),
                label=f"ticked {name}",
            )
        return picked

    tokens = world.customer_token(username, " ".join(scopes), details, choose)
    entries = tokens["authorization_details"]
    # WG3-7.2-b: the Grant holds each flag as the request set it, true or false.
    for asked, held in zip(details, entries, strict=True):
        for name, value in asked.items():
            if name.startswith("include_") and isinstance(value, bool):
                assert held[name] is value, (name, asked, held)
    customer_id = truth.usernames[username]
    _exercise(
        world,
        data,
        tokens["access_token"],
        entries,
        catalogue,
        truth.customers[customer_id],
        _others(truth, {customer_id}),
        filters_per_api=2,
    )


@pytest.mark.req(
    "WG3-6.2-b",
    "WG3-7.2-a",
    "WG3-7.2.9-a",
    "WG3-10.9.2-b",
    "WG3-10.9.4-b",
)
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_direct_access_preselecting_one_customer_shows_only_their_records_and_eacs(
    world: DataWorld, truth: Truth, catalogue: Catalogue, data: st.DataObject
) -> None:
    customer_id = data.draw(st.sampled_from(sorted(truth.customers)), label="customer")
    mine = truth.customers[customer_id]
    own_numbers = sorted(
        n for n, owner in truth.numbers_of_accounts.items() if owner == customer_id
    )
    scope_id = data.draw(st.sampled_from(EAC_SCOPES), label="scope")
    entry: dict[str, Any] = {
        "type": scope_id,
        "account_numbers": data.draw(
            st.lists(st.sampled_from(own_numbers), min_size=1, unique=True), label="numbers"
        ),
        "include_eacs": True,
    }
    for flag in data.draw(
        st.lists(st.sampled_from(_boolean_includes(catalogue, scope_id)), unique=True),
        label="flags",
    ):
        if flag != "include_eacs":
            entry[flag] = data.draw(st.booleans(), label=flag)
    if _field(catalogue, scope_id, "segment_start") is not None:
        entry["segment_start"] = "2025-02-01T00:00:00Z"  # a month of usage keeps this quick
    tokens = world.direct_token(scope_id, [entry])
    _exercise(
        world,
        data,
        tokens["access_token"],
        tokens["authorization_details"],
        catalogue,
        mine,
        _others(truth, {customer_id}),
        filters_per_api=1,
    )


def test_the_oracle_can_fail(world: DataWorld, truth: Truth) -> None:
    """The checks reject another Customer's object and an ungated OPTIONAL field."""
    first, second = sorted(truth.customers)[:2]
    mine = truth.customers[first]
    theirs = next(iter(sorted(truth.customers[second].objects[ACCOUNTS] - mine.objects[ACCOUNTS])))
    seen = Seen({kind: {} for kind in APIS}, {ACCOUNTS})
    stranger = {
        "cds_account_id": theirs,
        "cds_created": "",
        "cds_modified": "",
        "cds_synced": "",
        "cds_account_parent": None,
    }
    with pytest.raises(AssertionError, match="not the Customer's"):
        _check_object(ACCOUNTS, stranger, mine, set(), seen, "any")
    own = next(iter(sorted(mine.objects[ACCOUNTS])))
    numbered = {**stranger, "cds_account_id": own, "account_number": "1"}
    with pytest.raises(AssertionError, match="account_number"):
        _check_object(ACCOUNTS, numbered, mine, {"include_account_details"}, seen, "any")
    _check_object(ACCOUNTS, numbered, mine, {"include_account_numbers"}, seen, "any")
    period = datetime(2024, 10, 1, tzinfo=UTC)
    assert not Holdings().covers("m", period, period + timedelta(days=1))
