"""CDS-WG3-01 §10.4 Meter Devices API: Meter Device and Meter App objects, and
`GET cds_meterdevices_api` listing the Meter Devices the token reaches (`grants.access`).

`current_servicepoints` and `previous_servicepoints` come from where the meter was installed
(`MeterInstallation`, local dates, `end` exclusive) as of today in the utility's timezone: current
when installed on or before today and not removed, previous when removed on or before today. Both
list only Service Points the token reaches, and their filters match only those. OPTIONAL fields
follow the include flags that reached each meter (§7.2.4.1, §7.2.4.2): `meter_number` with
`include_meter_numbers` (and only then does the `meter_number` filter match), `meter_apps` with
`include_meter_apps`. The spec names the number filter `meter_number`; `meter_numbers`, the name
every other listing's filters follow, is accepted too. Listing order: newest `cds_modified` first
(§10.4.5), then by id.
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
    id_list,
    listed,
    reach_of,
    respond,
    search_term,
    searched,
    stamps,
    with_flag,
    within,
)
from gridshare.grants.access import Access
from gridshare.grants.reach import METERS, POINTS, Reach
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.db import utcnow
from gridshare.store.tables.meters import MeterApp, MeterDevice, MeterInstallation
from gridshare.timefmt import rfc3339

router = APIRouter(tags=["CDS-WG3-01 Customer Data"])

ORDER: Final = Order(MeterDevice.modified, MeterDevice.id)
NUMBERS: Final = "include_meter_numbers"
APPS: Final = "include_meter_apps"


@router.get(urls.METER_DEVICES, summary="List Meter Devices (CDS-WG3-01 §10.4.5)")
def list_meter_devices(
    request: Request,
    access: AccessDep,
    session: SessionDep,
    settings: SettingsDep,
    cds_meterdevice_ids: Annotated[str | None, Query()] = None,
    meter_number: Annotated[str | None, Query()] = None,
    meter_numbers: Annotated[str | None, Query()] = None,
    current_servicepoints: Annotated[str | None, Query()] = None,
    previous_servicepoints: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="Case-insensitive search")] = None,
    cursor: CursorQuery = None,
) -> Response:
    reach = reach_of(access, METERS, "meter devices")
    today = utcnow().astimezone(settings.tz).date()
    query = select(MeterDevice).where(within(MeterDevice.id, reach))
    query = listed(query, [(id_list("cds_meterdevice_ids", cds_meterdevice_ids), MeterDevice.id)])
    for name, raw in (("meter_number", meter_number), ("meter_numbers", meter_numbers)):
        numbers = id_list(name, raw)
        if numbers is not None:
            query = query.where(
                MeterDevice.meter_number.in_(numbers), with_flag(MeterDevice.id, reach, NUMBERS)
            )
    for name, raw, when in (
        ("current_servicepoints", current_servicepoints, _current(today)),
        ("previous_servicepoints", previous_servicepoints, _previous(today)),
    ):
        values = id_list(name, raw)
        if values is not None:
            query = query.where(_installed_at(access, values, when))
    query = searched(
        query,
        search_term(q),
        MeterDevice.id,
        reach,
        [
            (None, columns_contain(MeterDevice.id)),
            (NUMBERS, columns_contain(MeterDevice.meter_number)),
        ],
    )
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    return respond(
        access, "meter_devices", meters_json(session, access, reach, page.items, today), page
    )


def meters_json(
    session: Session,
    access: Access,
    reach: Reach,
    meters: Sequence[MeterDevice],
    today: date,
) -> list[Any]:
    """The Meter Device objects (§10.4.1) of `meters`, each with the fields its flags allow."""
    ids = [m.id for m in meters]
    current: dict[str, list[str]] = defaultdict(list)
    previous: dict[str, list[str]] = defaultdict(list)
    points = access.reach(POINTS)
    for installed in session.scalars(
        select(MeterInstallation)
        .where(MeterInstallation.meter_id.in_(ids))
        .order_by(MeterInstallation.start, MeterInstallation.service_point_id)
    ):
        if points is None or points.flags(installed.service_point_id) is None:
            continue
        if installed.start <= today and (installed.end is None or installed.end > today):
            current[installed.meter_id].append(installed.service_point_id)
        elif installed.end is not None and installed.end <= today:
            previous[installed.meter_id].append(installed.service_point_id)
    apps: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for app in session.scalars(
        select(MeterApp)
        .where(MeterApp.meter_id.in_(ids))
        .order_by(MeterApp.app_number, MeterApp.id)
    ):
        apps[app.meter_id].append(app_json(app))
    found = []
    for meter in meters:
        flags = reach.flags(meter.id) or frozenset()
        body: dict[str, Any] = {"cds_meterdevice_id": meter.id, **stamps(meter)}
        if NUMBERS in flags:
            body["meter_number"] = meter.meter_number
        body["meter_types"] = list(meter.types)
        body["current_servicepoints"] = current[meter.id]
        body["previous_servicepoints"] = previous[meter.id]
        if APPS in flags:
            body["meter_apps"] = apps[meter.id]
        found.append(body)
    return found


def app_json(app: MeterApp) -> dict[str, Any]:
    """A Meter App object (§10.4.3): `start` for an installed app, `end` for an uninstalled one
    that was installed before (§10.4.4), each when known."""
    body: dict[str, Any] = {
        "id": app.id,
        "app_number": app.app_number,
        "types": list(app.types),
        "name": app.name,
    }
    if "installed" in app.types and app.start is not None:
        body["start"] = rfc3339(app.start)
    if "uninstalled" in app.types and app.end is not None:
        body["end"] = rfc3339(app.end)
    return body


def _current(today: date) -> ColumnElement[bool]:
    return and_(
        MeterInstallation.start <= today,
        or_(MeterInstallation.end.is_(None), MeterInstallation.end > today),
    )


def _previous(today: date) -> ColumnElement[bool]:
    return and_(MeterInstallation.end.is_not(None), MeterInstallation.end <= today)


def _installed_at(
    access: Access, values: list[str], when: ColumnElement[bool]
) -> ColumnElement[bool]:
    """Meters installed (`when`: now or before) at a listed Service Point the token reaches."""
    points = access.reach(POINTS)
    visible = [v for v in values if points is not None and points.flags(v) is not None]
    if not visible:
        return false()
    return exists().where(
        MeterInstallation.meter_id == MeterDevice.id,
        MeterInstallation.service_point_id.in_(visible),
        when,
    )
