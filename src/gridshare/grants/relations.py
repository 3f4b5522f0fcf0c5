"""A Customer's records and their relations over time, and the related-object walk of
CDS-WG3-01 §7.2 ("Related ... objects are ...") that `grants.access` applies to each Grant entry.

`load_world` reads the records of some Customers once per request: accounts, contracts, the spans
in which a meter measured a service point while a contract was served there, bill statements and
sections, aggregation memberships and programs (EACs and aggregation children only when an entry
includes them). `close` starts from the objects an entry selected and adds, flag by flag, the
objects related to what is reached until nothing changes; relations never leave these records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gridshare.grants.reach import (
    ACCOUNTS,
    AGGREGATIONS,
    ALWAYS,
    CONTRACTS,
    EACS,
    INCLUDE,
    KINDS,
    METERS,
    POINTS,
    SECTIONS,
    STATEMENTS,
    USAGE,
    Window,
    midnight,
)
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import AggregationMember
from gridshare.store.tables.bills import BillSection, BillStatement
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.eacs import EnergyAttributeCertificate, SupplyMix
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.programs import Participation, Program
from gridshare.store.tables.servicepoints import ServicePointContract


@dataclass
class Span:
    """A meter measured a point while a contract was served there, from start to end (UTC)."""

    meter_id: str
    point_id: str
    contract_id: str
    window: Window


class World:
    """The records of some Customers, with their relations over time (loaded once per Customer)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.accounts: dict[str, Account] = {}
        self.contracts: dict[str, ServiceContract] = {}
        self.spans: list[Span] = []
        self.statements: dict[str, tuple[str, date]] = {}
        """statement id -> (account id, statement date)"""
        self.sections: dict[str, tuple[str, frozenset[str], date, date]] = {}
        """section id -> (account id, related contract ids, start date, end date)"""
        self.members: list[tuple[str, str]] = []
        """(aggregation id, member id) for members among these records"""
        self.programs: dict[str, set[str]] = defaultdict(set)
        """account or contract id -> program numbers"""
        self.program_ids: dict[str, set[str]] = defaultdict(set)
        """account or contract id -> ids of the programs it takes part in"""

    @cached_property
    def children(self) -> Mapping[str, set[str]]:
        """aggregation id -> the aggregations it groups (`grouped_aggregations`); read only when
        an entry includes Aggregations."""
        found: dict[str, set[str]] = defaultdict(set)
        for parent_id, child_id in self.session.execute(
            select(AggregationMember.aggregation_id, AggregationMember.member_aggregation_id).where(
                AggregationMember.member_aggregation_id.is_not(None)
            )
        ):
            if child_id is not None:
                found[parent_id].add(child_id)
        return found

    @cached_property
    def eacs(self) -> list[tuple[str, str, frozenset[str]]]:
        """(EAC id, beneficiary type, beneficiaries: our record ids, see tables.eacs); read only
        when an entry includes EACs."""
        return [
            (eac_id, beneficiary_type, frozenset(beneficiaries))
            for eac_id, beneficiary_type, beneficiaries in self.session.execute(
                select(
                    EnergyAttributeCertificate.id,
                    EnergyAttributeCertificate.beneficiary_type,
                    EnergyAttributeCertificate.beneficiaries,
                ).where(EnergyAttributeCertificate.beneficiary_type != "general")
            )
        ]

    @cached_property
    def mixes(self) -> Mapping[str, list[tuple[Window, frozenset[str]]]]:
        """entity id -> (period, EAC ids) of its supply mix rows that name EACs; read only when
        an entry includes EACs and reaches usage."""
        found: dict[str, list[tuple[Window, frozenset[str]]]] = defaultdict(list)
        for entity_id, start, end, eac_ids in self.session.execute(
            select(
                SupplyMix.entity_id, SupplyMix.period_start, SupplyMix.period_end, SupplyMix.eac_ids
            )
        ):
            if eac_ids:
                found[entity_id].append((Window(start, end), frozenset(eac_ids)))
        return found

    @property
    def point_ids(self) -> set[str]:
        return {s.point_id for s in self.spans}

    @property
    def meter_ids(self) -> set[str]:
        return {s.meter_id for s in self.spans}


