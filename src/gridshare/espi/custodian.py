"""The Data Custodian's management REST, a bounded subset (NAESB REQ.21 ESPI FB 33; API_TABLE.md
FB_33 rows; DIGEST §5, §10).

Read with a datacustodian_access_token (`espi.auth.CustodianCaller`; `gridshare greenbutton
custodian-token`); any third party's token is 403 here, no token 401:

- `GET ApplicationInformation`: every Green Button third party's ApplicationInformation, oldest
  first. espi.xsd requires `client_secret` (String512) and `registration_access_token` (untyped),
  neither with a minimum length, so both are written empty: the feed stays valid and no
  credential leaves; the third party reads its own with its registration_access_token.
- `GET UsagePoint`, `GET UsagePoint/{id}` and, under a UsagePoint, `MeterReading[/{id}]`,
  `MeterReading/{id}/IntervalBlock[/{id}]` and `UsageSummary[/{id}]`: every service point's
  usage, as the resource-level tree of a Subscription (FB 32) placed at the resource root
  (`UsagePoint/{id}/...` instead of `Subscription/{sid}/UsagePoint/{id}/...`; Atom ids are the
  same as in every Subscription). The reader is a Subscription's (`espi.subscription`) over an
  Access that reaches every meter's usage at any time and every Bill Section, with every usage
  function block. The Data Custodian reaches every service point, but a request works out only
  the service points it answers: one for a member, `CHUNK` at a time (by id) for the UsagePoint
  feed, which `start-index`/`max-results`/`depth` page lazily; blocks are read 64 at a time.
  MeterReadings and IntervalBlocks have no root collection: a MeterReading id names a meter's
  channel, which a meter moved between service points has under both, and an IntervalBlock id is
  its start, unique only within its MeterReading.

Upload with an upload_access_token or a datacustodian_access_token (`espi.auth.UploadCaller`):

- `POST Batch/RetailCustomer/{id}/UsagePoint`, body a Green Button XML feed, at most
  `MAX_UPLOAD` bytes (413 beyond): imported by `utility.imports.greenbutton.import_greenbutton`,
  the hardened importer, all or nothing. `{id}` is `new` to map the file by itself (a service
  point and meter per UsagePoint, created on the first upload and found again on the next), or
  the number of an existing service point to put the file's one UsagePoint on (with the meter
  installed there now). 201 with a JSON summary of what was stored (an upload of data already
  stored writes nothing), or 400 with the importer's problems (line, element, problem,
  expected); a refused file changes nothing.

Not covered: the POST/PUT/DELETE rows of FB 33 other than the upload, `POST
ApplicationInformation`, root `MeterReading` and `IntervalBlock`, `GET
Batch/RetailCustomer/{id}/UsagePoint`, the `Subscription/{sid}/...` management paths, and
ElectricPowerQualitySummary (we hold no power quality data).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Final

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.errors import OAuthError
from gridshare.config import Settings
from gridshare.espi import atom, hrefs, subscription
from gridshare.espi.admin import application_view, newest_credential
from gridshare.espi.auth import CustodianCaller, UploadCaller
from gridshare.espi.query import Query
from gridshare.espi.resources import Paths
from gridshare.espi.resources.application_information import ApplicationView, application_entry
from gridshare.espi.routes import QueryDep, entry_response, feed_response
from gridshare.grants.access import Access
from gridshare.grants.espi_clients import CUSTODIAN_CLIENT_ID, third_party
from gridshare.grants.reach import ALWAYS, SECTIONS, Reach, UsageReach
from gridshare.http import SettingsDep
from gridshare.store.tables.clients import Client
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import ServicePoint
from gridshare.utility.imports.greenbutton import (
    GreenButtonRefused,
    GreenButtonReport,
    Problem,
    import_greenbutton,
)

router = APIRouter(tags=["Green Button Data Custodian"])

BLOCKS: Final = frozenset({1, 4, 5, 10, 11, 12, 15, 16})
"""The function blocks the Data Custodian reads with: every commodity's interval data, its cost,
and UsageSummaries with their costs."""
CHUNK: Final = 64
"""Service points worked out at once while the UsagePoint feed is written."""
MAX_UPLOAD: Final = 50 * 1024 * 1024
"""The largest upload body, in bytes."""
NEW: Final = "new"
"""The upload `{id}` that maps a file by itself (module docstring)."""
POINTS: Final = f"{urls.ESPI}/UsagePoint"
UPLOAD: Final = f"{urls.ESPI}/Batch/RetailCustomer/{{retail_customer_id}}/UsagePoint"


# --- ApplicationInformation -----------------------------------------------------------------------


@router.get(f"{urls.ESPI}/ApplicationInformation")
def applications(
    request: Request, settings: SettingsDep, _who: CustodianCaller, query: QueryDep
) -> Response:
    """Every third party's ApplicationInformation, secrets withheld (module docstring)."""

    def entries(session: Session) -> Iterator[atom.Entry]:
        views = _application_views(session, settings)
        kept = (v for v in views if query.keeps(v.published, v.updated))
        return query.page(application_entry(settings, v) for v in kept)

    return feed_response(request, settings, "ApplicationInformation", entries)


