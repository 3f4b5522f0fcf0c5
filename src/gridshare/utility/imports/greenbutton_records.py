"""The records a Green Button import writes beside usage (NAESB REQ.21 ESPI -> CDS-WG3-01).

A UsagePoint becomes a service point (CDS-WG3-01 §10.3) with a meter device installed there
(§10.4), numbered from the UsagePoint's identity so that importing the file again finds them, and
linked to no customer. A UsageSummary becomes a Bill Section (§10.6) of the service contract that
served the service point during the whole billing period, with its bill amount, additional charges
and line items (ESPI amounts are hundred-thousandths of the currency) and its consumption; without
such a contract it is skipped with a warning. A Bill Section the utility's own billing wrote is
never replaced.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gridshare.store.tables.accounts import Account
from gridshare.store.tables.bills import BillCostDetail, BillLineItem, BillSection, BillUsageDetail
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from gridshare.utility.imports import espi_codes
from gridshare.utility.imports.greenbutton_feed import (
    EARLIEST,
    LATEST,
    LONGEST,
    Measurement,
    Problem,
    SummaryEntry,
)

SECTION_PREFIX: Final = "gbsec_"
"""Bill Sections written by Green Button imports have ids starting so; others are the utility's."""
COST_SCALE: Final = -5
"""ESPI costs are integers in hundred-thousandths of the currency (DIGEST §9)."""


def digest(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=9).hexdigest()


def numbers_for(key: str) -> tuple[str, str]:
    """The service point and meter numbers a UsagePoint with this identity gets."""
    suffix = digest(f"greenbutton|{key}")[:16]
    return f"GB-{suffix}", f"GBM-{suffix}"


@dataclass(slots=True)
class PointPlan:
    """The service point and meter one UsagePoint maps to, and what the file says of them."""

    line: int
    servicepoint_number: str
    meter_number: str
    existing: bool
    """Mapped with --service-point onto records that exist: nothing is created or changed."""
    commodity: str | None = None
    meter_types: set[str] | None = None
    first_epoch: int | None = None
    """The earliest reading's start."""
    installed: date | None = None
    """With --service-point: when the meter was installed there."""

    def note_reading(self, epoch: int) -> None:
        if self.first_epoch is None or epoch < self.first_epoch:
            self.first_epoch = epoch


@dataclass(frozen=True, slots=True)
class PointCounts:
    service_points_created: int
    meters_created: int
    changed: int
    """Service points, meters and installations completed (types added, earlier start)."""


def ensure_points(session: Session, plans: list[PointPlan], tz: ZoneInfo) -> PointCounts:
    """Create (or complete) the service points, meters and installations the plans name."""
    points = meters = changed = 0
    for plan in plans:
        if plan.existing:
            continue
        point = session.scalars(
            select(ServicePoint).where(ServicePoint.servicepoint_number == plan.servicepoint_number)
        ).first()
        point_types = [plan.commodity] if plan.commodity else []
        if point is None:
            point = ServicePoint(
                id=f"gbsp_{digest(plan.servicepoint_number)}",
                servicepoint_number=plan.servicepoint_number,
                types=point_types,
            )
            session.add(point)
            points += 1
        elif not set(point_types) <= set(point.types):
            point.types = sorted({*point.types, *point_types})
            changed += 1
        meter = session.scalars(
            select(MeterDevice).where(MeterDevice.meter_number == plan.meter_number)
        ).first()
        meter_types = sorted(plan.meter_types or ())
        if meter is None:
            meter = MeterDevice(
                id=f"gbmtr_{digest(plan.meter_number)}",
                meter_number=plan.meter_number,
                types=meter_types,
            )
            session.add(meter)
            meters += 1
        elif not set(meter_types) <= set(meter.types):
            meter.types = sorted({*meter.types, *meter_types})
            changed += 1
        session.flush()
        first = (
            datetime.fromtimestamp(plan.first_epoch, tz).date()
            if plan.first_epoch is not None
            else datetime.now(tz).date()
        )
        installed = session.get(MeterInstallation, (meter.id, point.id))
        if installed is None:
            session.add(
                MeterInstallation(meter_id=meter.id, service_point_id=point.id, start=first)
            )
        elif first < installed.start:
            installed.start = first
            changed += 1
    session.flush()
    return PointCounts(points, meters, changed)


@dataclass(frozen=True, slots=True)
class SummaryPlan:
    """A UsageSummary and the service point its UsagePoint maps to."""

    summary: SummaryEntry
    servicepoint_number: str
    commodity: str | None


@dataclass(frozen=True, slots=True)
class SummaryCounts:
    """UsageSummaries written as Bill Sections, already so, and skipped (with why)."""

    written: int
    unchanged: int
    skipped: list[Problem]


def write_summaries(session: Session, plans: list[SummaryPlan], tz: ZoneInfo) -> SummaryCounts:
    """A Bill Section per summary whose service point a contract served; see the docstring."""
    written = unchanged = 0
    skipped: list[Problem] = []
    for plan in plans:
        outcome = _write_summary(session, plan, tz)
        if isinstance(outcome, Problem):
            skipped.append(outcome)
        elif outcome:
            written += 1
        else:
            unchanged += 1
    return SummaryCounts(written, unchanged, skipped)


