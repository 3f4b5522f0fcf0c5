"""What one bearer token may read of the Customer Data (DESIGN rule 2; CDS-WG3-01 §6, §7.2, §7.3).

An `Access` is built once per request from the token's Grants and is the only way the Customer
Data APIs (`cds/`) reach customer records: every listing filters by the ids it holds, and every
OPTIONAL field is written only when one of the `include_*` flags that reached that object allows it.

How a Grant's authorization details entry (one per scope) becomes reachable objects:

1. **Base objects** (the scope's "MUST make available", §6.1.x / §6.2.x):
   - Customer-authorized Grants: the Customer's choice in the Selection Component
     (`Grant.selections`, §6 "record the authorization's selections using the same type"),
     re-evaluated on every request against the Customer's records, so a meter swap under a
     selected Service Contract changes which Meter Devices are reachable. `include_future`
     reaches every Account or Service Contract the Customer holds at the time of the request.
     Selected ids the Customer no longer holds reach nothing.
   - Server-created Grants (client_credentials, §6.2, or a staff-approved grant_request): the
     preselection fields (§7.1, matched as on the authorization form, `grants.selections.preselect`)
     narrow the objects; a direct-access scope (§6.2) without preselection fields reaches every
     object of its kind ("every"); a consent scope without a Customer and without preselections
     reaches nothing.
2. **Related objects** (§7.2.x "Related ... objects are ..."): every `include_*` flag that is true,
   by the scope's defaults (§6.1.x / §6.2.x "treat this Scope as having included `true` values") or
   by the request, adds the objects related to what is already reached, until nothing changes.
   Relations never leave the records of the Customers the entry reached: an Aggregation's other
   members are not reached through it (docs/spec-decisions.md).
3. **Time**: a Meter Device's usage is reachable only for the periods it measured a service point
   while one of the reached Service Contracts was served there (a new tenant's usage never reaches
   the previous tenant's apps), clipped to `segment_start`/`segment_end` (§7.3.6, §7.3.7) and
   `sync_until` (§7.3.1). Bill Statements are limited by `statement_date_start`/`_end` (§7.3.2,
   §7.3.3), Bill Sections by `start_date`/`end_date` (§7.3.4, §7.3.5), both by `sync_until`.

Relation periods are local dates (`start` inclusive, `end` exclusive), turned into UTC instants at
local midnight in the utility's timezone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from functools import cached_property
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gridshare.grants import consent_scopes, direct_scopes, selections
from gridshare.grants.authorization_details import encryption_keys
from gridshare.grants.scopes import Catalogue
from gridshare.store.db import utcnow
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import Aggregation, AggregationMember
from gridshare.store.tables.bills import BillSection, BillStatement
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.eacs import EnergyAttributeCertificate, SupplyMix
from gridshare.store.tables.grants import Grant, Token
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.programs import Participation, Program
from gridshare.store.tables.servicepoints import (
    Premise,
    ServicePoint,
    ServicePointContract,
    ServicePointPremise,
)
from gridshare.utility.addresses import match_addresses

ACCOUNTS: Final[str] = "accounts"
CONTRACTS: Final[str] = "servicecontracts"
POINTS: Final[str] = "servicepoints"
METERS: Final[str] = "meterdevices"
STATEMENTS: Final[str] = "billstatements"
SECTIONS: Final[str] = "billsections"
AGGREGATIONS: Final[str] = "aggregations"
USAGE: Final[str] = "usagesegments"
EACS: Final[str] = "eacs"
KINDS: Final = (
    ACCOUNTS,
    CONTRACTS,
    POINTS,
    METERS,
    STATEMENTS,
    SECTIONS,
    AGGREGATIONS,
    USAGE,
    EACS,
)

INCLUDE: Final[Mapping[str, str]] = {
    ACCOUNTS: "include_accounts",
    CONTRACTS: "include_service_contracts",
    POINTS: "include_service_points",
    METERS: "include_meter_devices",
    STATEMENTS: "include_bill_statements",
    SECTIONS: "include_bill_sections",
    AGGREGATIONS: "include_aggregations",
    USAGE: "include_usage_segments",
    EACS: "include_eacs",
}
"""The §7.2 field that makes each kind of object reachable."""

BASE: Final[Mapping[str, str | None]] = {
    "cds_rate_plan": CONTRACTS,
    "cds_account_programs": ACCOUNTS,
    "cds_service_programs": CONTRACTS,
    "cds_accounts": ACCOUNTS,
    "cds_service_contracts": CONTRACTS,
    "cds_meters": METERS,
    "cds_bill_statements": STATEMENTS,
    "cds_service_bills": SECTIONS,
    "cds_usage": USAGE,
    "cds_aggregation_consent": None,
    "cds_query_accounts": ACCOUNTS,
    "cds_query_service_contracts": CONTRACTS,
    "cds_query_service_points": POINTS,
    "cds_query_meter_devices": METERS,
    "cds_query_bill_statements": STATEMENTS,
    "cds_query_bill_sections": SECTIONS,
    "cds_query_aggregations": AGGREGATIONS,
    "cds_query_usage": USAGE,
}
"""The kind of object each Customer Data scope type makes available (§6.1.x, §6.2.x); the
Aggregation Inclusion scope (§6.1.10) is a consent to be counted, and reaches no object itself."""

DEFAULTS: Final[Mapping[str, tuple[str, ...]]] = {
    **consent_scopes.IMPLIED,
    **direct_scopes.IMPLIED,
}
"""The `include_*` fields each scope type treats as true (§6.1.x, §6.2.x)."""

SELECTION_KIND: Final[Mapping[str, str]] = {
    selections.ACCOUNTS: ACCOUNTS,
    selections.CONTRACTS: CONTRACTS,
    selections.SERVICE_POINTS: POINTS,
    selections.METERS: METERS,
    selections.AGGREGATIONS: AGGREGATIONS,
}
KIND_SELECTION: Final = {kind: selection for selection, kind in SELECTION_KIND.items()}

NATURAL: Final[Mapping[str, str]] = {
    "account_numbers": ACCOUNTS,
    "account_programs": ACCOUNTS,
    "contract_numbers": CONTRACTS,
    "service_types": CONTRACTS,
    "service_programs": CONTRACTS,
    "servicepoint_numbers": POINTS,
    "servicepoint_types": POINTS,
    "premise_numbers": POINTS,
    "meter_numbers": METERS,
    "meter_types": METERS,
    "meter_apps": METERS,
    "aggregation_numbers": AGGREGATIONS,
}
"""The kind of record each preselection field names (§7.1.x); `addresses` match on the scope's
own kind. A server-created Grant's field matches records of that kind, then reaches the scope's
objects through their relations (an account number reaches the account's meters' usage)."""
ALL_VALUES: Final = selections.ALL
BROADEST_PRESELECTION: Final = 10_000
"""Server-created Grants whose preselections match more Customers than this are refused: name
accounts, contracts, service points, premises or meters instead."""


class PreselectionTooBroad(ValueError):
    """A server-created Grant's preselection fields name too many Customers to evaluate."""


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in UTC; None is unbounded."""

    start: datetime | None
    end: datetime | None

    def clip(self, other: Window) -> Window | None:
        start = _later(self.start, other.start)
        end = _earlier(self.end, other.end)
        if start is not None and end is not None and start >= end:
            return None
        return Window(start, end)


ALWAYS: Final = Window(None, None)


@dataclass(frozen=True)
class Reach:
    """The objects of one kind a token reaches and, per object, the `include_*` flags that apply.

    `every` is set when every object of the kind is reachable (a direct-access scope without
    preselections): the flags that apply to all of them. An object's flags are the union of
    `every` and its own entry in `ids`.
    """

    ids: Mapping[str, frozenset[str]] = field(default_factory=dict)
    every: frozenset[str] | None = None

    @property
    def bounded(self) -> bool:
        return self.every is None

    def flags(self, object_id: str) -> frozenset[str] | None:
        """The flags that apply to this object, or None when it is out of reach."""
        own = self.ids.get(object_id)
        if self.every is None:
            return own
        return self.every | (own or frozenset())


@dataclass(frozen=True)
class UsageReach:
    """Which meters' usage a token reaches, and when (merged, sorted, non-overlapping windows)."""

    meters: Mapping[str, tuple[Window, ...]] = field(default_factory=dict)
    every: tuple[Window, ...] | None = None
    formats: frozenset[str] | None = None
    """The `include_usage_segment_value_types` choices allowed; None: every value type."""

    @property
    def bounded(self) -> bool:
        return self.every is None

    def windows(self, meter_id: str) -> tuple[Window, ...]:
        own = self.meters.get(meter_id, ())
        return _merge((*own, *(self.every or ())))


