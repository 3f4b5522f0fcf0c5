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
   - Server-created Grants (client_credentials, §6.2, or a staff-approved grant_request): each
     preselection field (§7.1) matches the records it names (account numbers match Accounts,
     meter numbers Meter Devices, as on the authorization form, `grants.selections.preselect`),
     which reach the scope's objects through their relations; the fields are intersected. A
     direct-access scope (§6.2) without preselection fields reaches every object of its kind
     ("every"); a consent scope without a Customer and without preselections reaches nothing.
   - A server-created Usage Query entry naming `aggregation_numbers` (§4.11, §4.12) reaches the
     named Aggregations' aggregated usage (`UsageReach.aggregations`, within its usage window;
     `addresses` narrow the Aggregations), never the members' own usage or records (§12.3);
     with `include_aggregations` it also reaches those Aggregation objects.
2. **Related objects** (§7.2.x "Related ... objects are ..."): every `include_*` flag that is true,
   by the scope's defaults (§6.1.x / §6.2.x "treat this Scope as having included `true` values") or
   by the request, adds the objects related to what is already reached, until nothing changes
   (`grants.relations`). The scope's own kind stays what was selected, and relations never leave
   the records of the Customers the entry reached: an Aggregation's other members are not reached
   through it (docs/spec-decisions.md).
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
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gridshare.grants import consent_scopes, direct_scopes, selections
from gridshare.grants.authorization_details import encryption_keys
from gridshare.grants.reach import (
    ACCOUNTS,
    AGGREGATIONS,
    CONTRACTS,
    INCLUDE,
    KINDS,
    METERS,
    POINTS,
    SECTIONS,
    STATEMENTS,
    USAGE,
    Reach,
    UsageReach,
    Window,
    earlier,
    merge_windows,
    midnight,
)
from gridshare.grants.relations import (
    UNDATED,
    Dates,
    World,
    close,
    derive,
    held,
    load_world,
    members_of,
    reached_usage,
)
from gridshare.grants.scopes import Catalogue
from gridshare.store.db import utcnow
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import Aggregation, AggregationMember
from gridshare.store.tables.contracts import ServiceContract
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
    catalogue: Catalogue | None = None
    """The scope catalogue the Access was built with (for a 403's advice, `scopes_giving`)."""

    def reach(self, kind: str) -> Reach | None:
        return self.reaches.get(kind)

    def scopes_giving(self, kind: str) -> tuple[str, ...]:
        """The catalogue's scopes whose type includes `kind` by default (§6.1, §6.2): computed
        only when a request is refused for lack of them."""
        flag = INCLUDE[kind]
        scopes = self.catalogue.scopes.items() if self.catalogue is not None else ()
        return tuple(i for i, described in scopes if flag in DEFAULTS.get(described.type, ()))


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
        catalogue=catalogue,
    )


