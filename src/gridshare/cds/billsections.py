"""CDS-WG3-01 §10.6 Bill Sections API: Bill Section (§10.6.1), Usage Detail (§10.6.3), Cost Detail
(§10.6.5) and Line Item (§10.6.7) objects, and `GET cds_billsection_api` listing the Bill
Sections the token reaches (`grants.access`, which also applies `start_date`/`end_date`, §7.3.4,
§7.3.5).

- A section's related Service Contracts are its own contract, or for a `sub_account` section the
  sub-account's contracts billed on the same statement (`access.related_contracts`); its related
  Service Points and Meter Devices are those that served one of those contracts during the
  section's days. Every `related_*` list, `cds_billstatement_id` and `cds_account_id` names only
  objects the token reaches (else `[]` / null, as in the Service Contracts API).
- OPTIONAL fields: `line_items` with `include_bill_section_line_items` (§7.2.6.1). `account_number`
  is written with `include_account_numbers` (§7.2.1.1), like the Bill Statement's.
- Filters that name something (`cds_account_ids`, `account_numbers`, `cds_billstatement_ids`,
  `cds_servicecontract_ids`, `contract_numbers`) match only what the token may see on the section.
- Listing order (§10.6.9): `account_number`, then the section's contract's `contract_number`
  (none sorts as ""), then `start_date` (earliest first), then newest `cds_modified`, then id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased, object_session

from gridshare import urls
from gridshare.api.pagination import CursorQuery, Order, SortKey, Value, paginate
from gridshare.cds.accounts import entity_json
from gridshare.cds.customer_data import (
    AccessDep,
    date_param,
    id_list,
    listed,
    reach_of,
    respond,
    stamps,
    with_flag,
    within,
)
from gridshare.grants.access import Access
from gridshare.grants.reach import ACCOUNTS, CONTRACTS, METERS, POINTS, SECTIONS, STATEMENTS, Reach
from gridshare.grants.relations import related_contracts
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.bills import (
    BillCostDetail,
    BillLineItem,
    BillSection,
    BillUsageDetail,
)
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.programs import Entity
from gridshare.store.tables.servicepoints import ServicePointContract

router = APIRouter(tags=["CDS-WG3-01 Customer Data"])

NUMBERS: Final = "include_account_numbers"
CONTRACT_NUMBERS: Final = "include_contract_numbers"
LINE_ITEMS: Final = "include_bill_section_line_items"
READS: Final = ("start_read", "end_read", "multiplier")
"""Usage Detail fields that are decimals (§10.6.4); the others (tou, tier, ...) are strings."""
CONTRACT_NUMBER: Final = func.coalesce(ServiceContract.contract_number, "")


class _SectionOrder(Order):
    """§10.6.9. Bill Sections carry no `contract_number`: a section's is its contract's, read
    for the page's first and last sections only."""

    def position(self, item: object) -> tuple[Value, ...]:
        assert isinstance(item, BillSection)
        number = ""
        session = object_session(item)
        if item.contract_id is not None and session is not None:
            contract = session.get(ServiceContract, item.contract_id)
            number = (contract.contract_number if contract else None) or ""
        return item.account_number, number, item.start_date, item.modified, item.id


ORDER: Final = _SectionOrder(
    keys=(
        SortKey(BillSection.account_number, "account_number"),
        SortKey(CONTRACT_NUMBER, "contract_number"),
        SortKey(BillSection.start_date, "start_date"),
        SortKey(BillSection.modified, "modified", descending=True),
        SortKey(BillSection.id, "id"),
    )
)


@router.get(urls.BILL_SECTIONS, summary="List Bill Sections (CDS-WG3-01 §10.6.9)")
def list_bill_sections(
    request: Request,
    access: AccessDep,
    session: SessionDep,
    settings: SettingsDep,
    cds_billsection_ids: Annotated[str | None, Query()] = None,
    before: Annotated[str | None, Query(description="start_date on or before")] = None,
    after: Annotated[str | None, Query(description="end_date on or after")] = None,
    cds_billstatement_ids: Annotated[str | None, Query()] = None,
    cds_account_ids: Annotated[str | None, Query()] = None,
    account_numbers: Annotated[str | None, Query()] = None,
    cds_servicecontract_ids: Annotated[str | None, Query()] = None,
    contract_numbers: Annotated[str | None, Query()] = None,
    cursor: CursorQuery = None,
) -> Response:
    reach = reach_of(access, SECTIONS, "bill sections")
    query = (
        select(BillSection)
        .outerjoin(ServiceContract, ServiceContract.id == BillSection.contract_id)
        .where(within(BillSection.id, reach))
    )
    query = listed(query, [(id_list("cds_billsection_ids", cds_billsection_ids), BillSection.id)])
    accounts = id_list("cds_account_ids", cds_account_ids)
    if accounts is not None:
        query = query.where(BillSection.account_id.in_(_visible(access, ACCOUNTS, accounts)))
    statements = id_list("cds_billstatement_ids", cds_billstatement_ids)
    if statements is not None:
        query = query.where(BillSection.statement_id.in_(_visible(access, STATEMENTS, statements)))
    numbers = id_list("account_numbers", account_numbers)
    if numbers is not None:
        query = query.where(
            BillSection.account_number.in_(numbers), with_flag(BillSection.id, reach, NUMBERS)
        )
    contracts = id_list("cds_servicecontract_ids", cds_servicecontract_ids)
    if contracts is not None:
        query = query.where(_relates_to(_visible(access, CONTRACTS, contracts)))
    named = id_list("contract_numbers", contract_numbers)
    if named is not None:
        query = query.where(_relates_to(_numbered(session, access, named)))
    last = date_param("before", before)
    if last is not None:
        query = query.where(BillSection.start_date <= last)
    first = date_param("after", after)
    if first is not None:
        query = query.where(BillSection.end_date >= first)
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    return respond(access, "bill_sections", sections_json(session, access, reach, page.items), page)