def _application_views(session: Session, settings: Settings) -> list[ApplicationView]:
    clients = session.scalars(select(Client).order_by(Client.created, Client.client_id))
    return [
        application_view(settings, c, newest_credential(session, c.client_id), None)
        for c in clients
        if third_party(c) is not None
    ]


# --- usage at the resource root -------------------------------------------------------------------


@dataclass(frozen=True)
class RootPaths(Paths):
    """The usage resources at the resource root (`UsagePoint/{id}/...`), not under a
    Subscription; ReadingType and LocalTimeParameters stay where they are."""

    def href(self, path: Sequence[str]) -> str:
        return hrefs.resource(self.settings, *path)


def custodian_access(meter_ids: Iterable[str]) -> Access:
    """What the Data Custodian reads of these meters: their usage at any time, and every Bill
    Section (module docstring: a request builds it for the service points it answers)."""
    return Access(
        client_id=CUSTODIAN_CLIENT_ID,
        grant_ids=(),
        scope_types=frozenset(),
        reaches={SECTIONS: Reach(every=frozenset())},
        usage=UsageReach(meters={meter_id: (ALWAYS,) for meter_id in meter_ids}),
    )


def open_points(
    session: Session, settings: Settings, point_ids: Collection[str]
) -> subscription.Subscription:
    """The readers over the service points `point_ids` (and wherever their meters were too)."""
    meters = session.scalars(
        select(MeterInstallation.meter_id)
        .where(MeterInstallation.service_point_id.in_(sorted(point_ids)))
        .distinct()
    )
    opened = subscription.Subscription.open(
        session, settings, custodian_access(meters), "", BLOCKS, None
    )
    return replace(opened, paths=RootPaths(settings, ""))


def usage_point_entries(session: Session, settings: Settings, query: Query) -> Iterator[atom.Entry]:
    """Every UsagePoint the query's dates keep, by service point id, `CHUNK` points at a time."""
    after: str | None = None
    while True:
        chosen = (
            select(ServicePoint.id)
            .where(
                exists().where(MeterInstallation.service_point_id == ServicePoint.id),
                *_dates(query),
            )
            .order_by(ServicePoint.id)
            .limit(CHUNK)
        )
        if after is not None:
            chosen = chosen.where(ServicePoint.id > after)
        ids = list(session.scalars(chosen))
        if ids:
            readers = open_points(session, settings, ids)
            wanted = set(ids)
            for point in readers.model.points:
                if point.id in wanted:
                    yield readers.point_entry(point)
        if len(ids) < CHUNK:
            return
        after = ids[-1]


def _dates(query: Query) -> list[ColumnElement[bool]]:
    """The query's published and updated bounds on a UsagePoint (its service point's dates)."""
    bounds = (
        (ServicePoint.created, query.published_min, query.published_max),
        (ServicePoint.modified, query.updated_min, query.updated_max),
    )
    found: list[ColumnElement[bool]] = []
    for column, low, high in bounds:
        if low is not None:
            found.append(column >= low)
        if high is not None:
            found.append(column <= high)
    return found


@router.get(POINTS)
def usage_points(
    request: Request, settings: SettingsDep, _who: CustodianCaller, query: QueryDep
) -> Response:
    return feed_response(
        request,
        settings,
        "UsagePoint",
        lambda s: query.page(usage_point_entries(s, settings, query)),
    )


@router.get(f"{POINTS}/{{upid}}")
def usage_point(
    upid: str, request: Request, settings: SettingsDep, _who: CustodianCaller
) -> Response:
    return entry_response(
        request, lambda s: open_points(s, settings, [upid]).usage_point_member(upid)
    )


@router.get(f"{POINTS}/{{upid}}/MeterReading")
def meter_readings(
    upid: str, request: Request, settings: SettingsDep, _who: CustodianCaller, query: QueryDep
) -> Response:
    return feed_response(
        request,
        settings,
        "MeterReading",
        lambda s: open_points(s, settings, [upid]).meter_readings(query, upid),
    )


