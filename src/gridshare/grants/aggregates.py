"""Who an Aggregation's dataset is made of, and the Customer consents it may need (CDS-WG3-01
§4.11 Whole-Building Data, §4.12 Aggregated Data, §10.7.7, §12.3 Data Anonymization).

- **Members over time**: an Aggregation groups meters directly (for the periods each was
  installed), the meters installed at its service points (while installed there), the meters that
  measured its Service Contracts (the `grants.relations` spans: while the contract was served at
  the meter's point) and its Accounts' contracts, and recursively the members of the Aggregations
  it groups. `member_meters` gives, per Aggregation, each meter with the UTC windows in which its
  readings count in the aggregated usage.
- **Customers**: the Customers whose Service Contracts any of those meters measured while a member
  (`member_customers`, with the premise numbers of the points involved), counted against
  `Settings.aggregation_minimum_customers`: an Aggregation with fewer Customers is Potentially
  Identifying Aggregated Data (§12.3), so a Usage Query Grant naming it needs each Customer's
  Aggregation Inclusion (§6.1.10) through child Grants (`ask_consents`); once every child is
  active the parent becomes active (`child_authorized`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants.grants import create_grant, grant_uri, set_status
from gridshare.grants.messages import changelog
from gridshare.grants.reach import Window, merge_windows, midnight
from gridshare.grants.scopes import Catalogue
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import Aggregation, AggregationMember
from gridshare.store.tables.clients import Client
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import Premise, ServicePointContract, ServicePointPremise

USAGE_QUERY: Final = "cds_query_usage"
AGGREGATION_INCLUSION: Final = "cds_aggregation_consent"
NEEDS_SUB_GRANTS: Final = "needs_sub_grants"


@dataclass
class Members:
    """What one Aggregation groups, its sub-Aggregations' members included."""

    meters: set[str] = field(default_factory=set)
    points: set[str] = field(default_factory=set)
    contracts: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)


@dataclass
class Dataset:
    """Per Aggregation: meter id -> windows its readings count in; Customer id -> premise
    numbers of the member points that served them."""

    meters: dict[str, list[Window]] = field(default_factory=lambda: defaultdict(list))
    customers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def members(session: Session, aggregation_ids: Iterable[str]) -> dict[str, Members]:
    """Each Aggregation's members, sub-Aggregations followed (a cycle is followed once)."""
    rows: dict[str, list[AggregationMember]] = defaultdict(list)
    frontier = set(aggregation_ids)
    seen: set[str] = set()
    while frontier:
        seen |= frontier
        found = session.scalars(
            select(AggregationMember).where(AggregationMember.aggregation_id.in_(sorted(frontier)))
        ).all()
        for row in found:
            rows[row.aggregation_id].append(row)
        frontier = {
            row.member_aggregation_id for row in found if row.member_aggregation_id is not None
        } - seen
    result: dict[str, Members] = {}
    for aggregation_id in aggregation_ids:
        grouped = Members()
        stack, visited = [aggregation_id], set()
        while stack:
            current = stack.pop()
            if current in visited:
                continue
            visited.add(current)
            for row in rows.get(current, ()):
                if row.meter_id is not None:
                    grouped.meters.add(row.meter_id)
                if row.service_point_id is not None:
                    grouped.points.add(row.service_point_id)
                if row.contract_id is not None:
                    grouped.contracts.add(row.contract_id)
                if row.account_id is not None:
                    grouped.accounts.add(row.account_id)
                if row.member_aggregation_id is not None:
                    stack.append(row.member_aggregation_id)
        result[aggregation_id] = grouped
    return result


def datasets(session: Session, tz: ZoneInfo, aggregation_ids: Iterable[str]) -> dict[str, Dataset]:
    """Each Aggregation's member meters with their windows, and its Customers (module doc)."""
    grouped = members(session, aggregation_ids)
    meters = set().union(*(g.meters for g in grouped.values()))
    points = set().union(*(g.points for g in grouped.values()))
    contracts = set().union(*(g.contracts for g in grouped.values()))
    accounts = set().union(*(g.accounts for g in grouped.values()))
    installed: list[tuple[str, str, Window]] = [
        (meter, point, Window(midnight(start, tz), midnight(end, tz)))
        for meter, point, start, end in session.execute(
            select(
                MeterInstallation.meter_id,
                MeterInstallation.service_point_id,
                MeterInstallation.start,
                MeterInstallation.end,
            ).where(
                or_(
                    MeterInstallation.meter_id.in_(sorted(meters)),
                    MeterInstallation.service_point_id.in_(sorted(points)),
                )
            )
        )
    ]
    spans = _spans(session, tz, meters, points, contracts, accounts)
    premises: dict[str, set[str]] = defaultdict(set)
    for point, number in session.execute(
        select(ServicePointPremise.service_point_id, Premise.premise_number)
        .join(Premise, Premise.id == ServicePointPremise.premise_id)
        .where(ServicePointPremise.service_point_id.in_(sorted({s.point for s in spans})))
    ):
        if number is not None:
            premises[point].add(number)
    result: dict[str, Dataset] = {}
    for aggregation_id, g in grouped.items():
        dataset = Dataset()
        for meter, point, window in installed:
            if meter in g.meters or point in g.points:
                dataset.meters[meter].append(window)
        for s in spans:
            if s.contract in g.contracts or s.account in g.accounts:
                dataset.meters[s.meter].append(s.window)
        counted = {m: merge_windows(w) for m, w in dataset.meters.items()}
        for s in spans:
            if any(w.clip(s.window) is not None for w in counted.get(s.meter, ())):
                dataset.customers[s.customer] |= premises.get(s.point, set())
        result[aggregation_id] = dataset
    return result