@dataclass(frozen=True)
class Access:
    """What one bearer token may read (module docstring). A kind is None when no scope of the
    token gives access to that API at all (answered 403); an empty Reach is access to nothing."""

    client_id: str
    grant_ids: tuple[str, ...]
    scope_types: frozenset[str]
    reaches: Mapping[str, Reach]
    usage: UsageReach | None
    jwks: tuple[Mapping[str, Any], ...] = ()
    """Distinct `jwk` values (§7.4.6) of the entries: responses are encrypted to them."""
    scopes_giving: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per kind, the catalogue's scopes that give it by default (for a 403's advice)."""

    def reach(self, kind: str) -> Reach | None:
        return self.reaches.get(kind)


def scopes_giving(catalogue: Catalogue) -> dict[str, tuple[str, ...]]:
    """Per kind of object, the ids of the scopes whose type includes it by default (§6.1, §6.2)."""
    return {
        kind: tuple(
            scope_id
            for scope_id, described in catalogue.scopes.items()
            if flag in DEFAULTS.get(described.type, ())
        )
        for kind, flag in INCLUDE.items()
    }


def access_for(
    session: Session,
    catalogue: Catalogue,
    token: Token,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Access:
    """The Access of an active token (the caller has checked the token is active)."""
    now = now or utcnow()
    token_scopes = set(token.scope.split())
    grants = session.scalars(select(Grant).where(Grant.grant_id.in_(token.grant_ids))).all()
    builder = _Builder(session, catalogue, tz, now)
    used: list[Mapping[str, Any]] = []
    for grant in grants:
        enabled = set(grant.enabled_scope.split()) & token_scopes
        for scope_id, entry in _entries(catalogue, grant, enabled):
            described = catalogue.scopes[scope_id]
            if described.type not in BASE:
                continue
            builder.add(grant, scope_id, described.type, entry)
            used.append(entry)
    return replace(
        builder.access(token.client_id, tuple(g.grant_id for g in grants), encryption_keys(used)),
        scopes_giving=scopes_giving(catalogue),
    )


def _entries(
    catalogue: Catalogue, grant: Grant, enabled: set[str]
) -> Iterable[tuple[str, dict[str, Any]]]:
    """Each enabled scope of the Grant with its authorization details entry ({} if none)."""
    for scope_id in grant.scope.split():
        if scope_id not in enabled or scope_id not in catalogue.scopes:
            continue
        types = set(catalogue.scopes[scope_id].authorization_details_types_supported)
        found = [e for e in grant.enabled_authorization_details if e.get("type") in types]
        for entry in found or [{}]:
            yield scope_id, entry


@dataclass
class _Span:
    """A meter measured a point while a contract was served there, from start to end (UTC)."""

    meter_id: str
    point_id: str
    contract_id: str
    window: Window


class _World:
    """The records of some Customers, with their relations over time (loaded once per Customer)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.accounts: dict[str, Account] = {}
        self.contracts: dict[str, ServiceContract] = {}
        self.spans: list[_Span] = []
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