def _skip(plan: SummaryPlan, why: str, expected: str) -> Problem:
    summary = plan.summary
    return Problem(
        summary.line, summary.name, f"{summary.named()} skipped: {why}", expected, fatal=False
    )


def _write_summary(session: Session, plan: SummaryPlan, tz: ZoneInfo) -> bool | Problem:
    """Write the summary's Bill Section: True if written, False if unchanged, else why not."""
    summary = plan.summary
    if summary.period is None or not _possible(summary.period):
        return _skip(
            plan,
            "it has no billingPeriod between 1900 and 2199",
            "a billingPeriod with start (epoch seconds) and a positive duration",
        )
    start, duration = summary.period
    first = datetime.fromtimestamp(start, tz).date()
    last = datetime.fromtimestamp(start + duration - 1, tz).date()
    span = f"{first} to {last}"
    contracts = _serving(session, plan.servicepoint_number, plan.commodity, first, last)
    if len(contracts) != 1:
        if not contracts:
            why = f"no service contract served service point {plan.servicepoint_number} from {span}"
        else:
            numbers = ", ".join(c.contract_number or c.id for c in contracts)
            why = f"service contracts {numbers} all served {plan.servicepoint_number} from {span}"
        return _skip(
            plan,
            why,
            "link the service point to the one contract that served it during the billing period "
            "(service_point_contracts), then import the file again",
        )
    contract = contracts[0]
    account = session.get(Account, contract.account_id)
    assert account is not None  # a foreign key
    currency = _currency(session, summary, contract)
    if currency is None:
        return _skip(
            plan,
            f"currency {summary.currency} is not an ISO 4217 code gridshare knows",
            f"one of {', '.join(f'{n} ({a})' for n, a in espi_codes.CURRENCIES.items())}",
        )
    theirs = session.scalars(
        select(BillSection.id).where(
            BillSection.contract_id == contract.id,
            BillSection.start_date <= last,
            BillSection.end_date >= first,
            ~BillSection.id.startswith(SECTION_PREFIX, autoescape=True),
        )
    ).first()
    if theirs is not None:
        return _skip(
            plan,
            f"contract {contract.contract_number or contract.id} already has Bill Section {theirs} "
            f"from the utility's billing for days within {span}",
            "nothing to do: the utility's own bill is kept",
        )
    section_id = f"{SECTION_PREFIX}{digest(f'{contract.id}|{start}|{duration}')}"
    wanted = _section(summary, plan.commodity, contract, account, currency, first, last)
    children = _children(section_id, summary, plan.commodity, first, last, tz)
    if not any(children):
        return _skip(
            plan,
            "it has no bill amount, additional cost or consumption gridshare can record",
            "billLastPeriod, costAdditionalLastPeriod or overallConsumptionLastPeriod",
        )
    stored = session.get(BillSection, section_id)
    if stored is not None and _state(session, stored) == (wanted, children):
        return False
    if stored is None:
        stored = BillSection(id=section_id, **wanted)
        session.add(stored)
    else:
        for name, value in wanted.items():
            setattr(stored, name, value)
        for table in (BillLineItem, BillCostDetail, BillUsageDetail):
            session.execute(delete(table).where(table.section_id == section_id))
    session.flush()
    usage, costs, items = children
    session.add_all(BillUsageDetail(section_id=section_id, **row) for row in usage)
    session.add_all(BillCostDetail(section_id=section_id, **row) for row in costs)
    session.add_all(BillLineItem(section_id=section_id, **row) for row in items)
    session.flush()
    return True


def _serving(
    session: Session, number: str, commodity: str | None, first: date, last: date
) -> list[ServiceContract]:
    """The contracts of `commodity` that served the service point on every day first..last."""
    query = (
        select(ServiceContract)
        .join(ServicePointContract, ServicePointContract.contract_id == ServiceContract.id)
        .join(ServicePoint, ServicePoint.id == ServicePointContract.service_point_id)
        .where(
            ServicePoint.servicepoint_number == number,
            ServicePointContract.start <= first,
            (ServicePointContract.end.is_(None)) | (ServicePointContract.end > last),
        )
        .order_by(ServiceContract.id)
    )
    found = list(session.scalars(query))
    if commodity is not None:
        found = [c for c in found if commodity in c.service_types]
    return found


def _currency(session: Session, summary: SummaryEntry, contract: ServiceContract) -> str | None:
    if summary.currency is not None:
        return espi_codes.CURRENCIES.get(summary.currency)
    plan = session.get(RatePlan, contract.rate_plan_id) if contract.rate_plan_id else None
    return plan.currency if plan is not None else "USD"


def _section(
    summary: SummaryEntry,
    commodity: str | None,
    contract: ServiceContract,
    account: Account,
    currency: str,
    first: date,
    last: date,
) -> dict[str, Any]:
    types = ["service_contract", *([commodity] if commodity else [])]
    types += ["distribution"] if contract.distribution_entity_id else []
    types += ["supply"] if contract.supply_entity_id else []
    return {
        "statement_id": None,
        "account_id": account.id,
        "account_number": account.account_number,
        "contract_id": contract.id,
        "section_types": types,
        "start_date": first,
        "end_date": last,
        "currency": currency,
        "distribution_entity_id": contract.distribution_entity_id,
        "supply_entity_id": contract.supply_entity_id,
        "related_section_ids": [],
    }