@router.get(f"{POINTS}/{{upid}}/MeterReading/{{mrid}}")
def meter_reading(
    upid: str, mrid: str, request: Request, settings: SettingsDep, _who: CustodianCaller
) -> Response:
    return entry_response(
        request, lambda s: open_points(s, settings, [upid]).meter_reading_member(upid, mrid)
    )


@router.get(f"{POINTS}/{{upid}}/MeterReading/{{mrid}}/IntervalBlock")
def interval_blocks(
    upid: str,
    mrid: str,
    request: Request,
    settings: SettingsDep,
    _who: CustodianCaller,
    query: QueryDep,
) -> Response:
    return feed_response(
        request,
        settings,
        "IntervalBlock",
        lambda s: open_points(s, settings, [upid]).interval_blocks(query, upid, mrid),
    )


@router.get(f"{POINTS}/{{upid}}/MeterReading/{{mrid}}/IntervalBlock/{{ibid}}")
def interval_block(
    upid: str,
    mrid: str,
    ibid: str,
    request: Request,
    settings: SettingsDep,
    _who: CustodianCaller,
) -> Response:
    return entry_response(
        request,
        lambda s: open_points(s, settings, [upid]).interval_block_member(upid, mrid, ibid),
    )


@router.get(f"{POINTS}/{{upid}}/UsageSummary")
def usage_summaries(
    upid: str, request: Request, settings: SettingsDep, _who: CustodianCaller, query: QueryDep
) -> Response:
    return feed_response(
        request,
        settings,
        "UsageSummary",
        lambda s: open_points(s, settings, [upid]).usage_summaries(query, upid),
    )


@router.get(f"{POINTS}/{{upid}}/UsageSummary/{{summary_id}}")
def usage_summary(
    upid: str, summary_id: str, request: Request, settings: SettingsDep, _who: CustodianCaller
) -> Response:
    return entry_response(
        request,
        lambda s: open_points(s, settings, [upid]).usage_summary_member(upid, summary_id),
    )


# --- upload -------------------------------------------------------------------------------------


async def _uploaded(request: Request, _who: UploadCaller) -> AsyncIterator[Path]:
    """The request body in a temporary file, removed after the response (413 past
    `MAX_UPLOAD`); the token is checked before a byte is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD:
        raise _too_large()
    with tempfile.TemporaryDirectory(prefix="gridshare-upload-") as folder:
        path = Path(folder) / "upload.xml"
        size = 0
        async with await anyio.open_file(path, "wb") as sink:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD:
                    raise _too_large()
                await sink.write(chunk)
        yield path


def _too_large() -> OAuthError:
    return OAuthError(
        "invalid_request", f"the upload is larger than {MAX_UPLOAD // 2**20} MB: split it", 413
    )


@router.post(UPLOAD, status_code=201)
def upload_usage_points(
    retail_customer_id: str,
    request: Request,
    settings: SettingsDep,
    body: Annotated[Path, Depends(_uploaded)],
) -> Response:
    """Import a Green Button file (module docstring: what `{id}` means, the answers)."""
    target = None if retail_customer_id == NEW else retail_customer_id
    try:
        report = import_greenbutton(request.app.state.engine, settings, body, service_point=target)
    except GreenButtonRefused as error:
        return JSONResponse(
            {
                "error": "invalid_request",
                "error_description": f"nothing was imported: {error}",
                "problems": [_problem(p) for p in error.problems],
            },
            status_code=400,
            headers={"Cache-Control": "no-store"},
        )
    return JSONResponse(_summary(report), status_code=201)


def _summary(report: GreenButtonReport) -> dict[str, Any]:
    usage = report.usage
    return {
        "readings": usage.readings,
        "missing": usage.missing,
        "channels": usage.channels,
        "new_channels": usage.new_channels,
        "blocks_written": usage.blocks_written,
        "blocks_unchanged": usage.blocks_unchanged,
        "first_day": None if usage.first_day is None else usage.first_day.isoformat(),
        "last_day": None if usage.last_day is None else usage.last_day.isoformat(),
        "usage_points": [
            {
                "line": plan.line,
                "servicepoint_number": plan.servicepoint_number,
                "meter_number": plan.meter_number,
                "existing": plan.existing,
            }
            for plan in report.usage_points
        ],
        "service_points_created": report.points.service_points_created,
        "meters_created": report.points.meters_created,
        "summaries_written": report.summaries.written,
        "summaries_unchanged": report.summaries.unchanged,
        "warnings": [_problem(p) for p in report.warnings],
        "summary": report.summary(),
    }


def _problem(problem: Problem) -> dict[str, Any]:
    return {
        "line": problem.line,
        "element": problem.element,
        "problem": problem.problem,
        "expected": problem.expected,
        "fatal": problem.fatal,
        "count": problem.count,
    }