def member_meters(
    session: Session, tz: ZoneInfo, aggregation_ids: Iterable[str]
) -> dict[str, dict[str, tuple[Window, ...]]]:
    """Per Aggregation, each member meter and the merged windows its readings count in."""
    return {
        aggregation_id: {m: merge_windows(w) for m, w in dataset.meters.items()}
        for aggregation_id, dataset in datasets(session, tz, aggregation_ids).items()
    }


@dataclass(frozen=True)
class _Span:
    meter: str
    point: str
    contract: str
    account: str
    customer: str
    window: Window


def _spans(
    session: Session,
    tz: ZoneInfo,
    meters: set[str],
    points: set[str],
    contracts: set[str],
    accounts: set[str],
) -> list[_Span]:
    """The periods a meter measured a point while a contract was served there, for every meter,
    point, contract or account named."""
    query = (
        select(
            MeterInstallation.meter_id,
            MeterInstallation.service_point_id,
            MeterInstallation.start,
            MeterInstallation.end,
            ServicePointContract.contract_id,
            ServicePointContract.start,
            ServicePointContract.end,
            ServiceContract.account_id,
            Account.customer_id,
        )
        .join(
            ServicePointContract,
            ServicePointContract.service_point_id == MeterInstallation.service_point_id,
        )
        .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
        .join(Account, Account.id == ServiceContract.account_id)
        .where(
            or_(
                MeterInstallation.meter_id.in_(sorted(meters)),
                MeterInstallation.service_point_id.in_(sorted(points)),
                ServicePointContract.contract_id.in_(sorted(contracts)),
                ServiceContract.account_id.in_(sorted(accounts)),
            )
        )
    )
    found = []
    for (
        meter,
        point,
        m_start,
        m_end,
        contract,
        c_start,
        c_end,
        account,
        customer,
    ) in session.execute(query):
        measured = Window(midnight(m_start, tz), midnight(m_end, tz))
        overlap = measured.clip(Window(midnight(c_start, tz), midnight(c_end, tz)))
        if overlap is not None and customer is not None:
            found.append(_Span(meter, point, contract, account, customer, overlap))
    return found


# --- consent (§4.11) ---------------------------------------------------------------------------


def named_aggregations(session: Session, numbers: Sequence[str]) -> dict[str, str]:
    """Aggregation id -> number, for the Aggregations these `aggregation_numbers` name."""
    if not numbers:
        return {}
    query = select(Aggregation.id, Aggregation.aggregation_number)
    if "_all" not in numbers:
        query = query.where(Aggregation.aggregation_number.in_(list(numbers)))
    return {i: n or "" for i, n in session.execute(query)}


def usage_query_numbers(catalogue: Catalogue, details: Sequence[Mapping[str, Any]]) -> list[str]:
    """The `aggregation_numbers` of a request's Usage Query entries (§4.11, §4.12)."""
    found: list[str] = []
    for entry in details:
        described = catalogue.scope_for_type(str(entry.get("type")))
        numbers = entry.get("aggregation_numbers")
        if described is not None and described.type == USAGE_QUERY and isinstance(numbers, list):
            found += [str(n) for n in numbers if str(n) not in found]
    return found


def below_threshold(
    session: Session, settings: Settings, numbers: Sequence[str]
) -> dict[str, Dataset]:
    """The named Aggregations with fewer distinct Customers than the anonymization threshold
    (`GRIDSHARE_AGGREGATION_MINIMUM_CUSTOMERS`), with their datasets."""
    named = named_aggregations(session, numbers)
    found = datasets(session, settings.tz, sorted(named))
    return {
        aggregation_id: dataset
        for aggregation_id, dataset in found.items()
        if len(dataset.customers) < settings.aggregation_minimum_customers
    }


def consent_client(session: Session, catalogue: Catalogue, client: Client) -> Client | None:
    """The Client Object of `client`'s registration that has the Aggregation Inclusion scope
    (another one than `client`, one with the same status first), or None."""
    candidates = [
        other
        for other in session.scalars(
            select(Client).where(Client.registration_id == client.registration_id)
        )
        if other.status != "disabled" and inclusion_scope(catalogue, other) is not None
    ]
    candidates.sort(
        key=lambda c: (c.client_id == client.client_id, c.status != client.status, c.client_id)
    )
    return candidates[0] if candidates else None


