"""Monthly bills: a statement per billed account for every calendar month of the history
(CDS-WG3-01 §10.5) with a section per service contract (§10.6), priced by `utility.tariffs` from
the usage the contract's meters recorded in the section's days.

- A contract supplied by DG&E gets one section (distribution and supply). A contract supplied by
  the community choice aggregator gets two that name each other in `related_section_ids`: DG&E's
  delivery section and the aggregator's generation section.
- A parent account's statement carries its child accounts' contract sections plus one
  `sub_account` section per child summing them (§10.6.2); children get no statements.
- New charges: one `*_total` per contract section (its overall total) and a `program` credit for
  the low-income discount. `amount_due` = `previous_balance_unpaid` + the new charges, exactly
  (§10.5.1); payments follow each account's habit (prompt, partial or sporadic).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from gridshare.demo.catalog import LOW_INCOME_DISCOUNT
from gridshare.demo.ids import Ids
from gridshare.demo.population import Plan
from gridshare.demo.readings import Readings, Recorded
from gridshare.demo.timeline import months
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import ServicePointContract
from gridshare.utility.tariffs import (
    COMMODITIES,
    COMPONENTS,
    IntervalUsage,
    SectionCharges,
    Tariff,
    bill_section,
    money,
    parse_tariff,
)

CURRENCY = "USD"
DAYS_TO_PAY = 21
TOTAL_TYPES = {
    "electric": "electric_total",
    "natural_gas": "natural_gas_total",
    "water": "water_total",
}
NOUN = {"electric": "electric", "natural_gas": "gas", "water": "water"}
Row = dict[str, Any]


@dataclass
class BillRows:
    """Rows for the bill tables, ready for bulk inserts."""

    statements: list[Row] = field(default_factory=list)
    new_charges: list[Row] = field(default_factory=list)
    sections: list[Row] = field(default_factory=list)
    usage_details: list[Row] = field(default_factory=list)
    cost_details: list[Row] = field(default_factory=list)
    line_items: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class _Charge:
    """A contract section's contribution to its statement."""

    section_id: str
    account: Account
    contract: ServiceContract
    commodity: str
    name: str
    charges: SectionCharges


@dataclass(frozen=True)
class _Part:
    """One section of a contract's bill: which charges, which entities."""

    key: str
    components: tuple[str, ...]
    types: list[str]
    distributor: str | None
    supplier: str | None
    label: str


@dataclass(frozen=True)
class _Where:
    """Where a section sits: its statement, account, contract and days."""

    section_id: str
    statement_id: str
    account: Account
    contract_id: str
    first: date
    last: date


@dataclass(frozen=True)
class _ContractUsage:
    usage: IntervalUsage
    flows: dict[str, IntervalUsage] | None
    demand: IntervalUsage | None
    meter_reads: tuple[Decimal, Decimal] | None


def _last_day(end: date | None) -> date | None:
    """The last day of a window whose `end` is exclusive."""
    return None if end is None else end - timedelta(days=1)