@dataclass(frozen=True)
class Dates:
    statements: tuple[date | None, date | None]
    sections: tuple[date | None, date | None]
    usage: Window = ALWAYS


UNDATED: Final = Dates((None, None), (None, None))


def members_of(world: World, aggregation_ids: set[str]) -> dict[str, set[str]]:
    """The records the Aggregations group, by kind (the seeds they stand for)."""
    grouped = {member for a, member in world.members if a in aggregation_ids}
    return {
        ACCOUNTS: grouped & set(world.accounts),
        CONTRACTS: grouped & set(world.contracts),
        POINTS: grouped & world.point_ids,
        METERS: grouped & world.meter_ids,
    }


def held(world: World, kind: str) -> set[str]:
    if kind == ACCOUNTS:
        return set(world.accounts)
    if kind == CONTRACTS:
        return set(world.contracts)
    if kind == POINTS:
        return world.point_ids
    if kind == METERS:
        return world.meter_ids
    if kind == AGGREGATIONS:
        return {a for a, _ in world.members}
    return set()


def load_world(session: Session, customer_ids: Sequence[str], tz: ZoneInfo) -> World:
    world = World(session)
    if not customer_ids:
        return world
    world.accounts = {
        a.id: a
        for a in session.scalars(select(Account).where(Account.customer_id.in_(customer_ids)))
    }
    world.contracts = {
        c.id: c
        for c in session.scalars(
            select(ServiceContract).where(ServiceContract.account_id.in_(list(world.accounts)))
        )
    }
    links = list(
        session.scalars(
            select(ServicePointContract).where(
                ServicePointContract.contract_id.in_(list(world.contracts))
            )
        )
    )
    installs: dict[str, list[MeterInstallation]] = defaultdict(list)
    for installed in session.scalars(
        select(MeterInstallation).where(
            MeterInstallation.service_point_id.in_({link.service_point_id for link in links})
        )
    ):
        installs[installed.service_point_id].append(installed)
    for link in links:
        served = Window(midnight(link.start, tz), midnight(link.end, tz))
        for installed in installs[link.service_point_id]:
            measured = Window(midnight(installed.start, tz), midnight(installed.end, tz))
            overlap = served.clip(measured)
            if overlap is not None:
                world.spans.append(
                    Span(installed.meter_id, link.service_point_id, link.contract_id, overlap)
                )
    account_ids = list(world.accounts)
    contract_ids = list(world.contracts)
    for statement_id, account_id, statement_date in session.execute(
        select(BillStatement.id, BillStatement.account_id, BillStatement.statement_date).where(
            BillStatement.account_id.in_(account_ids)
        )
    ):
        world.statements[statement_id] = (account_id, statement_date)
    sections = session.execute(
        select(
            BillSection.id,
            BillSection.statement_id,
            BillSection.account_id,
            BillSection.contract_id,
            BillSection.start_date,
            BillSection.end_date,
        ).where(BillSection.account_id.in_(account_ids))
    ).all()
    billed: dict[tuple[str, str], set[str]] = defaultdict(set)
    for _, on, account_id, contract_id, _, _ in sections:
        if on is not None and contract_id is not None:
            billed[(on, account_id)].add(contract_id)
    for section_id, on, account_id, contract_id, start, end in sections:
        world.sections[section_id] = (
            account_id,
            related_contracts(contract_id, billed.get((on or "", account_id), set())),
            start,
            end,
        )
    owned = set(account_ids) | set(contract_ids) | world.point_ids | world.meter_ids
    for member in session.scalars(
        select(AggregationMember).where(
            or_(
                AggregationMember.account_id.in_(account_ids),
                AggregationMember.contract_id.in_(contract_ids),
                AggregationMember.service_point_id.in_(world.point_ids),
                AggregationMember.meter_id.in_(world.meter_ids),
            )
        )
    ):
        target = member.account_id or member.contract_id or member.service_point_id
        target = target or member.meter_id
        if target in owned:
            world.members.append((member.aggregation_id, target))
    for owner_account, owner_contract, program_id, number in session.execute(
        select(
            Participation.account_id,
            Participation.contract_id,
            Program.id,
            Program.program_number,
        )
        .join(Program, Program.id == Participation.program_id)
        .where(
            or_(
                Participation.account_id.in_(account_ids),
                Participation.contract_id.in_(contract_ids),
            )
        )
    ):
        owner = owner_account or owner_contract or ""
        world.programs[owner].add(number)
        world.program_ids[owner].add(program_id)
    return world