class _Builder:
    def __init__(self, session: Session, catalogue: Catalogue, tz: ZoneInfo, now: datetime):
        self.session = session
        self.catalogue = catalogue
        self.tz = tz
        self.now = now
        self.flags: dict[str, dict[str, set[str]]] = {kind: defaultdict(set) for kind in KINDS}
        self.every: dict[str, set[str]] = {}
        self.usage: dict[str, list[Window]] = defaultdict(list)
        self.usage_every: list[Window] = []
        self.formats: set[str] | None = set()
        self.enabled: set[str] = set()
        self.scope_types: set[str] = set()
        self.worlds: dict[str, _World] = {}

    # --- one entry -------------------------------------------------------------------------

    def add(self, grant: Grant, scope_id: str, scope_type: str, entry: Mapping[str, Any]) -> None:
        self.scope_types.add(scope_type)
        flags = set(DEFAULTS.get(scope_type, ())) | {
            k for k, v in entry.items() if k.startswith("include_") and v is True
        }
        if {INCLUDE[CONTRACTS], INCLUDE[METERS]} <= flags:
            flags.add(INCLUDE[POINTS])  # §7.2.2, §7.2.4: the Service Points linking the two
        self.enabled |= {kind for kind, flag in INCLUDE.items() if flag in flags}
        self._formats(entry, flags)
        base_kind = BASE[scope_type]
        if base_kind is None:
            return
        usage_window = self._usage_window(entry)
        if (
            grant.customer_id is None
            and scope_type.startswith("cds_query_")
            and not any(entry.get(f) is not None for f in selections.RULES)
        ):
            self._everything(base_kind, flags, usage_window)
            return
        world, seeds = self._seeds(grant, scope_id, scope_type, base_kind, entry)
        if world is None:
            return
        reached = _close(world, base_kind, seeds, flags, self._windows(entry))
        for kind, ids in reached.items():
            if kind == USAGE:
                continue
            for object_id in ids:
                self.flags[kind][object_id] |= flags
        for meter_id, windows in reached_usage(world, reached).items():
            for window in windows:
                clipped = window.clip(usage_window)
                if clipped is not None:
                    self.usage[meter_id].append(clipped)

    def _everything(self, base_kind: str, flags: set[str], usage_window: Window) -> None:
        """A direct-access scope without preselections: every object of its kind, and of every
        kind its flags include (everything is related to something reachable)."""
        kinds = {base_kind} | {kind for kind, flag in INCLUDE.items() if flag in flags}
        for kind in kinds - {USAGE}:
            self.every.setdefault(kind, set()).update(flags)
        if USAGE in kinds:
            self.usage_every.append(usage_window)

    def _formats(self, entry: Mapping[str, Any], flags: set[str]) -> None:
        if "include_usage_segments" not in flags or self.formats is None:
            return
        chosen = entry.get("include_usage_segment_value_types")
        if isinstance(chosen, list):
            self.formats |= {str(c) for c in chosen}
        elif "include_usage_segment_value_types" not in entry:
            self.formats = None
        # null: durations only, no value type from this entry (§7.2.8.1)

    # --- base objects ----------------------------------------------------------------------

    def _seeds(
        self,
        grant: Grant,
        scope_id: str,
        scope_type: str,
        base_kind: str,
        entry: Mapping[str, Any],
    ) -> tuple[_World | None, dict[str, set[str]]]:
        if grant.customer_id is not None:
            world = self._world([grant.customer_id])
            return world, self._selected(world, grant, scope_id)
        requested = {
            f: tuple(str(v) for v in entry[f]) for f in selections.RULES if entry.get(f) is not None
        }
        if not requested:
            return None, {}
        if base_kind == AGGREGATIONS:
            return self._world([]), {AGGREGATIONS: self._aggregations_named(requested)}
        customers = self._customers_named(requested)
        world = self._world(sorted(customers))
        seed_kind = _seed_kind(base_kind)
        today = self.now.astimezone(self.tz).date()
        graphs = [selections.CustomerGraph.load(self.session, c, today) for c in sorted(customers)]
        found: set[str] | None = None
        for field_id, values in requested.items():
            kind = NATURAL.get(field_id, seed_kind)
            selection_type = KIND_SELECTION[kind]
            matched: set[str] = set()
            for graph in graphs:
                chosen = selections.preselect(
                    graph.resources(selection_type), selection_type, {field_id: values}
                )
                matched |= chosen.ids
            seeds = _members(world, matched) if kind == AGGREGATIONS else {kind: matched}
            related = _derive(world, seeds, seed_kind, UNDATED)
            found = related if found is None else found & related
        return world, {seed_kind: found or set()}

    def _selected(self, world: _World, grant: Grant, scope_id: str) -> dict[str, set[str]]:
        seeds: dict[str, set[str]] = defaultdict(set)
        for record in grant.selections:
            if scope_id not in record.get("scopes", ()):
                continue
            kind = SELECTION_KIND.get(record.get("type", ""))
            if kind is None:
                continue
            held = _held(world, kind)
            seeds[kind] |= set(record.get("ids", ())) & held
            if record.get("include_future") and kind in (ACCOUNTS, CONTRACTS):
                seeds[kind] |= held
        return seeds

    def _aggregations_named(self, requested: Mapping[str, Sequence[str]]) -> set[str]:
        """Aggregations by `aggregation_numbers` and `addresses` (§7.1.12, §7.1.13), directly:
        an Aggregation is found by its own number, not through a Customer."""
        found: set[str] | None = None
        rows = self.session.execute(
            select(Aggregation.id, Aggregation.aggregation_number, Aggregation.addresses)
        ).all()
        numbers = requested.get("aggregation_numbers")
        if numbers is not None:
            wanted = set(numbers)
            found = {i for i, number, _ in rows if ALL_VALUES in wanted or number in wanted}
        addresses = requested.get("addresses")
        if addresses is not None:
            located = {(i, a): a for i, _, listed in rows for a in listed}
            matched = {i for i, _ in match_addresses(addresses, located)}
            found = matched if found is None else found & matched
        return found or set()

    def _customers_named(self, requested: Mapping[str, Sequence[str]]) -> set[str]:
        """The Customers whose records the preselection fields could match."""
        named: set[str] | None = None
        for field_id, values in requested.items():
            found = self._customers_by(field_id, [v for v in values if not v.startswith("_")])
            if found is None:
                continue
            named = found if named is None else named & found
        if named is None:
            named = set(self.session.scalars(select(Account.customer_id).distinct()))
        if len(named) > BROADEST_PRESELECTION:
            raise PreselectionTooBroad(
                f"the preselection fields match {len(named)} customers; name account, contract, "
                "service point, premise or meter numbers to narrow them"
            )
        return named

    def _customers_by(self, field_id: str, values: list[str]) -> set[str] | None:
        """Customers holding something with one of these values, or None when the field does not
        name records (types, addresses, `_all`)."""
        s = self.session
        by_contract = select(Account.customer_id).join(
            ServiceContract, ServiceContract.account_id == Account.id
        )
        by_point = by_contract.join(
            ServicePointContract, ServicePointContract.contract_id == ServiceContract.id
        )
        if not values:
            return None
        if field_id == "account_numbers":
            query = select(Account.customer_id).where(Account.account_number.in_(values))
        elif field_id == "contract_numbers":
            query = by_contract.where(ServiceContract.contract_number.in_(values))
        elif field_id == "servicepoint_numbers":
            query = by_point.join(
                ServicePoint, ServicePoint.id == ServicePointContract.service_point_id
            ).where(ServicePoint.servicepoint_number.in_(values))
        elif field_id == "premise_numbers":
            query = (
                by_point.join(
                    ServicePointPremise,
                    ServicePointPremise.service_point_id == ServicePointContract.service_point_id,
                )
                .join(Premise, Premise.id == ServicePointPremise.premise_id)
                .where(Premise.premise_number.in_(values))
            )
        elif field_id == "meter_numbers":
            query = (
                by_point.join(
                    MeterInstallation,
                    MeterInstallation.service_point_id == ServicePointContract.service_point_id,
                )
                .join(MeterDevice, MeterDevice.id == MeterInstallation.meter_id)
                .where(MeterDevice.meter_number.in_(values))
            )
        elif field_id in ("account_programs", "service_programs"):
            programs = select(Program.id).where(Program.program_number.in_(values))
            accounts = select(Participation.account_id).where(
                Participation.program_id.in_(programs)
            )
            contracts = select(Participation.contract_id).where(
                Participation.program_id.in_(programs)
            )
            query = select(Account.customer_id).where(
                or_(
                    Account.id.in_(accounts),
                    Account.id.in_(
                        select(ServiceContract.account_id).where(ServiceContract.id.in_(contracts))
                    ),
                )
            )
        elif field_id == "aggregation_numbers":
            grouped = select(AggregationMember).where(
                AggregationMember.aggregation_id.in_(
                    select(Aggregation.id).where(Aggregation.aggregation_number.in_(values))
                )
            )
            members = grouped.subquery()
            contracts_of_points = select(ServicePointContract.contract_id).where(
                or_(
                    ServicePointContract.service_point_id.in_(select(members.c.service_point_id)),
                    ServicePointContract.service_point_id.in_(
                        select(MeterInstallation.service_point_id).where(
                            MeterInstallation.meter_id.in_(select(members.c.meter_id))
                        )
                    ),
                )
            )
            query = select(Account.customer_id).where(
                or_(
                    Account.id.in_(select(members.c.account_id)),
                    Account.id.in_(
                        select(ServiceContract.account_id).where(
                            or_(
                                ServiceContract.id.in_(select(members.c.contract_id)),
                                ServiceContract.id.in_(contracts_of_points),
                            )
                        )
                    ),
                )
            )
        else:
            return None
        return {c for c in s.scalars(query.distinct()) if c is not None}

    # --- records ---------------------------------------------------------------------------

    def _world(self, customer_ids: Sequence[str]) -> _World:
        key = " ".join(customer_ids)
        if key not in self.worlds:
            self.worlds[key] = _load_world(self.session, customer_ids, self.tz)
        return self.worlds[key]

    def _usage_window(self, entry: Mapping[str, Any]) -> Window:
        start = _instant(entry.get("segment_start"), self.tz)
        end = _earliest(
            _instant(entry.get("segment_end"), self.tz),
            _instant(entry.get("sync_until"), self.tz),
        )
        return Window(start, end)

    def _windows(self, entry: Mapping[str, Any]) -> _Dates:
        sync = _day(entry.get("sync_until"), self.tz)
        return _Dates(
            statements=(
                _day(entry.get("statement_date_start"), self.tz),
                _earliest_day(_day(entry.get("statement_date_end"), self.tz), sync),
            ),
            sections=(
                _day(entry.get("start_date"), self.tz),
                _earliest_day(_day(entry.get("end_date"), self.tz), sync),
            ),
            usage=self._usage_window(entry),
        )

    # --- result ----------------------------------------------------------------------------

    def access(
        self, client_id: str, grant_ids: tuple[str, ...], jwks: tuple[Mapping[str, Any], ...]
    ) -> Access:
        reaches = {
            kind: Reach(
                {i: frozenset(f) for i, f in self.flags[kind].items()},
                frozenset(self.every[kind]) if kind in self.every else None,
            )
            for kind in KINDS
            if kind in self.enabled and kind != USAGE
        }
        usage = None
        if USAGE in self.enabled:
            usage = UsageReach(
                {m: _merge(w) for m, w in self.usage.items()},
                _merge(self.usage_every) if self.usage_every else None,
                None if self.formats is None else frozenset(self.formats),
            )
        return Access(client_id, grant_ids, frozenset(self.scope_types), reaches, usage, jwks)


