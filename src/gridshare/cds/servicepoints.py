"""CDS-WG3-01 §10.3 Service Points API: Service Point and Premise objects, and
`GET cds_servicepoints_api` listing the Service Points the token reaches (`grants.access`).

`current_servicecontracts` and `previous_servicecontracts` come from the periods a contract served
through the point (`ServicePointContract`, local dates, `end` exclusive) as of today in the
utility's timezone: current when it started on or before today and has not ended, previous when it
ended on or before today. Both list only Service Contracts the token reaches, and their filters
match only those. OPTIONAL fields follow the include flags that reached each point (§7.2.3.1-
§7.2.3.3): `premises` with `include_premises`, `servicepoint_address` with
`include_service_point_addresses`, `latitude` and `longitude` (exact decimals) with
`include_coordinates`. Listing order: newest `cds_modified` first (§10.3.5), then by id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.pagination import CursorQuery, Order, paginate
from gridshare.cds.customer_data import (
    AccessDep,
    columns_contain,
    contains,
    id_list,
    listed,
    reach_of,
    respond,
    search_term,
    searched,
    stamps,
    within,
)
from gridshare.grants.access import Access
from gridshare.grants.reach import CONTRACTS, POINTS, Reach
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.db import utcnow
from gridshare.store.tables.servicepoints import (
    Premise,
    ServicePoint,
    ServicePointContract,
    ServicePointPremise,
)

router = APIRouter(tags=["CDS-WG3-01 Customer Data"])

ORDER: Final = Order(ServicePoint.modified, ServicePoint.id)
PREMISES: Final = "include_premises"
ADDRESSES: Final = "include_service_point_addresses"
COORDINATES: Final = "include_coordinates"


@router.get(urls.SERVICE_POINTS, summary="List Service Points (CDS-WG3-01 §10.3.5)")
def list_service_points(
    request: Request,
    access: AccessDep,
    session: SessionDep,
    settings: SettingsDep,
    cds_servicepoint_ids: Annotated[str | None, Query()] = None,
    servicepoint_numbers: Annotated[str | None, Query()] = None,
    current_servicecontracts: Annotated[str | None, Query()] = None,
    previous_servicecontracts: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="Case-insensitive search")] = None,
    cursor: CursorQuery = None,
) -> Response:
    reach = reach_of(access, POINTS, "service points")
    today = utcnow().astimezone(settings.tz).date()
    query = select(ServicePoint).where(within(ServicePoint.id, reach))
    query = listed(
        query,
        [
            (id_list("cds_servicepoint_ids", cds_servicepoint_ids), ServicePoint.id),
            (
                id_list("servicepoint_numbers", servicepoint_numbers),
                ServicePoint.servicepoint_number,
            ),
        ],
    )
    for name, raw, when in (
        ("current_servicecontracts", current_servicecontracts, _current(today)),
        ("previous_servicecontracts", previous_servicecontracts, _previous(today)),
    ):
        values = id_list(name, raw)
        if values is not None:
            query = query.where(_served_by(access, values, when))
    query = searched(
        query,
        search_term(q),
        ServicePoint.id,
        reach,
        [
            (None, columns_contain(ServicePoint.id, ServicePoint.servicepoint_number)),
            (ADDRESSES, columns_contain(ServicePoint.address)),
            (PREMISES, _premise_contains),
        ],
    )
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    return respond(
        access,
        "service_points",
        points_json(session, access, reach, page.items, today),
        page,
    )


def points_json(
    session: Session,
    access: Access,
    reach: Reach,
    points: Sequence[ServicePoint],
    today: date,
) -> list[Any]:
    """The Service Point objects (§10.3.1) of `points`, each with the fields its flags allow."""
    ids = [p.id for p in points]
    current: dict[str, list[str]] = defaultdict(list)
    previous: dict[str, list[str]] = defaultdict(list)
    contracts = access.reach(CONTRACTS)
    for link in session.scalars(
        select(ServicePointContract)
        .where(ServicePointContract.service_point_id.in_(ids))
        .order_by(ServicePointContract.start, ServicePointContract.contract_id)
    ):
        if contracts is None or contracts.flags(link.contract_id) is None:
            continue
        if link.start <= today and (link.end is None or link.end > today):
            current[link.service_point_id].append(link.contract_id)
        elif link.end is not None and link.end <= today:
            previous[link.service_point_id].append(link.contract_id)
    premises = _premises(session, ids)
    found = []
    for point in points:
        flags = reach.flags(point.id) or frozenset()
        body: dict[str, Any] = {
            "cds_servicepoint_id": point.id,
            **stamps(point),
            "servicepoint_number": point.servicepoint_number,
            "servicepoint_types": list(point.types),
        }
        if ADDRESSES in flags:
            body["servicepoint_address"] = point.address
        if COORDINATES in flags:
            body["latitude"] = point.latitude
            body["longitude"] = point.longitude
        body["current_servicecontracts"] = current[point.id]
        body["previous_servicecontracts"] = previous[point.id]
        if PREMISES in flags:
            body["premises"] = premises[point.id]
        found.append(body)
    return found


def premise_json(premise: Premise) -> dict[str, Any]:
    """A Premise object (§10.3.3)."""
    return {
        "id": premise.id,
        "premise_number": premise.premise_number,
        "types": list(premise.types),
    }


def _premises(session: Session, point_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for point_id, premise in session.execute(
        select(ServicePointPremise.service_point_id, Premise)
        .join(Premise, Premise.id == ServicePointPremise.premise_id)
        .where(ServicePointPremise.service_point_id.in_(point_ids))
        .order_by(Premise.premise_number)
    ):
        found[point_id].append(premise_json(premise))
    return found


def _current(today: date) -> ColumnElement[bool]:
    return and_(
        ServicePointContract.start <= today,
        or_(ServicePointContract.end.is_(None), ServicePointContract.end > today),
    )


def _previous(today: date) -> ColumnElement[bool]:
    return and_(ServicePointContract.end.is_not(None), ServicePointContract.end <= today)


def _served_by(access: Access, values: list[str], when: ColumnElement[bool]) -> ColumnElement[bool]:
    """Points that a listed Service Contract the token reaches serves (`when`: now or before)."""
    contracts = access.reach(CONTRACTS)
    visible = [v for v in values if contracts is not None and contracts.flags(v) is not None]
    if not visible:
        return false()
    return exists().where(
        ServicePointContract.service_point_id == ServicePoint.id,
        ServicePointContract.contract_id.in_(visible),
        when,
    )


def _premise_contains(term: str) -> ColumnElement[bool]:
    return exists().where(
        ServicePointPremise.service_point_id == ServicePoint.id,
        ServicePointPremise.premise_id == Premise.id,
        contains(Premise.premise_number, term),
    )