def close(
    world: World,
    base_kind: str,
    seeds: Mapping[str, set[str]],
    flags: set[str],
    dates: Dates,
) -> dict[str, set[str]]:
    """The base objects from the seeds, then every related object the flags include (§7.2)."""
    reached: dict[str, set[str]] = {kind: set() for kind in KINDS}
    base = derive(world, seeds, base_kind, dates)
    reached[base_kind] |= base
    # The scope's own kind stays what was selected: ticking 2 of an Account's 4 Service Contracts
    # must not share the other 2 through the Account their include flags reach (§7.2.2 read
    # literally would; docs/spec-decisions.md).
    on = {kind for kind, flag in INCLUDE.items() if flag in flags} - {base_kind}
    for _ in range(len(KINDS) + 1):
        before = sum(len(v) for v in reached.values())
        for kind in on:
            reached[kind] |= _related(world, kind, reached, dates)
        if sum(len(v) for v in reached.values()) == before:
            break
    return reached


def derive(world: World, seeds: Mapping[str, set[str]], kind: str, dates: Dates) -> set[str]:
    """The objects of `kind` under or over the selected objects (a Selection of Accounts reaches
    their Service Contracts' meters, a Selection of Meter Devices their Accounts, ...)."""
    spans = [
        s
        for s in world.spans
        if s.meter_id in seeds.get(METERS, ())
        or s.point_id in seeds.get(POINTS, ())
        or s.contract_id in seeds.get(CONTRACTS, ())
        or world.contracts[s.contract_id].account_id in seeds.get(ACCOUNTS, ())
    ]
    contracts = set(seeds.get(CONTRACTS, ())) | {s.contract_id for s in spans}
    contracts |= {c.id for c in world.contracts.values() if c.account_id in seeds.get(ACCOUNTS, ())}
    accounts = set(seeds.get(ACCOUNTS, ())) | {world.contracts[c].account_id for c in contracts}
    if kind == ACCOUNTS:
        return accounts
    if kind == CONTRACTS:
        return contracts
    if kind == POINTS:
        return set(seeds.get(POINTS, ())) | {s.point_id for s in spans}
    if kind == METERS:
        return set(seeds.get(METERS, ())) | {s.meter_id for s in spans}
    if kind == STATEMENTS:
        return _statements(world, accounts, dates)
    if kind == SECTIONS:
        return _sections(world, accounts, contracts, dates)
    if kind == AGGREGATIONS:
        return set(seeds.get(AGGREGATIONS, ()))
    if kind == USAGE:
        return {s.meter_id for s in spans}
    return set()


def _related(world: World, kind: str, reached: Mapping[str, set[str]], dates: Dates) -> set[str]:
    """The objects of `kind` related to what is reached (the §7.2.x "Related ..." lists)."""
    accounts, contracts = reached[ACCOUNTS], reached[CONTRACTS]
    points, meters, usage = reached[POINTS], reached[METERS], reached[USAGE]
    sections, aggregations = reached[SECTIONS], reached[AGGREGATIONS]
    grouped = {member for a, member in world.members if a in aggregations}
    section_contracts = {c for b in sections for c in world.sections[b][1]}
    if kind == ACCOUNTS:
        found = {world.contracts[c].account_id for c in contracts if c in world.contracts}
        found |= {world.statements[s][0] for s in reached[STATEMENTS]}
        found |= {world.sections[b][0] for b in sections}
        found |= grouped & set(world.accounts)
        found |= {
            world.contracts[s.contract_id].account_id for s in world.spans if s.meter_id in usage
        }
        found |= {
            parent
            for a in accounts | found
            if a in world.accounts and (parent := world.accounts[a].parent_id) is not None
        }
        return found
    if kind == CONTRACTS:
        found = {s.contract_id for s in world.spans if s.point_id in points}
        found |= section_contracts
        found |= grouped & set(world.contracts)
        found |= {s.contract_id for s in world.spans if s.meter_id in usage}
        found |= {c.id for c in world.contracts.values() if c.account_id in accounts}
        return found
    if kind == POINTS:
        found = {s.point_id for s in world.spans if s.meter_id in meters | usage}
        found |= {s.point_id for s in world.spans if s.contract_id in section_contracts}
        return found | (grouped & world.point_ids)
    if kind == METERS:
        found = {s.meter_id for s in world.spans if s.contract_id in section_contracts}
        return found | (grouped & world.meter_ids) | usage
    if kind == STATEMENTS:
        return _statements(world, accounts, dates)
    if kind == SECTIONS:
        return _sections(world, accounts, contracts, dates)
    if kind == AGGREGATIONS:
        members = accounts | contracts | meters
        found = {a for a, member in world.members if member in members}
        return found | {c for a in aggregations | found for c in world.children.get(a, ())}
    if kind == EACS:
        return _eacs(world, accounts, contracts) | mix_eacs(world, usage, dates.usage)
    if kind == USAGE:
        return {
            s.meter_id
            for s in world.spans
            if s.contract_id in contracts | section_contracts
            or s.point_id in points
            or s.meter_id in meters
            or world.contracts[s.contract_id].account_id in accounts
        }
    return set()