@dataclass(frozen=True)
class _Dates:
    statements: tuple[date | None, date | None]
    sections: tuple[date | None, date | None]
    usage: Window = ALWAYS


UNDATED: Final = _Dates((None, None), (None, None))


def _seed_kind(base_kind: str) -> str:
    """The Selection kind whose preselection picks the base objects (§7.1 rules)."""
    return {STATEMENTS: ACCOUNTS, SECTIONS: CONTRACTS, USAGE: METERS}.get(base_kind, base_kind)


def _members(world: _World, aggregation_ids: set[str]) -> dict[str, set[str]]:
    """The records the Aggregations group, by kind (the seeds they stand for)."""
    grouped = {member for a, member in world.members if a in aggregation_ids}
    return {
        ACCOUNTS: grouped & set(world.accounts),
        CONTRACTS: grouped & set(world.contracts),
        POINTS: grouped & world.point_ids,
        METERS: grouped & world.meter_ids,
    }


def _held(world: _World, kind: str) -> set[str]:
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


def _load_world(session: Session, customer_ids: Sequence[str], tz: ZoneInfo) -> _World:
    world = _World(session)
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
        served = Window(_midnight(link.start, tz), _midnight(link.end, tz))
        for installed in installs[link.service_point_id]:
            measured = Window(_midnight(installed.start, tz), _midnight(installed.end, tz))
            overlap = served.clip(measured)
            if overlap is not None:
                world.spans.append(
                    _Span(installed.meter_id, link.service_point_id, link.contract_id, overlap)
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


def _close(
    world: _World,
    base_kind: str,
    seeds: Mapping[str, set[str]],
    flags: set[str],
    dates: _Dates,
) -> dict[str, set[str]]:
    """The base objects from the seeds, then every related object the flags include (§7.2)."""
    reached: dict[str, set[str]] = {kind: set() for kind in KINDS}
    base = _derive(world, seeds, base_kind, dates)
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


def _derive(world: _World, seeds: Mapping[str, set[str]], kind: str, dates: _Dates) -> set[str]:
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


def _related(world: _World, kind: str, reached: Mapping[str, set[str]], dates: _Dates) -> set[str]:
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
        return _eacs(world, accounts, contracts) | _mix_eacs(world, usage, dates.usage)
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


def reached_usage(world: _World, reached: Mapping[str, set[str]]) -> dict[str, list[Window]]:
    """For each reached meter, the periods it measured one of the reached Customers' services."""
    found: dict[str, list[Window]] = defaultdict(list)
    for span in world.spans:
        if span.meter_id in reached[USAGE]:
            found[span.meter_id].append(span.window)
    return found


def _eacs(world: _World, accounts: set[str], contracts: set[str]) -> set[str]:
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


def _mix_eacs(world: _World, meters: set[str], window: Window) -> set[str]:
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


def _statements(world: _World, accounts: set[str], dates: _Dates) -> set[str]:
    start, end = dates.statements
    return {
        s
        for s, (account_id, day) in world.statements.items()
        if account_id in accounts
        and (start is None or day >= start)
        and (end is None or day <= end)
    }


def _sections(world: _World, accounts: set[str], contracts: set[str], dates: _Dates) -> set[str]:
    start, end = dates.sections
    return {
        b
        for b, (account_id, related, first, last) in world.sections.items()
        if account_id in accounts
        and related & contracts
        and (start is None or first >= start)
        and (end is None or last <= end)
    }


def _merge(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Sorted, with overlapping or touching windows joined."""
    ordered = sorted(windows, key=lambda w: (w.start is not None, w.start or datetime.min))
    merged: list[Window] = []
    for window in ordered:
        if merged and (
            merged[-1].end is None or window.start is None or window.start <= merged[-1].end
        ):
            last = merged[-1]
            end = None if last.end is None or window.end is None else max(last.end, window.end)
            merged[-1] = Window(last.start, end)
        else:
            merged.append(window)
    return tuple(merged)


def _midnight(day: date | None, tz: ZoneInfo) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(), tz).astimezone(UTC)


def _instant(value: Any, tz: ZoneInfo) -> datetime | None:
    """A resolved duration field (absolute date or datetime, or "infinite") as a UTC instant."""
    if not isinstance(value, str) or value == "infinite":
        return None
    if len(value) == 10:
        return _midnight(date.fromisoformat(value), tz)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _day(value: Any, tz: ZoneInfo) -> date | None:
    if not isinstance(value, str) or value == "infinite":
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(tz).date()


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return _earlier(a, b)


def _earliest_day(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else min(a, b)