Rows = list[dict[str, Any]]


def _children(
    section_id: str,
    summary: SummaryEntry,
    commodity: str | None,
    first: date,
    last: date,
    tz: ZoneInfo,
) -> tuple[Rows, Rows, Rows]:
    """Usage details, cost details and line items, as rows without their section id."""
    usage: Rows = []
    for name, measurement, extra in (
        ("Total usage", summary.consumption, {}),
        ("Peak demand", summary.peak_demand, {"demand_type": "peak"}),
    ):
        converted = _quantity(measurement, commodity)
        if converted is not None:
            value, unit = converted
            usage.append(
                {
                    "name": name,
                    "types": [unit.kind],
                    "value": value,
                    "units": unit.units,
                    "start_date": first,
                    "end_date": last,
                    "details": extra,
                }
            )
    costs: Rows = []
    for name, amount, types in (
        ("Total charges", summary.bill_last_period, ["overall_total"]),
        ("Additional charges", summary.cost_additional, ["subtotal", "other"]),
    ):
        if amount is not None:
            costs.append({"name": name, "types": types, "cost": _money(amount)})
    items: Rows = []
    for item in summary.line_items:
        item_types = espi_codes.ITEM_KINDS.get(item.item_kind or 0)
        if item_types is None or item.amount is None:
            continue
        item_first, item_last = first, last
        if item.period is not None and _possible(item.period):
            item_first = datetime.fromtimestamp(item.period[0], tz).date()
            item_last = datetime.fromtimestamp(item.period[0] + item.period[1] - 1, tz).date()
        measured = _quantity(item.measurement, commodity)
        items.append(
            {
                "name": item.note or f"Additional charge {len(items) + 1}",
                "types": list(item_types),
                "start_date": item_first,
                "end_date": item_last,
                "cost": _money(item.amount),
                "value": None if measured is None else measured[0],
                "units": None if measured is None else measured[1].units,
                "rate": None if item.unit_cost is None else _money(item.unit_cost),
                "related_usage_detail_ids": [],
                "related_cost_detail_ids": [],
            }
        )
    for kind, rows in (("ud", usage), ("cd", costs), ("li", items)):
        for position, row in enumerate(rows):
            row["id"] = f"{section_id}_{kind}{position}"
            row["position"] = position
    return usage, costs, items


def _possible(period: tuple[int, int]) -> bool:
    """Whether a (start, duration) period lies within the times readings may have."""
    start, duration = period
    return EARLIEST <= start <= LATEST and 0 < duration <= LONGEST


def _quantity(
    measurement: Measurement | None, commodity: str | None
) -> tuple[Decimal, espi_codes.Unit] | None:
    if measurement is None or measurement.value is None or measurement.uom is None:
        return None
    owner = commodity or espi_codes.UOM_COMMODITY.get(measurement.uom)
    unit = espi_codes.UNITS.get((owner or "", measurement.uom))
    if unit is None:
        return None
    return _exact(Decimal(measurement.value).scaleb(measurement.multiplier + unit.shift)), unit


def _money(amount: int) -> Decimal:
    return _exact(Decimal(amount).scaleb(COST_SCALE))


def _exact(value: Decimal) -> Decimal:
    """The value without trailing zeros after the point (152.52000 -> 152.52, 15.000 -> 15)."""
    return value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()


def _state(
    session: Session, section: BillSection
) -> tuple[dict[str, Any], tuple[Rows, Rows, Rows]]:
    """A stored section in the shape `_section` and `_children` build."""
    fields = {name: getattr(section, name) for name in _SECTION_FIELDS}
    children = []
    for table, names in (
        (BillUsageDetail, _USAGE_FIELDS),
        (BillCostDetail, _COST_FIELDS),
        (BillLineItem, _ITEM_FIELDS),
    ):
        stored = session.scalars(
            select(table).where(table.section_id == section.id).order_by(table.position)
        )
        children.append([{name: getattr(row, name) for name in names} for row in stored])
    return fields, (children[0], children[1], children[2])


_SECTION_FIELDS = (
    "statement_id",
    "account_id",
    "account_number",
    "contract_id",
    "section_types",
    "start_date",
    "end_date",
    "currency",
    "distribution_entity_id",
    "supply_entity_id",
    "related_section_ids",
)
_USAGE_FIELDS = (
    "name",
    "types",
    "value",
    "units",
    "start_date",
    "end_date",
    "details",
    "id",
    "position",
)
_COST_FIELDS = ("name", "types", "cost", "id", "position")
_ITEM_FIELDS = (
    "name",
    "types",
    "start_date",
    "end_date",
    "cost",
    "value",
    "units",
    "rate",
    "related_usage_detail_ids",
    "related_cost_detail_ids",
    "id",
    "position",
)