class Biller:
    """Bills one billed account at a time, from the readings of its (and its children's) sites."""

    def __init__(self, plan: Plan, seed: int):
        self.plan = plan
        self.seed = seed
        self.ids = Ids(seed)
        self.periods = months(plan.first, plan.last)
        self.readings = Readings({})
        self.rows = BillRows()
        catalog = plan.catalog
        self.dge, self.cca = catalog.dge, catalog.cca
        self.tariffs: dict[str, Tariff] = {
            p.id: parse_tariff(p.tariff) for p in catalog.rate_plans.values()
        }
        self.links: dict[str, list[ServicePointContract]] = defaultdict(list)
        for link in plan.point_contracts:
            self.links[link.contract_id].append(link)
        self.installs: dict[str, list[MeterInstallation]] = defaultdict(list)
        for install in plan.installations:
            self.installs[install.service_point_id].append(install)
        self.children: dict[str, list[Account]] = defaultdict(list)
        for account in plan.accounts:
            if account.parent_id:
                self.children[account.parent_id].append(account)
        self.contracts: dict[str, list[ServiceContract]] = defaultdict(list)
        for contract in plan.contracts:
            self.contracts[contract.account_id].append(contract)
        self.discounted = [
            p for p in plan.participations if p.program_id == catalog.low_income.id and p.start
        ]

    def bill(self, account: Account, readings: Readings) -> BillRows:
        """Every monthly statement of `account` (not a child account), as rows."""
        assert account.parent_id is None, "child accounts are billed through their parent"
        self.readings, self.rows = readings, BillRows()
        payer = self.plan.payers[account.id]
        rng = random.Random(f"demo:{self.seed}:payments:{account.id}")
        balance = paid = Decimal(0)
        overdue = False
        for start, end in self.periods:
            due = self.statement(account, start, end, balance, paid, overdue)
            if due is None:
                continue
            overdue = balance - paid > 0
            balance, paid = due, _payment(payer, due, rng)
        return self.rows

    def statement(
        self,
        account: Account,
        start: date,
        end: date,
        previous: Decimal,
        paid: Decimal,
        overdue: bool,
    ) -> Decimal | None:
        """Write one statement; returns its amount due (None when nothing was billed)."""
        statement_id = self.ids("stmt", account.id, start)
        charges: list[_Charge] = []
        for member in (account, *self.children[account.id]):
            member_charges = []
            for contract in self.contracts[member.id]:
                member_charges += self.contract_sections(statement_id, member, contract, start, end)
            if member is not account and member_charges:
                self.sub_account_section(statement_id, member, start, end, member_charges)
            charges += member_charges
        if not charges:
            return None
        new_charges: list[tuple[str, list[str], Decimal, list[str]]] = []
        for charge in charges:
            name = charge.name
            if charge.account is not account:
                name = f"{charge.account.name}: {name}"
            types = [TOTAL_TYPES[charge.commodity]]
            new_charges.append((name, types, charge.charges.total, [charge.section_id]))
        discount = self.discount(account, start, end, charges)
        if discount:
            percent = f"{Decimal(LOW_INCOME_DISCOUNT) * 100:.0f}%"
            name = f"{self.plan.catalog.low_income.name} ({percent})"
            new_charges.append((name, ["program"], discount, []))
        for position, (name, types, amount, related) in enumerate(new_charges):
            self.rows.new_charges.append(
                {
                    "id": self.ids("chg", statement_id, position),
                    "statement_id": statement_id,
                    "position": position,
                    "name": name,
                    "types": types,
                    "amount": amount,
                    "included_in_amount_due": True,
                    "related_section_ids": related,
                }
            )
        unpaid = previous - paid
        new_total = sum((amount for _, _, amount, _ in new_charges), Decimal(0))
        amount_due = unpaid + new_total
        statement_date = end + timedelta(days=1)
        due_date = statement_date + timedelta(days=DAYS_TO_PAY)
        shutoff = unpaid > 0 and overdue
        self.rows.statements.append(
            {
                "id": statement_id,
                "account_id": account.id,
                "account_number": account.account_number,
                "statement_date": statement_date,
                "currency": CURRENCY,
                "file_uri": None,
                "file_mimetype": None,
                "previous_balance_amount": previous,
                "previous_balance_paid": paid,
                "previous_balance_unpaid": unpaid,
                "new_charges_amount": new_total,
                "new_balance_amount": amount_due,
                "amount_due": amount_due,
                "amount_due_date": due_date,
                "shutoff_prevention_minimum_due": unpaid if shutoff else None,
                "shutoff_prevention_date": due_date if shutoff else None,
            }
        )
        return amount_due

    def discount(self, account: Account, start: date, end: date, charges: list[_Charge]) -> Decimal:
        """The low-income credit (negative) when the account took part all month."""
        for participation in self.discounted:
            if participation.account_id != account.id or participation.start is None:
                continue
            if participation.start <= start and (
                participation.end is None or participation.end > end
            ):
                eligible = sum(
                    (c.charges.total for c in charges if c.commodity != "water"), Decimal(0)
                )
                return -money(Decimal(LOW_INCOME_DISCOUNT) * max(eligible, Decimal(0)))
        return Decimal(0)

    def contract_sections(
        self,
        statement_id: str,
        account: Account,
        contract: ServiceContract,
        start: date,
        end: date,
    ) -> list[_Charge]:
        """The contract's sections for the part of the month it was in service."""
        assert contract.start is not None and contract.rate_plan_id is not None
        first = max(start, contract.start)
        last = min(end, _last_day(contract.end) or end)
        if first > last:
            return []
        tariff = self.tariffs[contract.rate_plan_id]
        commodity = tariff.commodity
        usage = self.usage(contract, tariff, first, last)
        noun = NOUN[commodity]
        dge, cca = self.dge, self.cca
        base = ["service_contract", commodity]
        parts: list[_Part]
        if contract.supply_entity_id == dge.id:
            both = [*base, "distribution", "supply"]
            parts = [_Part("all", COMPONENTS, both, dge.id, dge.id, f"{dge.abbreviation} {noun}")]
        else:
            parts = [
                _Part(
                    "delivery",
                    ("distribution",),
                    [*base, "distribution"],
                    dge.id,
                    None,
                    f"{dge.abbreviation} {noun} delivery",
                ),
                _Part(
                    "generation",
                    ("supply",),
                    [*base, "supply"],
                    None,
                    cca.id,
                    f"{cca.abbreviation} {noun} generation",
                ),
            ]
        section_ids = [self.ids("sec", contract.id, first, part.key) for part in parts]
        results = []
        for part, section_id in zip(parts, section_ids, strict=True):
            charges = bill_section(
                tariff,
                first,
                last,
                usage.usage,
                components=part.components,
                flows=usage.flows,
                demand=usage.demand,
                meter_reads=usage.meter_reads,
            )
            related = [i for i in section_ids if i != section_id]
            where = _Where(section_id, statement_id, account, contract.id, first, last)
            self.section_rows(where, part, related, charges)
            name = f"{part.label} charges"
            results.append(_Charge(section_id, account, contract, commodity, name, charges))
        return results

    def usage(
        self, contract: ServiceContract, tariff: Tariff, first: date, last: date
    ) -> _ContractUsage:
        """What the contract's meters recorded on its service points from `first` to `last`."""
        kind = COMMODITIES[tariff.commodity]
        billed: list[IntervalUsage] = []
        flows: dict[str, list[IntervalUsage]] = {"forward": [], "reverse": []}
        demand: list[IntervalUsage] = []
        bidirectional = False
        reads = None
        for link in self.links[contract.id]:
            for install in self.installs[link.service_point_id]:
                lo = max(first, link.start, install.start)
                hi = min(last, _last_day(link.end) or last, _last_day(install.end) or last)
                if lo > hi:
                    continue
                channels = self.readings.by_meter[install.meter_id]
                channel = _billed_channel(channels, kind)
                billed.append(channel.window(lo, hi))
                if channel.spec.interval_seconds == 0:
                    reads = _register_reads(channel, lo, hi)
                for direction, parts in flows.items():
                    if (kind, direction) in channels:
                        parts.append(channels[(kind, direction)].window(lo, hi))
                bidirectional |= (kind, "reverse") in channels
                if ("electric_demand", "forward") in channels:
                    demand.append(channels[("electric_demand", "forward")].window(lo, hi))
        return _ContractUsage(
            usage=IntervalUsage.join(billed),
            flows={d: IntervalUsage.join(p) for d, p in flows.items()} if bidirectional else None,
            demand=IntervalUsage.join(demand) if demand else None,
            meter_reads=reads,
        )

    def section_rows(
        self, where: _Where, part: _Part, related: list[str], charges: SectionCharges
    ) -> None:
        section_id = where.section_id
        self.rows.sections.append(
            {
                "id": section_id,
                "statement_id": where.statement_id,
                "account_id": where.account.id,
                "account_number": where.account.account_number,
                "contract_id": where.contract_id,
                "section_types": part.types,
                "start_date": where.first,
                "end_date": where.last,
                "currency": CURRENCY,
                "distribution_entity_id": part.distributor,
                "supply_entity_id": part.supplier,
                "related_section_ids": related,
            }
        )
        usage_ids = [self.ids("ud", section_id, i) for i in range(len(charges.usage_details))]
        cost_ids = [self.ids("cd", section_id, i) for i in range(len(charges.cost_details))]
        for position, detail in enumerate(charges.usage_details):
            self.rows.usage_details.append(
                {
                    "id": usage_ids[position],
                    "section_id": section_id,
                    "position": position,
                    "name": detail.name,
                    "types": list(detail.types),
                    "value": detail.value,
                    "units": detail.units,
                    "start_date": detail.start_date,
                    "end_date": detail.end_date,
                    "details": {k: str(v) for k, v in detail.details.items()},
                }
            )
        for position, cost in enumerate(charges.cost_details):
            self.rows.cost_details.append(
                {
                    "id": cost_ids[position],
                    "section_id": section_id,
                    "position": position,
                    "name": cost.name,
                    "types": list(cost.types),
                    "cost": cost.cost,
                }
            )
        for position, item in enumerate(charges.line_items):
            self.rows.line_items.append(
                {
                    "id": self.ids("li", section_id, position),
                    "section_id": section_id,
                    "position": position,
                    "name": item.name,
                    "types": list(item.types),
                    "start_date": item.start_date,
                    "end_date": item.end_date,
                    "cost": item.cost,
                    "value": item.value,
                    "units": item.units,
                    "rate": item.rate,
                    "related_usage_detail_ids": [usage_ids[i] for i in item.usage_details],
                    "related_cost_detail_ids": [cost_ids[i] for i in item.cost_details],
                }
            )

    def sub_account_section(
        self, statement_id: str, child: Account, start: date, end: date, charges: list[_Charge]
    ) -> None:
        """A child account's summary on its parent's statement: usage and total (§10.6.2)."""
        section_id = self.ids("sec", statement_id, child.id)
        usage: dict[str, Decimal] = defaultdict(Decimal)
        counted: set[str] = set()
        for charge in charges:
            if charge.contract.id not in counted:
                counted.add(charge.contract.id)
                usage[charge.commodity] += charge.charges.usage_details[0].value
        total = sum((c.charges.total for c in charges), Decimal(0))
        details = [
            {
                "id": self.ids("ud", section_id, position),
                "section_id": section_id,
                "position": position,
                "name": f"Total {NOUN[commodity]} usage",
                "types": [COMMODITIES[commodity]],
                "value": value,
                "units": self.unit_of(commodity, charges),
                "start_date": start,
                "end_date": end,
            }
            for position, (commodity, value) in enumerate(sorted(usage.items()))
        ]
        self.rows.usage_details += details
        self.rows.cost_details.append(
            {
                "id": self.ids("cd", section_id, 0),
                "section_id": section_id,
                "position": 0,
                "name": "Total charges",
                "types": ["overall_total"],
                "cost": total,
            }
        )
        self.rows.sections.append(
            {
                "id": section_id,
                "statement_id": statement_id,
                "account_id": child.id,
                "account_number": child.account_number,
                "contract_id": None,
                "section_types": ["sub_account"],
                "start_date": start,
                "end_date": end,
                "currency": CURRENCY,
                "distribution_entity_id": self.dge.id,
                "supply_entity_id": self.dge.id,
                "related_section_ids": [],
            }
        )

    @staticmethod
    def unit_of(commodity: str, charges: list[_Charge]) -> str:
        return next(c.charges.usage_details[0].units for c in charges if c.commodity == commodity)


def _billed_channel(channels: dict[tuple[str, str | None], Recorded], kind: str) -> Recorded:
    """Net metering bills the net channel; other meters their only usage channel."""
    for direction in ("net", "forward", None):
        if (kind, direction) in channels:
            return channels[(kind, direction)]
    raise LookupError(f"a meter without a {kind} channel serves a {kind} contract")


def _register_reads(channel: Recorded, first: date, last: date) -> tuple[Decimal, Decimal]:
    """A monthly-read meter's register at the start and end of the billed reads."""
    before = channel.window(date.min, first - timedelta(days=1)).total()
    during = channel.window(first, last).total()
    start = Decimal(channel.register) + before
    return start, start + during


def _payment(payer: str, due: Decimal, rng: random.Random) -> Decimal:
    """What the customer pays before the next statement."""
    if due <= 0:
        return Decimal(0)
    if payer == "partial":
        return money(due * Decimal(str(round(rng.uniform(0.55, 0.9), 2))))
    if payer == "sporadic" and rng.random() < 0.35:
        return Decimal(0)
    return due
