"""CDS-WG3-01 §9.2.3 Authorization Form Selections: which of the Customer's resources a Request
Section lists, which the request preselects (§7.1), how scopes share one Selection (§7.4.2
`merge_selection_with`), and the selection the Customer approved, as a Grant keeps it.

A Selection lists one kind of the Customer's resources, named by the scope's
`authorization_form_selection_type` (§7.4.1): Accounts, Service Contracts, Service Points, Meter
Devices or Aggregations. The Customer's resources are the Accounts they hold, those Accounts'
Service Contracts, the Service Points currently serving those contracts, the Meter Devices
currently installed there, and the Aggregations that group any of them.

Preselection (§7.1): every preselection field that is not null matches resources by the values of
the resource and its current relations (an Account matches `meter_numbers` through its contracts'
service points' meters, and so on, as each §7.1.x lists); a field §7.1 defines no rule for on
that kind of Selection does not narrow it. The preselected resources are the intersection of what
each field matched. `"_all"` in a field preselects every entry; `"_include_future"` (in
`account_numbers` or `contract_numbers`) ticks the Account and Service Contract Selections'
include-future option.
`addresses` match by §7.1.13.1 (`utility.addresses`).

`cds_aggregation_consent` (§9.2.3.5) is a fixed list: the preselected Aggregations that group some
of the Customer's resources, each with those resources; the Customer cannot change it.

A Grant keeps what was approved in `Grant.selections`: one entry per Selection Component,
`{"scopes": [...], "type": ..., "ids": [...], "include_future": bool}` (ids are our record ids).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gridshare.grants.scopes import Catalogue
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import Aggregation, AggregationMember
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.meters import MeterApp, MeterDevice, MeterInstallation
from gridshare.store.tables.programs import Participation, Program
from gridshare.store.tables.servicepoints import (
    Premise,
    ServicePoint,
    ServicePointContract,
    ServicePointPremise,
)
from gridshare.utility.addresses import match_addresses

ACCOUNTS: Final = "account_selection"
CONTRACTS: Final = "service_contract_selection"
SERVICE_POINTS: Final = "servicepoint_selection"
METERS: Final = "meter_device_selection"
AGGREGATIONS: Final = "aggregation_selection"
SELECTION_FIELD: Final = "authorization_form_selection_type"
MERGE_FIELD: Final = "merge_selection_with"
ERROR_FIELD: Final = "error_if_no_preselections"
AGGREGATION_CONSENT: Final = "cds_aggregation_consent"
ALL: Final = "_all"
INCLUDE_FUTURE: Final = "_include_future"

RULES: Final[Mapping[str, frozenset[str]]] = {
    "account_numbers": frozenset({ACCOUNTS, CONTRACTS}),
    "account_programs": frozenset({ACCOUNTS}),
    "contract_numbers": frozenset({ACCOUNTS, CONTRACTS}),
    "service_types": frozenset({ACCOUNTS, CONTRACTS}),
    "service_programs": frozenset({CONTRACTS}),
    "servicepoint_numbers": frozenset({ACCOUNTS, CONTRACTS, SERVICE_POINTS, METERS}),
    "servicepoint_types": frozenset({ACCOUNTS, CONTRACTS, SERVICE_POINTS, METERS}),
    "premise_numbers": frozenset({ACCOUNTS, CONTRACTS, SERVICE_POINTS, METERS}),
    "meter_numbers": frozenset({ACCOUNTS, CONTRACTS, SERVICE_POINTS, METERS}),
    "meter_types": frozenset({ACCOUNTS, CONTRACTS, SERVICE_POINTS, METERS}),
    "meter_apps": frozenset({CONTRACTS, METERS}),
    "aggregation_numbers": frozenset({ACCOUNTS, CONTRACTS, SERVICE_POINTS, METERS, AGGREGATIONS}),
    "addresses": frozenset({ACCOUNTS, CONTRACTS, SERVICE_POINTS, METERS, AGGREGATIONS}),
}
"""For each preselection field (§7.1.1-§7.1.13), the Selections it preselects on."""

NOUNS: Final = {
    ACCOUNTS: ("account", "accounts"),
    CONTRACTS: ("service", "services"),
    SERVICE_POINTS: ("service location", "service locations"),
    METERS: ("meter", "meters"),
    AGGREGATIONS: ("group", "groups"),
}
"""What each Selection lists, as a utility customer says it (singular, plural)."""

FUTURE_SELECTIONS: Final = frozenset({ACCOUNTS, CONTRACTS})
"""Selections with an include-future option (§9.2.3.1, §9.2.3.2)."""
FUTURE_FIELDS: Final = frozenset({"account_numbers", "contract_numbers"})
"""Fields whose `"_include_future"` ticks that option (§7.1.1, §7.1.3)."""


@dataclass(frozen=True)
class Resource:
    """One entry of a Selection: what §9.2.3.x says each entry shows, and what it matches."""

    id: str
    number: str
    name: str | None
    address: str | None
    types: tuple[str, ...]
    account_number: str | None = None
    related: tuple[str, ...] = ()
    """For the fixed Aggregation Consent list: the Customer's resources in the Aggregation."""
    keys: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Values this entry matches per preselection field (its own and its current relations')."""
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preselection:
    ids: frozenset[str]
    include_future: bool
    asked: bool
    """Whether any preselection field applying to this Selection was not null."""


@dataclass(frozen=True)
class SelectionGroup:
    """One Selection Component, shared by the scopes merged into one Request Section."""

    key: str
    scope_ids: tuple[str, ...]
    selection_type: str
    resources: tuple[Resource, ...]
    preselection: Preselection
    fixed: bool
    error_if_none: bool
    requested: Mapping[str, tuple[str, ...]]
    """The non-null preselection fields and their values (for the Preselection Error)."""

    @property
    def future_option(self) -> bool:
        return self.selection_type in FUTURE_SELECTIONS and not self.fixed

    @property
    def no_preselections(self) -> bool:
        """§7.4.3: the request asked for preselections, none matched, and wants an error."""
        chosen = self.preselection.ids or self.preselection.include_future
        return self.error_if_none and self.preselection.asked and not chosen

    def choose(self, ids: Iterable[str], include_future: bool) -> Chosen:
        """What the Customer ticked here (unknown ids are dropped; a fixed list is as shown)."""
        wanted = set(self.preselection.ids) if self.fixed else set(ids)
        return Chosen(
            self,
            tuple(r.id for r in self.resources if r.id in wanted),
            include_future and self.future_option,
        )


@dataclass(frozen=True)
class Chosen:
    """The Customer's choice in one Selection Component."""

    group: SelectionGroup
    ids: tuple[str, ...]
    include_future: bool

    @property
    def empty(self) -> bool:
        return not self.ids and not self.include_future

    def record(self) -> dict[str, Any]:
        """The Grant's record (`Grant.selections` entry)."""
        return {
            "scopes": list(self.group.scope_ids),
            "type": self.group.selection_type,
            "ids": list(self.ids),
            "include_future": self.include_future,
        }

    def summary(self) -> dict[str, Any]:
        """What the receipt and its email show: the entries in words, whether that was all of
        them, and whether future ones are included (§9.4)."""
        picked = set(self.ids)
        return {
            "type": self.group.selection_type,
            "labels": [label(r) for r in self.group.resources if r.id in picked],
            "all": bool(picked) and len(picked) == len(self.group.resources),
            "include_future": self.include_future,
        }


def selection_groups(
    session: Session,
    catalogue: Catalogue,
    customer_id: str,
    scope: str,
    details: list[dict[str, Any]],
    today: date,
) -> list[SelectionGroup]:
    """The Selection Components of a resolved request for this Customer, in request order."""
    entries: dict[str, dict[str, Any]] = {}
    for scope_id in scope.split():
        described = catalogue.scopes.get(scope_id)
        if described is None or not described.response_types_supported:
            continue
        types = set(described.authorization_details_types_supported)
        entries[scope_id] = next((e for e in details if e.get("type") in types), {})
    graph: CustomerGraph | None = None
    groups = []
    for members in _merged(entries):
        first = entries[members[0]]
        selection_type = first.get(SELECTION_FIELD)
        if selection_type is None:
            continue
        if graph is None:
            graph = CustomerGraph.load(session, customer_id, today)
        fixed = catalogue.scopes[members[0]].type == AGGREGATION_CONSENT
        requested = _requested(first)
        if fixed:
            resources = graph.consent_aggregations(requested.get("aggregation_numbers", ()))
            preselection = Preselection(
                frozenset(r.id for r in resources), False, "aggregation_numbers" in requested
            )
        else:
            resources = graph.resources(selection_type)
            preselection = preselect(resources, selection_type, requested)
        groups.append(
            SelectionGroup(
                key=members[0],
                scope_ids=tuple(members),
                selection_type=selection_type,
                resources=tuple(resources),
                preselection=preselection,
                fixed=fixed,
                error_if_none=any(entries[m].get(ERROR_FIELD) is True for m in members),
                requested=requested,
            )
        )
    return groups


def preselect(
    resources: Iterable[Resource], selection_type: str, requested: Mapping[str, Iterable[str]]
) -> Preselection:
    """The entries the request's preselection fields select (§7.1, intersected)."""
    resources = list(resources)
    chosen: set[str] | None = None
    include_future = False
    asked = False
    for field_id, values in requested.items():
        if selection_type not in RULES.get(field_id, frozenset()):
            continue
        asked = True
        values = set(values)
        if INCLUDE_FUTURE in values and field_id in FUTURE_FIELDS:
            include_future = selection_type in FUTURE_SELECTIONS
        if ALL in values:
            matched = {r.id for r in resources}
        elif field_id == "addresses":
            located = {(r.id, a): a for r in resources for a in r.addresses}
            matched = {resource_id for resource_id, _ in match_addresses(values, located)}
        else:
            matched = {r.id for r in resources if r.keys.get(field_id, frozenset()) & values}
        chosen = matched if chosen is None else chosen & matched
    return Preselection(frozenset(chosen or ()), include_future, asked)


def _requested(entry: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {
        field_id: tuple(str(v) for v in entry[field_id])
        for field_id in RULES
        if isinstance(entry.get(field_id), list)
    }


def _merged(entries: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """Scopes grouped by `merge_selection_with` (§7.4.2), each group in request order."""
    parent = {scope_id: scope_id for scope_id in entries}

    def root(scope_id: str) -> str:
        while parent[scope_id] != scope_id:
            scope_id = parent[scope_id]
        return scope_id

    for scope_id, entry in entries.items():
        target = entry.get(MERGE_FIELD)
        if isinstance(target, str) and target in parent:
            parent[root(scope_id)] = root(target)
    groups: dict[str, list[str]] = defaultdict(list)
    for scope_id in entries:
        groups[root(scope_id)].append(scope_id)
    return sorted(groups.values(), key=lambda members: list(entries).index(members[0]))


class CustomerGraph:
    """The Customer's resources and their current relations, loaded once per form."""

    def __init__(self) -> None:
        self.accounts: list[Account] = []
        self.contracts: list[ServiceContract] = []
        self.points: dict[str, ServicePoint] = {}
        self.meters: dict[str, MeterDevice] = {}
        self.accounts_by_id: dict[str, Account] = {}
        self.contracts_of_account: dict[str, list[ServiceContract]] = defaultdict(list)
        self.points_of_meter: dict[str, set[str]] = defaultdict(set)
        self.points_of_contract: dict[str, set[str]] = defaultdict(set)
        self.meters_of_point: dict[str, set[str]] = defaultdict(set)
        self.premises_of_point: dict[str, set[str]] = defaultdict(set)
        self.programs: dict[str, set[str]] = defaultdict(set)
        self.apps_of_meter: dict[str, set[str]] = defaultdict(set)
        self.aggregations_of: dict[str, set[str]] = defaultdict(set)
        self.aggregations: dict[str, Aggregation] = {}
        self.members: dict[str, list[str]] = defaultdict(list)

    @classmethod
    def load(cls, session: Session, customer_id: str, today: date) -> CustomerGraph:
        graph = cls()
        graph.accounts = list(
            session.scalars(
                select(Account)
                .where(Account.customer_id == customer_id)
                .order_by(Account.account_number)
            )
        )
        graph.accounts_by_id = {a.id: a for a in graph.accounts}
        account_ids = list(graph.accounts_by_id)
        graph.contracts = list(
            session.scalars(
                select(ServiceContract)
                .where(ServiceContract.account_id.in_(account_ids))
                .order_by(ServiceContract.contract_number)
            )
        )
        for contract in graph.contracts:
            graph.contracts_of_account[contract.account_id].append(contract)
        contract_ids = [c.id for c in graph.contracts]
        for link in session.scalars(
            select(ServicePointContract).where(
                ServicePointContract.contract_id.in_(contract_ids),
                or_(ServicePointContract.end.is_(None), ServicePointContract.end >= today),
            )
        ):
            graph.points_of_contract[link.contract_id].add(link.service_point_id)
        point_ids = {p for points in graph.points_of_contract.values() for p in points}
        graph.points = {
            p.id: p
            for p in session.scalars(
                select(ServicePoint)
                .where(ServicePoint.id.in_(point_ids))
                .order_by(ServicePoint.servicepoint_number)
            )
        }
        for point_id, premise_number in session.execute(
            select(ServicePointPremise.service_point_id, Premise.premise_number)
            .join(Premise, Premise.id == ServicePointPremise.premise_id)
            .where(ServicePointPremise.service_point_id.in_(point_ids))
        ):
            graph.premises_of_point[point_id].add(premise_number)
        for installed in session.scalars(
            select(MeterInstallation).where(
                MeterInstallation.service_point_id.in_(point_ids),
                or_(MeterInstallation.end.is_(None), MeterInstallation.end >= today),
            )
        ):
            graph.meters_of_point[installed.service_point_id].add(installed.meter_id)
            graph.points_of_meter[installed.meter_id].add(installed.service_point_id)
        meter_ids = {m for meters in graph.meters_of_point.values() for m in meters}
        graph.meters = {
            m.id: m
            for m in session.scalars(
                select(MeterDevice)
                .where(MeterDevice.id.in_(meter_ids))
                .order_by(MeterDevice.meter_number)
            )
        }
        for meter_id, app_number in session.execute(
            select(MeterApp.meter_id, MeterApp.app_number).where(MeterApp.meter_id.in_(meter_ids))
        ):
            graph.apps_of_meter[meter_id].add(app_number)
        for owner_account, owner_contract, number in session.execute(
            select(Participation.account_id, Participation.contract_id, Program.program_number)
            .join(Program, Program.id == Participation.program_id)
            .where(
                or_(
                    Participation.account_id.in_(account_ids),
                    Participation.contract_id.in_(contract_ids),
                )
            )
        ):
            graph.programs[owner_account or owner_contract or ""].add(number)
        owned = set(account_ids) | set(contract_ids) | point_ids | meter_ids
        for member in session.scalars(
            select(AggregationMember).where(
                or_(
                    AggregationMember.account_id.in_(account_ids),
                    AggregationMember.contract_id.in_(contract_ids),
                    AggregationMember.service_point_id.in_(point_ids),
                    AggregationMember.meter_id.in_(meter_ids),
                )
            )
        ):
            target = (
                member.account_id
                or member.contract_id
                or member.service_point_id
                or member.meter_id
            )
            if target in owned:
                graph.aggregations_of[target].add(member.aggregation_id)
                graph.members[member.aggregation_id].append(target)
        graph.aggregations = {
            a.id: a
            for a in session.scalars(
                select(Aggregation)
                .where(Aggregation.id.in_(graph.members))
                .order_by(Aggregation.aggregation_number)
            )
        }
        return graph

    def resources(self, selection_type: str) -> list[Resource]:
        """The entries of a Selection of this type (§9.2.3.1-§9.2.3.5)."""
        if selection_type == ACCOUNTS:
            return [self._account(a) for a in self.accounts]
        if selection_type == CONTRACTS:
            return [self._contract(c) for c in self.contracts]
        if selection_type == SERVICE_POINTS:
            return [self._point(p) for p in self.points.values()]
        if selection_type == METERS:
            return [self._meter(m) for m in self.meters.values()]
        if selection_type == AGGREGATIONS:
            return [self._aggregation(a) for a in self.aggregations.values()]
        raise ValueError(f"unknown selection type {selection_type!r}")

    def consent_aggregations(self, numbers: Iterable[str]) -> list[Resource]:
        """§9.2.3.5 for `cds_aggregation_consent`: the preselected Aggregations that group some of
        the Customer's resources, each listing those resources."""
        wanted = set(numbers)
        return [
            self._aggregation(a, related=self._described(self.members[a.id]))
            for a in self.aggregations.values()
            if a.aggregation_number in wanted
        ]

    def _account(self, account: Account) -> Resource:
        keys = _union(self._contract_keys(c) for c in self.contracts_of_account[account.id])
        keys["account_numbers"] = frozenset({account.account_number})
        keys["account_programs"] = frozenset(self.programs[account.id])
        keys["aggregation_numbers"] = self._aggregation_numbers(account.id)
        return Resource(
            id=account.id,
            number=account.account_number,
            name=account.name,
            address=account.address,
            types=tuple(account.types),
            keys=keys,
            addresses=_present(account.address),
        )

    def _contract(self, contract: ServiceContract) -> Resource:
        account = self._account_of(contract)
        return Resource(
            id=contract.id,
            number=contract.contract_number or contract.id,
            name=None,
            address=contract.address,
            types=tuple(contract.service_types),
            account_number=account.account_number,
            keys=self._contract_keys(contract),
            addresses=_present(contract.address),
        )

    def _point(self, point: ServicePoint) -> Resource:
        keys = _union(self._meter_keys(m) for m in self.meters_of_point[point.id])
        keys.update(self._point_own_keys(point))
        return Resource(
            id=point.id,
            number=point.servicepoint_number or point.id,
            name=None,
            address=point.address,
            types=tuple(point.types),
            keys=keys,
            addresses=_present(point.address),
        )

    def _meter(self, meter: MeterDevice) -> Resource:
        points = sorted(p for p in self.points_of_meter[meter.id] if p in self.points)
        keys = _union(self._point_own_keys(self.points[p]) for p in points)
        keys.update(self._meter_keys(meter.id))
        keys["aggregation_numbers"] = self._aggregation_numbers(meter.id)
        return Resource(
            id=meter.id,
            number=meter.meter_number or meter.id,
            name=None,
            address=None,
            types=tuple(meter.types),
            keys=keys,
            addresses=tuple(a for p in points for a in _present(self.points[p].address)),
        )

    def _aggregation(self, aggregation: Aggregation, related: list[str] | None = None) -> Resource:
        return Resource(
            id=aggregation.id,
            number=aggregation.aggregation_number or aggregation.id,
            name=aggregation.name,
            address=aggregation.addresses[0] if aggregation.addresses else None,
            types=tuple(aggregation.types),
            related=tuple(related or ()),
            keys={"aggregation_numbers": frozenset({aggregation.aggregation_number or ""})},
            addresses=tuple(aggregation.addresses),
        )

    def _contract_keys(self, contract: ServiceContract) -> dict[str, frozenset[str]]:
        points = self.points_of_contract[contract.id]
        keys = _union(
            [self._point_own_keys(self.points[p]) for p in points if p in self.points]
            + [self._meter_keys(m) for p in points for m in self.meters_of_point[p]]
        )
        keys["account_numbers"] = frozenset({self._account_of(contract).account_number})
        keys["contract_numbers"] = frozenset({contract.contract_number or ""})
        keys["service_types"] = frozenset(contract.service_types)
        keys["service_programs"] = frozenset(self.programs[contract.id])
        keys["aggregation_numbers"] = self._aggregation_numbers(contract.id)
        return keys

    def _point_own_keys(self, point: ServicePoint) -> dict[str, frozenset[str]]:
        return {
            "servicepoint_numbers": frozenset({point.servicepoint_number or ""}),
            "servicepoint_types": frozenset(point.types),
            "premise_numbers": frozenset(self.premises_of_point[point.id]),
            "aggregation_numbers": self._aggregation_numbers(point.id),
        }

    def _meter_keys(self, meter_id: str) -> dict[str, frozenset[str]]:
        meter = self.meters[meter_id]
        return {
            "meter_numbers": frozenset({meter.meter_number or ""}),
            "meter_types": frozenset(meter.types),
            "meter_apps": frozenset(self.apps_of_meter[meter_id]),
        }

    def _aggregation_numbers(self, target: str) -> frozenset[str]:
        return frozenset(
            self.aggregations[a].aggregation_number or ""
            for a in self.aggregations_of[target]
            if a in self.aggregations
        )

    def _account_of(self, contract: ServiceContract) -> Account:
        return self.accounts_by_id[contract.account_id]

    def _described(self, ids: Iterable[str]) -> list[str]:
        labels = {a.id: f"account {a.account_number}" for a in self.accounts}
        labels.update(
            {c.id: f"service {c.contract_number} ({c.address or ''})" for c in self.contracts}
        )
        labels.update({p.id: f"service location {p.address or ''}" for p in self.points.values()})
        labels.update({m.id: f"meter {m.meter_number}" for m in self.meters.values()})
        return sorted({labels[i].replace(" ()", "") for i in ids if i in labels})


def label(resource: Resource) -> str:
    """A one-line description of an entry, as the form and receipt show it."""
    parts = [resource.number]
    if resource.name:
        parts.append(resource.name)
    if resource.address:
        parts.append(resource.address)
    return " — ".join(parts)


def _union(parts: Iterable[Mapping[str, frozenset[str]]]) -> dict[str, frozenset[str]]:
    merged: dict[str, set[str]] = defaultdict(set)
    for part in parts:
        for key, values in part.items():
            merged[key] |= values
    return {key: frozenset(values) for key, values in merged.items()}


def _present(address: str | None) -> tuple[str, ...]:
    return (address,) if address else ()
