"""Green Button retail customer data read through an Access (NAESB REQ.21 ESPI FB_46
`Batch/RetailCustomer/{id}`, FB_50 `RetailCustomer/{id}/Customer/...`, and PG&E Share My Data's
`Batch/RetailDRPrgInfo/{id}`; DIGEST §2, §5, §7).

**Which records.** The RetailCustomer id is the Grant id (PG&E: RetailCustomerID =
AuthorizationID = SubscriptionID). It must be one of the Access's Grants and one a Customer
authorized; any other id is `NotFound`. The walk starts from that Customer and never leaves their
records: Customer -> their Accounts -> the Accounts' Service Contracts -> the Service Points each
contract was served through -> the Meter Devices installed there while it was.

**What is readable (DESIGN rule 2).** A resource is listed only when the Access reaches its object
and every object above it in its path (as the CDS APIs name a parent only when the token reaches
it); the Customer is listed when one of its Accounts is. Optional elements follow the include flags
that reached the object, as the CDS APIs' fields do:

- Customer: name, kind, phone and email with `include_account_details` on one of its reached
  Accounts (else an empty `Customer`).
- CustomerAccount: `accountId` with `include_account_numbers`; `status` and `contactInfo` with
  `include_account_details`.
- CustomerAgreement: `agreementId` and the ServiceSupplier resources with
  `include_contract_numbers` (CDS `contract_number`, `contract_entity`); `validityInterval` with
  `include_service_contract_details`; `DemandResponseProgram` with `include_service_programs`;
  `status` (CDS `contract_status`) and `currency` always.
- ServiceLocation: `mainAddress` with `include_service_point_addresses`, `positionPoints` with
  `include_coordinates`; the Subscription's UsagePoint URI when function block 1 is authorized and
  the Access reaches usage a meter measured there while one of the Customer's contracts was served.
- Meter: `serialNumber` with `include_meter_numbers`.

**Function blocks** (DIGEST §7): 51 Retail Customer Common is required; 55 gives Customer, 56
CustomerAccount, CustomerAgreement and ServiceSupplier, 58 ServiceLocation, 60 Meter. A Batch
lists only the authorized kinds, and links (`related`) only to authorized child collections. A
request for a kind the blocks do not cover is `OutOfScope` (403: decided from the token before any
id is looked up); an unknown path, or an id unknown or unreachable, is `NotFound` (404, one answer
whether or not the id exists).

**DR enrollment** (`Batch/RetailDRPrgInfo/{id}`, PG&E's custom "DR Enrollment Info" at the
customer level): the same CustomerAgreement entries as in the Batch, only those that carry
`DemandResponseProgram` elements, so the document validates against customer.xsd (needs FB 56).

Records are read in a few queries up front (one Customer's records); entries are made lazily.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Final

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.resources import Paths, usage_point
from gridshare.espi.resources.retail_customer import (
    ACCOUNT,
    AGREEMENT,
    CHILDREN,
    CUSTOMER,
    LOCATION,
    METER,
    RETAIL_CUSTOMER,
    SUPPLIER,
    account_element,
    agreement_element,
    customer_element,
    location_element,
    meter_element,
    retail_entry,
    supplier_element,
)
from gridshare.grants.access import Access
from gridshare.grants.reach import ACCOUNTS, CONTRACTS, METERS, POINTS, Window, midnight
from gridshare.store.tables.accounts import Account, AccountContact
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.programs import Entity, Participation, Program
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from gridshare.store.tables.usage import Channel

COMMON: Final = 51
"""Retail Customer Common: required for every retail customer resource."""
USAGE_COMMON: Final = 1
BLOCKS: Final[Mapping[str, int]] = {
    CUSTOMER: 55,
    ACCOUNT: 56,
    AGREEMENT: 56,
    SUPPLIER: 56,
    LOCATION: 58,
    METER: 60,
}
"""The function block that authorizes each kind of resource."""
DEMAND_RESPONSE: Final = "demand_response"
"""The Program kind whose participations are DemandResponsePrograms."""
ACCOUNT_NUMBERS: Final = "include_account_numbers"
ACCOUNT_DETAILS: Final = "include_account_details"
CONTRACT_NUMBERS: Final = "include_contract_numbers"
CONTRACT_DETAILS: Final = "include_service_contract_details"
SERVICE_PROGRAMS: Final = "include_service_programs"
ADDRESSES: Final = "include_service_point_addresses"
COORDINATES: Final = "include_coordinates"
METER_NUMBERS: Final = "include_meter_numbers"


class NotFound(LookupError):
    """No such resource for this token: an unknown path, or an id unknown or out of reach."""


class OutOfScope(PermissionError):
    """The token's function blocks do not authorize this kind of resource."""


