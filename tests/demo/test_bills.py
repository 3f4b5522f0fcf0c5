"""A demo customer's bill totals equal the sum of their line items and match the usage of the
bill period (CDS-WG3-01 §10.5, §10.6).

The expected usage is computed here independently of the generator: from the stored links
(contract -> service points -> installed meters), by unpacking the stored blocks of the billed
channel for the local days of the section (`utility.codec`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.store.tables.accounts import Account
from gridshare.store.tables.bills import (
    BillCostDetail,
    BillLineItem,
    BillSection,
    BillStatement,
    BillUsageDetail,
    NewCharge,
)
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.programs import Entity, Participation, Program
from gridshare.store.tables.servicepoints import ServicePointContract
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility import codec
from tests.demo.conftest import SmallDemo

KIND = {"electric": "electric_usage", "natural_gas": "natural_gas_usage", "water": "water_usage"}
TOTALS = {"electric_total", "natural_gas_total", "water_total"}


@dataclass
class Bills:
    """Everything billed in the small demo, loaded once per test."""

    tz: Any
    accounts: dict[str, Account]
    statements: list[BillStatement]
    sections: dict[str, BillSection]
    charges: dict[str, list[NewCharge]]
    usage: dict[str, list[BillUsageDetail]]
    costs: dict[str, list[BillCostDetail]]
    items: dict[str, list[BillLineItem]]
    contracts: dict[str, ServiceContract]
    links: dict[str, list[ServicePointContract]]
    installs: dict[str, list[MeterInstallation]]
    channels: dict[str, list[Channel]]
    blocks: dict[int, list[UsageBlock]]
    participations: list[Participation]
    programs: list[Program]


def _grouped(rows: list[Any], key: str) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (getattr(r, key), getattr(r, "position", 0))):
        groups[getattr(row, key)].append(row)
    return groups


@pytest.fixture
def bills(demo: SmallDemo) -> Bills:
    with Session(demo.engine) as session:

        def every(model: type[Any]) -> list[Any]:
            return list(session.scalars(select(model)))

        return Bills(
            tz=demo.settings.tz,
            accounts={a.id: a for a in every(Account)},
            statements=sorted(every(BillStatement), key=lambda s: (s.account_id, s.statement_date)),
            sections={s.id: s for s in every(BillSection)},
            charges=_grouped(every(NewCharge), "statement_id"),
            usage=_grouped(every(BillUsageDetail), "section_id"),
            costs=_grouped(every(BillCostDetail), "section_id"),
            items=_grouped(every(BillLineItem), "section_id"),
            contracts={c.id: c for c in every(ServiceContract)},
            links=_grouped(every(ServicePointContract), "contract_id"),
            installs=_grouped(every(MeterInstallation), "service_point_id"),
            channels=_grouped(every(Channel), "meter_id"),
            blocks=_grouped(every(UsageBlock), "channel_id"),
            participations=every(Participation),
            programs=every(Program),
        )


def _overall(bills: Bills, section_id: str) -> Decimal:
    (total,) = [c.cost for c in bills.costs[section_id] if "overall_total" in c.types]
    return total


def _last_day(end: date | None, default: date) -> date:
    return default if end is None else end - timedelta(days=1)


def _expected_usage(bills: Bills, section: BillSection) -> tuple[Decimal, set[str]]:
    """The billed channel's readings on the section's local days, and the meters that read them.

    Net metering bills the net channel; any other meter its one usage channel.
    """
    contract = bills.contracts[section.contract_id or ""]
    kind = KIND[next(t for t in contract.service_types if t in KIND)]
    total, meters = Decimal(0), set()
    for link in bills.links[contract.id]:
        for install in bills.installs[link.service_point_id]:
            first = max(section.start_date, link.start, install.start)
            last = min(
                section.end_date,
                _last_day(link.end, section.end_date),
                _last_day(install.end, section.end_date),
            )
            channels = {c.direction: c for c in bills.channels[install.meter_id] if c.kind == kind}
            channel = channels.get("net") or channels.get("forward") or channels.get(None)
            assert channel is not None
            for block in bills.blocks[channel.id]:
                if first <= block.start.astimezone(bills.tz).date() <= last:
                    values = [v for v in codec.unpack_decimals(block.values) if v is not None]
                    total += sum(values, Decimal(0))
                    meters.add(install.meter_id)
    return total, meters


def _month_number(day: date) -> int:
    return day.year * 12 + day.month


def _service_sections(bills: Bills) -> list[BillSection]:
    return [s for s in bills.sections.values() if "service_contract" in s.section_types]


def test_section_totals_are_the_sum_of_their_line_items(bills: Bills) -> None:
    sections = _service_sections(bills)
    assert len(sections) > 50
    for section in sections:
        items = bills.items[section.id]
        assert items, section.id
        assert _overall(bills, section.id) == sum((i.cost for i in items), Decimal(0))
        for item in items:
            if item.value is not None and item.rate is not None:
                exact = item.value * item.rate
                assert item.cost == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        for cost in bills.costs[section.id]:
            members = [i for i in items if cost.id in i.related_cost_detail_ids]
            assert cost.cost == sum((i.cost for i in members), Decimal(0)), cost.name


def test_section_usage_matches_the_meters_readings_of_the_bill_period(bills: Bills) -> None:
    swapped = False
    for section in _service_sections(bills):
        expected, meters = _expected_usage(bills, section)
        total = bills.usage[section.id][0]
        assert total.name.startswith("Total ")
        assert total.value == expected, (section.id, section.start_date)
        assert (total.start_date, total.end_date) == (section.start_date, section.end_date)
        swapped |= len(meters) > 1
        buckets = [
            d.value
            for d in bills.usage[section.id]
            if {"time_of_use", "tiered"} & set(d.types) or d.types == [total.types[0], "seasonal"]
        ]
        if buckets:
            assert sum(buckets, Decimal(0)) == total.value
        for item in bills.items[section.id]:
            if "usage_charge" in item.types and item.units != "kW":
                related = [
                    d for d in bills.usage[section.id] if d.id in item.related_usage_detail_ids
                ]
                assert [d.value for d in related] == [item.value]
    assert swapped, "no bill spans a meter swap"


def test_monthly_read_bills_show_the_read_of_the_month(bills: Bills) -> None:
    amr = [
        d
        for section in _service_sections(bills)
        for d in bills.usage[section.id]
        if "amr_reading" in d.types
    ]
    assert amr
    for detail in amr:
        assert detail.value == detail.value.to_integral_value() and detail.value > 0


def test_statements_follow_the_amount_due_rules(bills: Bills) -> None:
    previous: dict[str, BillStatement] = {}
    shutoffs = 0
    for statement in bills.statements:
        charges = bills.charges[statement.id]
        assert charges
        included = sum((c.amount for c in charges if c.included_in_amount_due), Decimal(0))
        assert statement.previous_balance_unpaid is not None
        assert statement.amount_due == statement.previous_balance_unpaid + included
        assert statement.new_charges_amount == sum((c.amount for c in charges), Decimal(0))
        assert statement.new_balance_amount == statement.amount_due
        assert statement.previous_balance_paid is not None
        assert (
            statement.previous_balance_amount
            == statement.previous_balance_paid + statement.previous_balance_unpaid
        )
        before = previous.get(statement.account_id)
        if before is None:
            assert statement.previous_balance_amount == 0
        else:
            assert statement.previous_balance_amount == before.new_balance_amount
            months = _month_number(statement.statement_date) - _month_number(before.statement_date)
            assert months == 1, "one statement per account per month"
        assert statement.statement_date.day == 1  # the day after the billed month
        assert statement.amount_due_date > statement.statement_date
        assert (statement.shutoff_prevention_minimum_due is None) == (
            statement.shutoff_prevention_date is None
        )
        shutoffs += statement.shutoff_prevention_minimum_due is not None
        previous[statement.account_id] = statement
    assert shutoffs, "no statement carries a shutoff-prevention notice"


def test_each_service_total_is_its_sections_overall_total(bills: Bills) -> None:
    for statement in bills.statements:
        services = {
            s.id
            for s in bills.sections.values()
            if s.statement_id == statement.id and "service_contract" in s.section_types
        }
        related: set[str] = set()
        for charge in bills.charges[statement.id]:
            if TOTALS & set(charge.types):
                (section_id,) = charge.related_section_ids
                assert charge.amount == _overall(bills, section_id)
                related.add(section_id)
        assert related == services


def test_the_low_income_discount_is_a_program_credit(bills: Bills) -> None:
    (program,) = [p for p in bills.programs if p.level == "account"]
    rate = Decimal(program.details["gridshare_discount_rate"])
    credited = 0
    for statement in bills.statements:
        month_end = statement.statement_date - timedelta(days=1)
        month_start = month_end.replace(day=1)
        enrolled = any(
            p.account_id == statement.account_id
            and p.program_id == program.id
            and p.start is not None
            and p.start <= month_start
            and (p.end is None or p.end > month_end)
            for p in bills.participations
        )
        credits = [c for c in bills.charges[statement.id] if c.types == ["program"]]
        assert bool(credits) == enrolled, statement.id
        if not credits:
            continue
        credited += 1
        eligible = sum(
            (
                c.amount
                for c in bills.charges[statement.id]
                if {"electric_total", "natural_gas_total"} & set(c.types)
            ),
            Decimal(0),
        )
        expected = -(rate * eligible).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert credits[0].amount == expected
    assert credited, "no bill shows the low-income discount"


def test_a_parent_account_is_billed_for_its_children(bills: Bills) -> None:
    children = {a.id for a in bills.accounts.values() if a.parent_id}
    assert children
    assert not {s.account_id for s in bills.statements} & children
    subaccounts = [s for s in bills.sections.values() if s.section_types == ["sub_account"]]
    assert subaccounts
    for summary in subaccounts:
        statement = next(s for s in bills.statements if s.id == summary.statement_id)
        assert bills.accounts[summary.account_id].parent_id == statement.account_id
        services = [
            s
            for s in _service_sections(bills)
            if s.statement_id == summary.statement_id and s.account_id == summary.account_id
        ]
        assert services
        assert _overall(bills, summary.id) == sum(
            (_overall(bills, s.id) for s in services), Decimal(0)
        )


def test_an_aggregator_supplied_contract_gets_delivery_and_generation_sections(
    bills: Bills, demo: SmallDemo
) -> None:
    with Session(demo.engine) as session:
        cca = session.scalars(select(Entity).where(Entity.abbreviation == "VCP")).one()
        dge = session.scalars(select(Entity).where(Entity.abbreviation == "DG&E")).one()
    split = [s for s in _service_sections(bills) if s.supply_entity_id == cca.id]
    assert split
    for generation in split:
        (delivery_id,) = generation.related_section_ids
        delivery = bills.sections[delivery_id]
        assert delivery.related_section_ids == [generation.id]
        assert (delivery.distribution_entity_id, delivery.supply_entity_id) == (dge.id, None)
        assert generation.distribution_entity_id is None
        assert "supply" in generation.section_types and "supply" not in delivery.section_types
        assert {i.types[-1] for i in bills.items[generation.id] if i.types != ["tax"]} == {"supply"}


def test_a_closed_contract_is_billed_until_it_ended(bills: Bills, demo: SmallDemo) -> None:
    with Session(demo.engine) as session:
        home = session.scalars(select(Customer).where(Customer.username == "home")).one()
        account = session.scalars(select(Account).where(Account.customer_id == home.id)).one()
    closed = [
        c for c in bills.contracts.values() if c.account_id == account.id and c.end is not None
    ]
    assert closed
    for contract in closed:
        assert contract.end is not None
        sections = [s for s in _service_sections(bills) if s.contract_id == contract.id]
        assert max(s.end_date for s in sections) == contract.end - timedelta(days=1)
        newer = [
            c
            for c in bills.contracts.values()
            if c.account_id == account.id and c.start == contract.end
        ]
        assert newer
        for successor in newer:
            first = min(
                s.start_date for s in _service_sections(bills) if s.contract_id == successor.id
            )
            assert first == successor.start
