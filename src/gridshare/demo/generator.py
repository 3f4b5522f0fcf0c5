"""`gridshare demo`: build the synthetic utility "Demo Gas & Electric" into a fresh database.

Everything comes from the seed: the same seed, size and last day give the same records, ids and
usage bytes on any engine (only the `created`/`modified`/`synced` timestamps are the build time).
The build runs in one transaction: customers and what they own (`population`), every meter's
interval data (`readings`), monthly bills (`bills`), certificates and the supply mix (`supply`)
and the coverage entries (`territory`). `docs/demo.md` describes what it contains.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.demo import population
from gridshare.demo.bills import Biller, BillRows
from gridshare.demo.catalog import catalog
from gridshare.demo.ids import Ids
from gridshare.demo.population import Plan
from gridshare.demo.readings import Readings, Recorder
from gridshare.demo.supply import certificates, supply_mix
from gridshare.demo.territory import coverage_entries
from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.bills import (
    BillCostDetail,
    BillLineItem,
    BillSection,
    BillStatement,
    BillUsageDetail,
    NewCharge,
)
from gridshare.store.tables.customers import Customer
from gridshare.utility.customers import hash_password


def default_until(tz: ZoneInfo) -> date:
    """Yesterday in the utility's local time: the last whole day of history."""
    return datetime.now(tz).date() - timedelta(days=1)


def build(
    engine: Engine,
    settings: Settings,
    *,
    customers: int,
    years: int,
    until: date,
    seed: int,
    since: date | None = None,
) -> str:
    """Build the demo utility on a freshly migrated, empty database; returns a short summary.

    The history covers `years` years up to and including the local day `until`, or starts on
    `since` when given (small demos for tests).
    """
    if customers < 1:
        raise ValueError(f"the demo needs at least one customer, not {customers}")
    first = since or _years_before(until, years)
    if first > until:
        raise ValueError(f"the history would start ({first}) after it ends ({until})")
    started = time.perf_counter()
    totals = _Totals()
    ids = Ids(seed)
    offer = catalog(settings, ids)
    plan = population.plan(settings, offer, seed, customers, first, until)
    _hash_passwords(plan)
    with transaction(session_factory(engine)) as session:
        existing = session.scalar(select(func.count()).select_from(Customer))
        if existing:
            raise ValueError(
                f"the database already holds {existing} customers; the demo builds into an empty "
                "database (run `gridshare demo --reset`)"
            )
        for rows in [offer.rows(), *plan.rows()]:
            session.add_all(rows)
            session.flush()
        recorder = Recorder(session, plan, settings.tz, seed)
        biller = Biller(plan, seed)
        credit_banks = _CreditBanks(plan)
        for account, sites in plan.billing_groups():
            readings = recorder.record(sites)
            bills = biller.bill(account, readings)
            for model, bill_rows in (
                (BillStatement, bills.statements),
                (NewCharge, bills.new_charges),
                (BillSection, bills.sections),
                (BillUsageDetail, bills.usage_details),
                (BillCostDetail, bills.cost_details),
                (BillLineItem, bills.line_items),
            ):
                _insert(session, model, bill_rows)
            credit_banks.update(readings)
            totals.add(readings, bills)
        eacs = certificates(first, until, settings.tz, ids, plan.ppa_account)
        session.add_all(eacs)
        general = [e for e in eacs if e.beneficiary_type == "general"]
        session.add_all(supply_mix(first, until, settings.tz, offer.dge, general))
        session.add_all(coverage_entries(settings, ids))
    elapsed = time.perf_counter() - started
    summary = (
        f"{settings.utility_name}: {_count(len(plan.customers), 'customer')} "
        f"({_count(len(plan.logins), 'sandbox test customer')}), "
        f"{_count(len(plan.accounts), 'account')}, "
        f"{_count(len(plan.contracts), 'service contract')}, {_count(len(plan.meters), 'meter')}, "
        f"{_count(totals.channels, 'channel')}, {_count(totals.blocks, 'usage block')}, "
        f"{_count(totals.statements, 'bill statement')} "
        f"({_count(totals.sections, 'section')}) for {first} to {until}; "
        f"built in {elapsed:.1f} s"
    )
    return summary


@dataclass
class _Totals:
    channels: int = 0
    blocks: int = 0
    statements: int = 0
    sections: int = 0

    def add(self, readings: Readings, bills: BillRows) -> None:
        self.channels += readings.channels
        self.blocks += readings.blocks
        self.statements += len(bills.statements)
        self.sections += len(bills.sections)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _years_before(until: date, years: int) -> date:
    """The first day of a history of `years` years ending on `until`."""
    if years < 1:
        raise ValueError(f"the demo needs at least one year of history, not {years}")
    day = min(until.day, 28) if until.month == 2 else until.day
    return date(until.year - years, until.month, day) + timedelta(days=1)


def _hash_passwords(plan: Plan) -> None:
    """scrypt every customer's password, on all cores (hashlib releases the GIL)."""
    customers = plan.customers

    def hashed(customer: Customer) -> str:
        password, salt = plan.passwords[customer.id]
        return hash_password(password, salt)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for customer, password_hash in zip(customers, pool.map(hashed, customers), strict=True):
            customer.password_hash = password_hash


def _insert(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(model), list(rows))


class _CreditBanks:
    """Net energy metering balances: net kWh since the last yearly true-up (negative = banked
    exports), from the net channels of each NEM contract's meters."""

    def __init__(self, plan: Plan):
        self.last = plan.last
        meters_at: dict[str, list[str]] = defaultdict(list)
        for install in plan.installations:
            meters_at[install.service_point_id].append(install.meter_id)
        self.meters: dict[str, list[str]] = defaultdict(list)
        for link in plan.point_contracts:
            self.meters[link.contract_id] += meters_at[link.service_point_id]
        self.banks = [
            p for p in plan.participations if p.balance_units == "kWh" and p.start is not None
        ]

    def update(self, readings: Readings) -> None:
        """Set the balances of the NEM contracts whose meters `readings` hold."""
        for participation in self.banks:
            assert participation.contract_id is not None and participation.start is not None
            meters = [m for m in self.meters[participation.contract_id] if m in readings.by_meter]
            if not meters:
                continue
            true_up = _last_anniversary(participation.start, self.last)
            balance = Decimal(0)
            for meter in meters:
                net = readings.by_meter[meter].get(("electric_usage", "net"))
                if net is not None:
                    balance += net.window(true_up, self.last).total()
            participation.balance = balance


def _last_anniversary(start: date, last: date) -> date:
    """The latest yearly anniversary of `start` on or before `last` (or `start` itself)."""
    anniversary = start
    while True:
        year = anniversary.year + 1
        day = min(start.day, 28) if start.month == 2 else start.day
        following = date(year, start.month, day)
        if following > last:
            return anniversary
        anniversary = following