def batch_retail_customer(
    session: Session,
    settings: Settings,
    access: Access,
    retail_customer_id: str,
    blocks: frozenset[int],
) -> Iterator[atom.Entry]:
    """Every entry of `Batch/RetailCustomer/{id}` the blocks authorize, parents before children."""
    authorize(blocks)
    tree = _load(session, settings, access, retail_customer_id, blocks)
    return tree.entries(n for n in tree.nodes if BLOCKS[n.kind] in blocks)


def retail_member(
    session: Session,
    settings: Settings,
    access: Access,
    retail_customer_id: str,
    blocks: frozenset[int],
    path: Sequence[str],
) -> atom.Entry:
    """The entry of `RetailCustomer/{id}/{path}`, path = kind, id, kind, id, ... (FB_50)."""
    kinds = _kinds(path)
    if len(path) % 2:
        raise NotFound("a member path ends with an id")
    authorize(blocks, kinds[-1])
    tree = _load(session, settings, access, retail_customer_id, blocks)
    node = tree.by_path.get(tuple(path))
    if node is None:
        raise NotFound(f"no {kinds[-1]} {path[-1]} for this authorization")
    return tree.entry(node)


def retail_collection(
    session: Session,
    settings: Settings,
    access: Access,
    retail_customer_id: str,
    blocks: frozenset[int],
    path: Sequence[str],
) -> Iterator[atom.Entry]:
    """The entries of the collection `RetailCustomer/{id}/{path}`, path = kind, id, ..., kind."""
    kinds = _kinds(path)
    if len(path) % 2 == 0:
        raise NotFound("a collection path ends with a kind of resource")
    authorize(blocks, kinds[-1])
    tree = _load(session, settings, access, retail_customer_id, blocks)
    parent = tuple(path[:-1])
    if parent and parent not in tree.by_path:
        raise NotFound(f"no {kinds[-2]} {parent[-1]} for this authorization")
    return tree.entries(n for n in tree.nodes if n.path[:-2] == parent and n.kind == kinds[-1])


def dr_enrollments(
    session: Session,
    settings: Settings,
    access: Access,
    retail_customer_id: str,
    blocks: frozenset[int],
) -> Iterator[atom.Entry]:
    """`Batch/RetailDRPrgInfo/{id}`: the CustomerAgreements carrying DemandResponsePrograms."""
    authorize(blocks, AGREEMENT)
    tree = _load(session, settings, access, retail_customer_id, blocks)
    return tree.entries(n for n in tree.nodes if n.demand_response)


def authorize(blocks: frozenset[int], *kinds: str) -> None:
    """Raise OutOfScope unless the blocks include FB 51 and the block of each kind."""
    if COMMON not in blocks:
        raise OutOfScope("retail customer data needs function block 51 (Retail Customer Common)")
    for kind in kinds:
        if BLOCKS[kind] not in blocks:
            raise OutOfScope(f"{kind} resources need function block {BLOCKS[kind]}")


def _kinds(path: Sequence[str]) -> list[str]:
    """The kinds along an FB_50 path, checked against the nesting (NotFound when it is not one)."""
    kinds = list(path[0::2])
    if not kinds or not all(path[1::2]):
        raise NotFound("not a retail customer resource path")
    parent: str | None = None
    for kind in kinds:
        if kind not in CHILDREN.get(parent, ()):
            raise NotFound(f"there are no {kind} resources under {parent or RETAIL_CUSTOMER}")
        parent = kind
    return kinds


@dataclass(frozen=True)
class _Node:
    path: tuple[str, ...]
    """kind, id, kind, id, ... below `RetailCustomer/{id}`"""
    content: Callable[[], etree._Element]
    published: datetime
    updated: datetime
    demand_response: bool = False

    @property
    def kind(self) -> str:
        return self.path[-2]


@dataclass(frozen=True)
class _Tree:
    settings: Settings
    retail_customer_id: str
    blocks: frozenset[int]
    nodes: Sequence[_Node]

    @property
    def by_path(self) -> Mapping[tuple[str, ...], _Node]:
        return {n.path: n for n in self.nodes}

    def entry(self, node: _Node) -> atom.Entry:
        related = [child for child in CHILDREN[node.kind] if BLOCKS[child] in self.blocks]
        return retail_entry(
            self.settings,
            self.retail_customer_id,
            node.path,
            node.content(),
            node.published,
            node.updated,
            related,
        )

    def entries(self, nodes: Iterable[_Node]) -> Iterator[atom.Entry]:
        return (self.entry(node) for node in nodes)