def sections_json(
    session: Session, access: Access, reach: Reach, sections: Sequence[BillSection]
) -> list[Any]:
    """The Bill Section objects (§10.6.1) of `sections`, each with the fields its flags allow."""
    ids = [s.id for s in sections]
    related = _related_contracts(session, sections)
    points, meters = _served(session, sections, related)
    entities = {
        e.id: entity_json(e)
        for e in session.scalars(
            select(Entity).where(
                Entity.id.in_(
                    {s.distribution_entity_id for s in sections if s.distribution_entity_id}
                    | {s.supply_entity_id for s in sections if s.supply_entity_id}
                )
            )
        )
    }
    usage = _usage_details(session, ids)
    costs = _cost_details(session, ids)
    itemized = [s.id for s in sections if LINE_ITEMS in (reach.flags(s.id) or frozenset())]
    items = _line_items(session, itemized)
    found = []
    for section in sections:
        flags = reach.flags(section.id) or frozenset()
        body: dict[str, Any] = {
            "cds_billsection_id": section.id,
            **stamps(section),
            "cds_billstatement_id": _shown(access, STATEMENTS, section.statement_id),
            "cds_account_id": _shown(access, ACCOUNTS, section.account_id),
        }
        if NUMBERS in flags:
            body["account_number"] = section.account_number
        body.update(
            {
                "section_types": list(section.section_types),
                "start_date": section.start_date.isoformat(),
                "end_date": section.end_date.isoformat(),
                "currency": section.currency,
                "distribution_entity": entities.get(section.distribution_entity_id or ""),
                "supply_entity": entities.get(section.supply_entity_id or ""),
                "related_servicecontracts": _visible(access, CONTRACTS, related[section.id]),
                "related_servicepoints": _visible(access, POINTS, points[section.id]),
                "related_meterdevices": _visible(access, METERS, meters[section.id]),
                "related_billsections": _visible(access, SECTIONS, section.related_section_ids),
                "usage_details": usage.get(section.id, []),
                "cost_details": costs.get(section.id, []),
            }
        )
        if LINE_ITEMS in flags:
            body["line_items"] = items.get(section.id, [])
        found.append(body)
    return found


def _visible(access: Access, kind: str, ids: Iterable[str]) -> list[str]:
    """The ids the token reaches, sorted (none when it reaches no object of the kind)."""
    reach = access.reach(kind)
    if reach is None:
        return []
    return sorted({i for i in ids if reach.flags(i) is not None})


def _shown(access: Access, kind: str, object_id: str | None) -> str | None:
    """The id when the token reaches that object, else None."""
    return object_id if object_id is not None and _visible(access, kind, [object_id]) else None


def _relates_to(contract_ids: Collection[str]) -> ColumnElement[bool]:
    """Sections whose related Service Contracts include one of `contract_ids`."""
    if not contract_ids:
        return false()
    sibling = aliased(BillSection)
    return or_(
        BillSection.contract_id.in_(contract_ids),
        and_(
            BillSection.contract_id.is_(None),
            exists().where(
                sibling.statement_id == BillSection.statement_id,
                sibling.account_id == BillSection.account_id,
                sibling.contract_id.in_(contract_ids),
            ),
        ),
    )


def _numbered(session: Session, access: Access, numbers: list[str]) -> list[str]:
    """The reachable Service Contracts with one of these numbers, where the token may see the
    number (`include_contract_numbers`)."""
    reach = access.reach(CONTRACTS)
    if reach is None:
        return []
    found = session.scalars(
        select(ServiceContract.id).where(ServiceContract.contract_number.in_(numbers))
    )
    return [c for c in found if CONTRACT_NUMBERS in (reach.flags(c) or frozenset())]