def inclusion_scope(catalogue: Catalogue, client: Client) -> str | None:
    """The id of the Client Object's Aggregation Inclusion scope, if it has one."""
    for scope_id in client.scope.split():
        described = catalogue.get(scope_id)
        if described is not None and described.type == AGGREGATION_INCLUSION:
            return scope_id
    return None


class NoInclusionClient(ValueError):
    """A Usage Query over too small Aggregations, from a registration without an Aggregation
    Inclusion Client Object to ask the Customers with."""


def usage_query_grant(
    session: Session,
    settings: Settings,
    catalogue: Catalogue,
    client: Client,
    scope: str,
    details: list[dict[str, Any]],
    numbers: Sequence[str],
) -> Grant:
    """A server-created Usage Query Grant over the Aggregations `numbers` (§4.11): `pending`, then
    `active` when every Aggregation has enough Customers to be anonymous (§12.3), else
    `needs_sub_grants` with a child Grant per Customer whose Aggregation Inclusion it needs. The
    token endpoint and a staff-approved grant_request both make them here."""
    needed = below_threshold(session, settings, numbers)
    consenting = None
    if needed:
        consenting = consent_client(session, catalogue, client)
        if consenting is None:
            raise NoInclusionClient(
                f"the Aggregations {' '.join(sorted(numbers))} include some with fewer than "
                f"{settings.aggregation_minimum_customers} customers, whose usage needs each "
                "customer's Aggregation Inclusion consent: register a Client Object with the "
                "Aggregation Inclusion scope (cds_aggregation_consent) in this registration first"
            )
    grant = create_grant(
        session,
        client_id=client.client_id,
        scope=scope,
        authorization_details=details,
        status="pending",
    )
    if consenting is None:
        set_status(session, grant, "active")
    else:
        ask_consents(session, catalogue, grant, consenting, needed)
    return grant


def ask_consents(
    session: Session,
    catalogue: Catalogue,
    grant: Grant,
    consenting: Client,
    needed: Mapping[str, Dataset],
) -> list[Grant]:
    """One child Grant per Customer of the Aggregations `needed` (§4.11): `needs_authorization`,
    for `consenting`'s Aggregation Inclusion scope, naming the Aggregations and that Customer's
    premise numbers; the parent becomes `needs_sub_grants` with nothing enabled."""
    scope_id = inclusion_scope(catalogue, consenting)
    assert scope_id is not None
    numbers = named_numbers(session, needed)
    per_customer: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for aggregation_id, dataset in needed.items():
        for customer_id, premises in dataset.customers.items():
            per_customer[customer_id][0].add(numbers[aggregation_id])
            per_customer[customer_id][1].update(premises)
    children = [
        create_grant(
            session,
            client_id=consenting.client_id,
            scope=scope_id,
            authorization_details=[
                {
                    "type": scope_id,
                    "aggregation_numbers": sorted(aggregations),
                    "premise_numbers": sorted(premises),
                }
            ],
            customer_id=customer_id,
            status="needs_authorization",
            parent_id=grant.grant_id,
        )
        for customer_id, (aggregations, premises) in sorted(per_customer.items())
    ]
    set_status(session, grant, NEEDS_SUB_GRANTS, enabled_scope="", enabled_authorization_details=[])
    return children


def named_numbers(session: Session, datasets_: Mapping[str, Dataset]) -> dict[str, str]:
    return {
        i: n or ""
        for i, n in session.execute(
            select(Aggregation.id, Aggregation.aggregation_number).where(
                Aggregation.id.in_(sorted(datasets_))
            )
        )
    }


def child_authorized(session: Session, settings: Settings, child: Grant) -> Grant | None:
    """After a Customer authorized a child Grant: when every child of its `needs_sub_grants`
    parent is active, the parent becomes `active` with its full scope enabled (§4.11), and a
    notification records the change (CDS-WG1-02 §6). Returns the parent it activated."""
    if child.parent_id is None:
        return None
    parent = session.get(Grant, child.parent_id)
    if parent is None or parent.status != NEEDS_SUB_GRANTS:
        return None
    session.flush()
    statuses = session.scalars(select(Grant.status).where(Grant.parent_id == parent.grant_id))
    if any(status != "active" for status in statuses):
        return None
    set_status(session, parent, "active")
    owner = session.get(Client, parent.client_id)
    if owner is not None:
        changelog(
            session,
            owner.registration_id,
            f"Grant {parent.grant_id} active",
            f"Every Customer consent its Aggregations need was given; Grant {parent.grant_id} "
            "now gives access to their aggregated usage.",
            related_uri=grant_uri(settings, parent.grant_id),
            related_type="grant",
        )
    return parent