def related_contracts(contract_id: str | None, billed: Iterable[str]) -> frozenset[str]:
    """A Bill Section's related Service Contracts (§10.6.1 `related_servicecontracts`): its own
    contract, or for a section without one (a `sub_account` section, §10.6.2) the contracts of
    its Account's sections on the same statement (`billed`)."""
    return frozenset({contract_id} if contract_id is not None else billed)


def reached_usage(world: World, reached: Mapping[str, set[str]]) -> dict[str, list[Window]]:
    """For each reached meter, the periods it measured one of the reached Customers' services."""
    found: dict[str, list[Window]] = defaultdict(list)
    for span in world.spans:
        if span.meter_id in reached[USAGE]:
            found[span.meter_id].append(span.window)
    return found


def _eacs(world: World, accounts: set[str], contracts: set[str]) -> set[str]:
    """EACs whose beneficiaries are reached (§7.2.9): the Customers of reached Accounts, the
    Accounts, the Service Contracts, their rate plans, and the programs either takes part in."""
    held = {
        "customer": {world.accounts[a].customer_id for a in accounts if a in world.accounts},
        "account": accounts,
        "servicecontract": contracts,
        "rateplan": {
            plan
            for c in contracts
            if c in world.contracts and (plan := world.contracts[c].rate_plan_id) is not None
        },
        "program": {p for owner in accounts | contracts for p in world.program_ids[owner]},
    }
    return {
        eac_id
        for eac_id, beneficiary_type, beneficiaries in world.eacs
        if beneficiaries & held.get(beneficiary_type, set())
    }


def mix_eacs(world: World, meters: set[str], window: Window) -> set[str]:
    """EACs referenced in the Electric Supply Mix of reached usage (§7.2.9): the supply mix of
    the supplier (else distributor) of the electric contracts the meters measured, over the
    periods they measured them within the usage window."""
    if not meters:
        return set()
    found: set[str] = set()
    for span in world.spans:
        contract = world.contracts[span.contract_id]
        measured = span.window.clip(window)
        if span.meter_id not in meters or measured is None:
            continue
        if "electric" not in (contract.service_types or ()):
            continue
        entity = contract.supply_entity_id or contract.distribution_entity_id
        for period, eac_ids in world.mixes.get(entity or "", ()):
            if period.clip(measured) is not None:
                found |= eac_ids
    return found


def _statements(world: World, accounts: set[str], dates: Dates) -> set[str]:
    start, end = dates.statements
    return {
        s
        for s, (account_id, day) in world.statements.items()
        if account_id in accounts
        and (start is None or day >= start)
        and (end is None or day <= end)
    }


def _sections(world: World, accounts: set[str], contracts: set[str], dates: Dates) -> set[str]:
    start, end = dates.sections
    return {
        b
        for b, (account_id, related, first, last) in world.sections.items()
        if account_id in accounts
        and related & contracts
        and (start is None or first >= start)
        and (end is None or last <= end)
    }