def own_access(
    session: Session,
    catalogue: Catalogue,
    customer_id: str,
    tz: ZoneInfo,
    usage_scope_id: str,
    now: datetime | None = None,
) -> Access:
    """A logged-in Customer's own records (Green Button Download My Data): what a Grant of
    `usage_scope_id` for every account they hold, now and in future, with its related service
    points, meters, contracts and bill sections would reach. It is built the same way, so a
    Customer downloads exactly what they could authorize an app to read."""
    own = Grant(
        grant_id=f"own:{customer_id}",
        client_id="",
        customer_id=customer_id,
        scope=usage_scope_id,
        enabled_scope=usage_scope_id,
        selections=[
            {
                "scopes": [usage_scope_id],
                "type": selections.ACCOUNTS,
                "ids": [],
                "include_future": True,
            }
        ],
    )
    entry = {
        "type": usage_scope_id,
        "include_service_points": True,
        "include_meter_devices": True,
        "include_service_contracts": True,
        "include_accounts": True,
        "include_bill_sections": True,
    }
    builder = _Builder(session, catalogue, tz, now or utcnow())
    builder.add(own, usage_scope_id, catalogue.scopes[usage_scope_id].type, entry)
    return replace(builder.access("", (), ()), catalogue=catalogue)


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
        self.aggregations: dict[str, list[Window]] = defaultdict(list)
        self.formats: set[str] | None = set()
        self.enabled: set[str] = set()
        self.scope_types: set[str] = set()
        self.worlds: dict[str, World] = {}

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
            scope_type == "cds_query_usage"
            and grant.customer_id is None
            and entry.get("aggregation_numbers") is not None
        ):
            self._aggregated(entry, flags, usage_window)
            return
        if (
            grant.customer_id is None
            and scope_type.startswith("cds_query_")
            and not any(entry.get(f) is not None for f in selections.RULES)
        ):
            self._everything(base_kind, flags, usage_window)
            return
        world, seeds, named = self._seeds(grant, scope_id, scope_type, base_kind, entry)
        if world is None:
            return
        reached = close(world, base_kind, seeds, flags, self._windows(entry))
        for kind, ids in named.items():
            # §7.1.x "Direct access": objects of a kind a preselection field names are only the
            # listed ones, wherever they are reached from.
            reached[kind] &= ids
            if kind == METERS:
                reached[USAGE] &= ids
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

    def _aggregated(self, entry: Mapping[str, Any], flags: set[str], window: Window) -> None:
        """A server-created Usage Query naming `aggregation_numbers` (§4.11, §4.12): the named
        Aggregations' aggregated usage, never their members' own usage or records."""
        requested = {
            f: tuple(str(v) for v in entry[f])
            for f in ("aggregation_numbers", "addresses")
            if entry.get(f) is not None
        }
        for aggregation_id in self._aggregations_named(requested):
            self.aggregations[aggregation_id].append(window)
            if INCLUDE[AGGREGATIONS] in flags:
                self.flags[AGGREGATIONS][aggregation_id] |= flags

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
    ) -> tuple[World | None, dict[str, set[str]], dict[str, set[str]]]:
        """The records, the seeds the scope's objects derive from, and for a server-created
        Grant the objects each kind's preselection fields name (the only ones of that kind it
        may reach)."""
        if grant.customer_id is not None:
            world = self._world([grant.customer_id])
            return world, self._selected(world, grant, scope_id), {}
        requested = {
            f: tuple(str(v) for v in entry[f]) for f in selections.RULES if entry.get(f) is not None
        }
        if not requested:
            return None, {}, {}
        if base_kind == AGGREGATIONS:
            listed = self._aggregations_named(requested)
            return self._world([]), {AGGREGATIONS: listed}, {AGGREGATIONS: listed}
        customers = self._customers_named(requested)
        world = self._world(sorted(customers))
        seed_kind = _seed_kind(base_kind)
        today = self.now.astimezone(self.tz).date()
        graphs = [selections.CustomerGraph.load(self.session, c, today) for c in sorted(customers)]
        found: set[str] | None = None
        named: dict[str, set[str]] = {}
        for field_id, values in requested.items():
            kind = NATURAL.get(field_id, seed_kind)
            selection_type = KIND_SELECTION[kind]
            matched: set[str] = set()
            for graph in graphs:
                chosen = selections.preselect(
                    graph.resources(selection_type), selection_type, {field_id: values}
                )
                matched |= chosen.ids
            if field_id in NATURAL:
                named[kind] = named[kind] & matched if kind in named else matched
            seeds = members_of(world, matched) if kind == AGGREGATIONS else {kind: matched}
            related = derive(world, seeds, seed_kind, UNDATED)
            found = related if found is None else found & related
        return world, {seed_kind: found or set()}, named

    def _selected(self, world: World, grant: Grant, scope_id: str) -> dict[str, set[str]]:
        seeds: dict[str, set[str]] = defaultdict(set)
        for record in grant.selections:
            if scope_id not in record.get("scopes", ()):
                continue
            kind = SELECTION_KIND.get(record.get("type", ""))
            if kind is None:
                continue
            owned = held(world, kind)
            seeds[kind] |= set(record.get("ids", ())) & owned
            if record.get("include_future") and kind in (ACCOUNTS, CONTRACTS):
                seeds[kind] |= owned
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

    def _world(self, customer_ids: Sequence[str]) -> World:
        key = " ".join(customer_ids)
        if key not in self.worlds:
            self.worlds[key] = load_world(self.session, customer_ids, self.tz)
        return self.worlds[key]

    def _usage_window(self, entry: Mapping[str, Any]) -> Window:
        start = _instant(entry.get("segment_start"), self.tz)
        end = _earliest(
            _instant(entry.get("segment_end"), self.tz),
            _instant(entry.get("sync_until"), self.tz),
        )
        return Window(start, end)

    def _windows(self, entry: Mapping[str, Any]) -> Dates:
        sync = _day(entry.get("sync_until"), self.tz)
        return Dates(
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
                {m: merge_windows(w) for m, w in self.usage.items()},
                merge_windows(self.usage_every) if self.usage_every else None,
                None if self.formats is None else frozenset(self.formats),
                {a: merge_windows(w) for a, w in self.aggregations.items()},
            )
        return Access(client_id, grant_ids, frozenset(self.scope_types), reaches, usage, jwks)


def _seed_kind(base_kind: str) -> str:
    """The Selection kind whose preselection picks the base objects (§7.1 rules)."""
    return {STATEMENTS: ACCOUNTS, SECTIONS: CONTRACTS, USAGE: METERS}.get(base_kind, base_kind)


def _instant(value: Any, tz: ZoneInfo) -> datetime | None:
    """A resolved duration field (absolute date or datetime, or "infinite") as a UTC instant."""
    if not isinstance(value, str) or value == "infinite":
        return None
    if len(value) == 10:
        return midnight(date.fromisoformat(value), tz)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _day(value: Any, tz: ZoneInfo) -> date | None:
    if not isinstance(value, str) or value == "infinite":
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(tz).date()


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return earlier(a, b)


def _earliest_day(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else min(a, b)