def _load(
    session: Session,
    settings: Settings,
    access: Access,
    retail_customer_id: str,
    blocks: frozenset[int],
) -> _Tree:
    if retail_customer_id not in access.grant_ids:
        raise NotFound(f"no RetailCustomer {retail_customer_id} for this authorization")
    grant = session.get(Grant, retail_customer_id)
    if grant is None or grant.customer_id is None:
        raise NotFound(f"no RetailCustomer {retail_customer_id} for this authorization")
    customer = session.get_one(Customer, grant.customer_id)
    records = _Records.load(session, access, customer.id)
    nodes = _Builder(settings, access, retail_customer_id, blocks, records).nodes(customer)
    return _Tree(settings, retail_customer_id, blocks, nodes)


def _flags(access: Access, kind: str, object_id: str) -> frozenset[str] | None:
    """The include flags that reached the object, None when it is out of reach."""
    reach = access.reach(kind)
    return None if reach is None else reach.flags(object_id)


@dataclass
class _Records:
    """One Customer's records the Access reaches, along reached paths (module docstring)."""

    accounts: list[Account]
    contracts: dict[str, list[ServiceContract]]
    """account id -> its reached contracts"""
    links: dict[str, dict[str, list[ServicePointContract]]]
    """contract id -> reached point id -> the periods the contract was served there"""
    points: dict[str, ServicePoint]
    installs: dict[str, list[MeterInstallation]]
    """point id -> every installation there (reached meters or not: usage reach is per meter)"""
    meters: dict[str, MeterDevice]
    """reached meters"""
    intervals: dict[str, int]
    contacts: dict[str, list[AccountContact]]
    currencies: dict[str, str]
    """rate plan id -> ISO 4217 code"""
    entities: dict[str, Entity]
    programs: dict[str, list[tuple[Participation, Program]]]
    """contract id -> its demand-response participations"""

    @classmethod
    def load(cls, session: Session, access: Access, customer_id: str) -> _Records:
        accounts = [
            a
            for a in session.scalars(
                select(Account).where(Account.customer_id == customer_id).order_by(Account.id)
            )
            if _flags(access, ACCOUNTS, a.id) is not None
        ]
        contracts: dict[str, list[ServiceContract]] = defaultdict(list)
        for contract in session.scalars(
            select(ServiceContract)
            .where(ServiceContract.account_id.in_([a.id for a in accounts]))
            .order_by(ServiceContract.id)
        ):
            if _flags(access, CONTRACTS, contract.id) is not None:
                contracts[contract.account_id].append(contract)
        reached = [c for listed in contracts.values() for c in listed]
        links: dict[str, dict[str, list[ServicePointContract]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for link in session.scalars(
            select(ServicePointContract)
            .where(ServicePointContract.contract_id.in_([c.id for c in reached]))
            .order_by(ServicePointContract.service_point_id, ServicePointContract.start)
        ):
            if _flags(access, POINTS, link.service_point_id) is not None:
                links[link.contract_id][link.service_point_id].append(link)
        point_ids = {p for by_point in links.values() for p in by_point}
        points = {
            p.id: p
            for p in session.scalars(select(ServicePoint).where(ServicePoint.id.in_(point_ids)))
        }
        installs: dict[str, list[MeterInstallation]] = defaultdict(list)
        for installed in session.scalars(
            select(MeterInstallation)
            .where(MeterInstallation.service_point_id.in_(point_ids))
            .order_by(MeterInstallation.meter_id, MeterInstallation.start)
        ):
            installs[installed.service_point_id].append(installed)
        meter_ids = {
            i.meter_id
            for listed in installs.values()
            for i in listed
            if _flags(access, METERS, i.meter_id) is not None
        }
        meters = {
            m.id: m
            for m in session.scalars(select(MeterDevice).where(MeterDevice.id.in_(meter_ids)))
        }
        intervals = {
            meter_id: shortest
            for meter_id, shortest in session.execute(
                select(Channel.meter_id, func.min(Channel.interval_seconds))
                .where(Channel.meter_id.in_(meter_ids), Channel.interval_seconds > 0)
                .group_by(Channel.meter_id)
            )
        }
        contacts: dict[str, list[AccountContact]] = defaultdict(list)
        for contact in session.scalars(
            select(AccountContact)
            .where(AccountContact.account_id.in_([a.id for a in accounts]))
            .order_by(AccountContact.id)
        ):
            contacts[contact.account_id].append(contact)
        plans = {c.rate_plan_id for c in reached} - {None}
        currencies = {
            plan_id: currency
            for plan_id, currency in session.execute(
                select(RatePlan.id, RatePlan.currency).where(RatePlan.id.in_(plans))
            )
        }
        entity_ids = {
            e for c in reached for e in (c.distribution_entity_id, c.supply_entity_id) if e
        }
        entities = {
            e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(entity_ids)))
        }
        programs: dict[str, list[tuple[Participation, Program]]] = defaultdict(list)
        for participation, program in session.execute(
            select(Participation, Program)
            .join(Program, Program.id == Participation.program_id)
            .where(Participation.contract_id.in_([c.id for c in reached]))
            .order_by(Program.program_number, Participation.id)
        ):
            if DEMAND_RESPONSE in program.kinds and participation.contract_id is not None:
                programs[participation.contract_id].append((participation, program))
        return cls(
            accounts,
            contracts,
            links,
            points,
            installs,
            meters,
            intervals,
            contacts,
            currencies,
            entities,
            programs,
        )