def _related_contracts(
    session: Session, sections: Sequence[BillSection]
) -> Mapping[str, frozenset[str]]:
    """Each section's related Service Contracts (`access.related_contracts`), reachable or not."""
    pooled = [s for s in sections if s.contract_id is None and s.statement_id is not None]
    billed: dict[tuple[str, str], set[str]] = defaultdict(set)
    if pooled:
        for statement_id, account_id, contract_id in session.execute(
            select(BillSection.statement_id, BillSection.account_id, BillSection.contract_id).where(
                BillSection.statement_id.in_({s.statement_id for s in pooled}),
                BillSection.contract_id.is_not(None),
            )
        ):
            if statement_id is not None and contract_id is not None:
                billed[(statement_id, account_id)].add(contract_id)
    return {
        s.id: related_contracts(s.contract_id, billed.get((s.statement_id or "", s.account_id), ()))
        for s in sections
    }


def _served(
    session: Session, sections: Sequence[BillSection], related: Mapping[str, frozenset[str]]
) -> tuple[Mapping[str, set[str]], Mapping[str, set[str]]]:
    """Per section, the Service Points that served one of its contracts during its days, and the
    Meter Devices installed there meanwhile. Link and installation `end`s are exclusive; section
    `end_date`s inclusive."""
    contract_ids = {c for ids in related.values() for c in ids}
    links: dict[str, list[ServicePointContract]] = defaultdict(list)
    for link in session.scalars(
        select(ServicePointContract).where(ServicePointContract.contract_id.in_(contract_ids))
    ):
        links[link.contract_id].append(link)
    installs: dict[str, list[MeterInstallation]] = defaultdict(list)
    for installed in session.scalars(
        select(MeterInstallation).where(
            MeterInstallation.service_point_id.in_(
                {link.service_point_id for found in links.values() for link in found}
            )
        )
    ):
        installs[installed.service_point_id].append(installed)
    points: dict[str, set[str]] = defaultdict(set)
    meters: dict[str, set[str]] = defaultdict(set)
    for section in sections:
        days = (section.start_date, section.end_date)
        for contract_id in related[section.id]:
            for link in links[contract_id]:
                served = _overlap(days, (link.start, link.end))
                if served is None:
                    continue
                points[section.id].add(link.service_point_id)
                for installed in installs[link.service_point_id]:
                    if _overlap(served, (installed.start, installed.end)) is not None:
                        meters[section.id].add(installed.meter_id)
    return points, meters


def _overlap(days: tuple[date, date], period: tuple[date, date | None]) -> tuple[date, date] | None:
    """The days (first, last inclusive) of `days` within `period` (start, exclusive end)."""
    first = max(days[0], period[0])
    last = days[1] if period[1] is None else min(days[1], period[1] - timedelta(days=1))
    return (first, last) if first <= last else None


def _usage_details(session: Session, ids: Sequence[str]) -> Mapping[str, list[Any]]:
    """Usage Detail objects (§10.6.3) per section id, in the bill's order."""
    found: dict[str, list[Any]] = defaultdict(list)
    for detail in session.scalars(
        select(BillUsageDetail)
        .where(BillUsageDetail.section_id.in_(ids))
        .order_by(BillUsageDetail.section_id, BillUsageDetail.position, BillUsageDetail.id)
    ):
        body: dict[str, Any] = {
            "id": detail.id,
            "name": detail.name,
            "types": list(detail.types),
            "value": detail.value,
        }
        if detail.units is not None:
            body["units"] = detail.units
        if detail.start_date is not None:
            body["start_date"] = detail.start_date.isoformat()
        if detail.end_date is not None:
            body["end_date"] = detail.end_date.isoformat()
        for name, value in detail.details.items():
            body[name] = Decimal(str(value)) if name in READS else value
        found[detail.section_id].append(body)
    return found


def _cost_details(session: Session, ids: Sequence[str]) -> Mapping[str, list[Any]]:
    """Cost Detail objects (§10.6.5) per section id, in the bill's order."""
    found: dict[str, list[Any]] = defaultdict(list)
    for cost in session.scalars(
        select(BillCostDetail)
        .where(BillCostDetail.section_id.in_(ids))
        .order_by(BillCostDetail.section_id, BillCostDetail.position, BillCostDetail.id)
    ):
        found[cost.section_id].append(
            {"id": cost.id, "name": cost.name, "types": list(cost.types), "cost": cost.cost}
        )
    return found


def _line_items(session: Session, ids: Sequence[str]) -> Mapping[str, list[Any]]:
    """Line Item objects (§10.6.7) per section id, in the bill's order."""
    found: dict[str, list[Any]] = defaultdict(list)
    if not ids:
        return found
    for item in session.scalars(
        select(BillLineItem)
        .where(BillLineItem.section_id.in_(ids))
        .order_by(BillLineItem.section_id, BillLineItem.position, BillLineItem.id)
    ):
        body: dict[str, Any] = {
            "id": item.id,
            "name": item.name,
            "types": list(item.types),
            "start_date": item.start_date.isoformat(),
            "end_date": item.end_date.isoformat(),
            "cost": item.cost,
            "value": item.value,
        }
        if item.units is not None:
            body["units"] = item.units
        body["rate"] = item.rate
        body["related_usage_details"] = list(item.related_usage_detail_ids)
        body["related_cost_details"] = list(item.related_cost_detail_ids)
        found[item.section_id].append(body)
    return found