@dataclass(frozen=True)
class _Builder:
    settings: Settings
    access: Access
    retail_customer_id: str
    blocks: frozenset[int]
    records: _Records

    def nodes(self, customer: Customer) -> list[_Node]:
        """Every reached resource, parents before children, each level ordered by id."""
        r = self.records
        if not r.accounts:
            return []
        detailed = [a for a in r.accounts if ACCOUNT_DETAILS in self._of(ACCOUNTS, a.id)]
        types = [t for a in detailed for t in a.types]
        root = (CUSTOMER, customer.id)
        found = [
            _Node(
                root,
                partial(customer_element, customer, types, bool(detailed)),
                customer.created,
                customer.modified,
            )
        ]
        for account in r.accounts:
            flags = self._of(ACCOUNTS, account.id)
            path = (*root, ACCOUNT, account.id)
            found.append(
                _Node(
                    path,
                    partial(
                        account_element,
                        account,
                        r.contacts[account.id],
                        ACCOUNT_NUMBERS in flags,
                        ACCOUNT_DETAILS in flags,
                    ),
                    account.created,
                    account.modified,
                )
            )
            for contract in r.contracts[account.id]:
                found += self._agreement(path, contract)
        return found

    def _agreement(self, above: tuple[str, ...], contract: ServiceContract) -> list[_Node]:
        r = self.records
        flags = self._of(CONTRACTS, contract.id)
        programs = r.programs[contract.id] if SERVICE_PROGRAMS in flags else []
        path = (*above, AGREEMENT, contract.id)
        content = partial(
            agreement_element,
            contract,
            self.settings.tz,
            CONTRACT_NUMBERS in flags,
            CONTRACT_DETAILS in flags,
            r.currencies.get(contract.rate_plan_id or ""),
            programs,
        )
        found = [_Node(path, content, contract.created, contract.modified, bool(programs))]
        for point_id, served in sorted(r.links[contract.id].items()):
            found += self._location(path, r.points[point_id], served)
        if CONTRACT_NUMBERS in flags:
            named = {contract.distribution_entity_id, contract.supply_entity_id} - {None}
            for entity_id in sorted(e for e in named if e is not None):
                entity = r.entities[entity_id]
                found.append(
                    _Node(
                        (*path, SUPPLIER, entity.id),
                        partial(supplier_element, entity),
                        entity.created,
                        entity.modified,
                    )
                )
        return found

    def _location(
        self, above: tuple[str, ...], point: ServicePoint, served: Sequence[ServicePointContract]
    ) -> list[_Node]:
        """A Service Point under a contract, and the meters installed there while the contract
        was served there."""
        r = self.records
        tz = self.settings.tz
        spans: list[tuple[str, Window]] = []
        for link in served:
            period = Window(midnight(link.start, tz), midnight(link.end, tz))
            for installed in r.installs[point.id]:
                overlap = period.clip(
                    Window(midnight(installed.start, tz), midnight(installed.end, tz))
                )
                if overlap is not None:
                    spans.append((installed.meter_id, overlap))
        flags = self._of(POINTS, point.id)
        usage_points = []
        if USAGE_COMMON in self.blocks and self._measured(spans):
            subscription = Paths(self.settings, self.retail_customer_id)
            usage_points.append(subscription.href(usage_point.path(point.id)))
        path = (*above, LOCATION, point.id)
        content = partial(
            location_element, point, ADDRESSES in flags, COORDINATES in flags, usage_points
        )
        found = [_Node(path, content, point.created, point.modified)]
        for meter_id in sorted({m for m, _ in spans if m in r.meters}):
            meter = r.meters[meter_id]
            found.append(
                _Node(
                    (*path, METER, meter.id),
                    partial(
                        meter_element,
                        meter,
                        METER_NUMBERS in self._of(METERS, meter.id),
                        r.intervals.get(meter.id),
                    ),
                    meter.created,
                    meter.modified,
                )
            )
        return found

    def _measured(self, spans: Sequence[tuple[str, Window]]) -> bool:
        """Whether the Access reaches usage one of these meters measured in its span."""
        usage = self.access.usage
        return usage is not None and any(
            window.clip(span) is not None
            for meter_id, span in spans
            for window in usage.windows(meter_id)
        )

    def _of(self, kind: str, object_id: str) -> frozenset[str]:
        return _flags(self.access, kind, object_id) or frozenset()
