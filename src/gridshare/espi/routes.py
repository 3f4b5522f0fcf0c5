"""The Green Button resource endpoints (NAESB REQ.21 ESPI FB 3, 32, 35, 37, 39, 46, 50; the PG&E
Share My Data table; DIGEST §5, §6, §10).

- Customer resources (access_token): `Batch/Subscription/{id}[/UsagePoint/{id}]`, the resource-level
  `Subscription/{id}/UsagePoint/...` tree (MeterReading, IntervalBlock, UsageSummary — also under
  its ESPI 1.x name ElectricPowerUsageSummary — and ElectricPowerQualitySummary), `ReadingType`,
  `LocalTimeParameters`, `Batch/RetailCustomer/{id}`, the `RetailCustomer/{id}/...` tree and PG&E's
  `Batch/RetailDRPrgInfo/{id}`. A token reads its own Subscription only (403 for another id);
  everything it reads comes through the Grant's `Access` (DESIGN rule 2), limited by the scope's
  function blocks and HistoryLength.
- Asynchronous batches (FB 39, PG&E): `Batch/Subscription/{id}` with `Prefer: respond-async`, and
  `Batch/Bulk/{id}` (client_access_token) without `correlationID`, answer 202 and queue a BatchList
  notification (through the outbox) naming the URI to GET, with a `correlationID`; that GET
  answers the feed at once.
- The seven query parameters apply everywhere (FB 37, `espi.query`); a malformed one is 400.

Feeds are streamed entry by entry from their own database session, which closes when the stream
ends; unknown ids are found before the first byte (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.errors import OAuthError
from gridshare.config import Settings
from gridshare.espi import atom, hrefs, retail, subscription
from gridshare.espi.auth import (
    Caller,
    ClientCaller,
    CustomerCaller,
    grant_access,
    subscription_access,
    wrong_class,
)
from gridshare.espi.query import Query, QueryError
from gridshare.grants.espi_notices import notify
from gridshare.grants.espi_scope import EspiScope, parse
from gridshare.grants.tokens import grant_gives_access
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.db import utcnow
from gridshare.store.tables.grants import Grant

router = APIRouter(tags=["Green Button"])

XML: Final = "application/atom+xml"
DOWNLOAD: Final = {"Content-Disposition": "attachment; filename=GreenButtonDownload.xml"}
CORRELATION: Final = "correlationID"
SUMMARY_NAMES: Final = ("UsageSummary", "ElectricPowerUsageSummary")
ESPI = urls.ESPI
Entries = Callable[[Session], Iterable[atom.Entry]]


def query_of(request: Request) -> Query:
    try:
        return Query.parse(request.query_params)
    except QueryError as error:
        raise OAuthError("invalid_request", str(error)) from error


QueryDep = Annotated[Query, Depends(query_of)]


class Reading:
    """What a Customer's token reads: its Subscription's Access, blocks and history."""

    def __init__(self, session: Session, settings: Settings, who: Caller, subscription_id: str):
        if subscription_id != who.subscription_id:
            raise wrong_class(f"this token reads Subscription {who.subscription_id} only")
        scope = who.scope
        self.settings = settings
        self.access = subscription_access(session, settings, who)
        self.subscription_id = subscription_id
        self.blocks = scope.blocks
        self.history_start = scope.history_start(utcnow())
        self.intervals = scope.interval_durations

    def open(self, session: Session) -> subscription.Subscription:
        """The Subscription's readers on `session`: its Access, function blocks, HistoryLength
        and IntervalDuration."""
        return subscription.Subscription.open(
            session,
            self.settings,
            self.access,
            self.subscription_id,
            self.blocks,
            self.history_start,
            self.intervals,
        )


def _reading(session: SessionDep, settings: SettingsDep, who: CustomerCaller, sid: str) -> Reading:
    return Reading(session, settings, who, sid)


ReadingDep = Annotated[Reading, Depends(_reading)]


# --- Batch ------------------------------------------------------------------------------------


@router.get(f"{ESPI}/Batch/Subscription/{{sid}}")
def batch_subscription(
    sid: str,
    request: Request,
    session: SessionDep,
    reading: ReadingDep,
    who: CustomerCaller,
    query: QueryDep,
    prefer: Annotated[str | None, Header()] = None,
) -> Response:
    if prefer is not None and "respond-async" in prefer.lower():
        return _accepted(request, session, reading.settings, who, f"subscription:{sid}")
    return feed_response(
        request,
        reading.settings,
        "Green Button Subscription",
        lambda s: reading.open(s).batch_feed(query),
        DOWNLOAD,
    )


@router.get(f"{ESPI}/Batch/Subscription/{{sid}}/UsagePoint/{{upid}}")
def batch_usage_point(
    sid: str, upid: str, request: Request, reading: ReadingDep, query: QueryDep
) -> Response:
    return feed_response(
        request,
        reading.settings,
        "Green Button UsagePoint",
        lambda s: reading.open(s).batch_feed(query, upid),
        DOWNLOAD,
    )


BulkEntries = Callable[[Session, Grant, EspiScope], Iterable[atom.Entry]]


@router.get(f"{ESPI}/Batch/Bulk/{{bulk_id}}")
def batch_bulk(
    bulk_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: ClientCaller,
    query: QueryDep,
) -> Response:
    """Every active authorization's usage (FB 35)."""
    now = utcnow()

    def usage(s: Session, grant: Grant, scope: EspiScope) -> Iterable[atom.Entry]:
        return subscription.Subscription.open(
            s,
            settings,
            grant_access(s, settings, grant),
            grant.grant_id,
            scope.blocks,
            scope.history_start(now),
            scope.interval_durations,
        ).batch_feed(query)

    return _bulk(request, session, settings, who, bulk_id, "Green Button Bulk", usage)


@router.get(f"{ESPI}/Batch/BulkRetailCustomerInfo/{{bulk_id}}")
def batch_bulk_retail_customers(
    bulk_id: str, request: Request, session: SessionDep, settings: SettingsDep, who: ClientCaller
) -> Response:
    """PG&E: every authorization's retail customer information (FB 47 shape)."""

    def customers(s: Session, grant: Grant, scope: EspiScope) -> Iterable[atom.Entry]:
        if not scope.has(51):
            return ()
        access = grant_access(s, settings, grant)
        return retail.batch_retail_customer(s, settings, access, grant.grant_id, scope.blocks)

    return _bulk(request, session, settings, who, bulk_id, "Retail customers", customers)


@router.get(f"{ESPI}/Batch/BulkRetailDRPrgInfo/{{bulk_id}}")
def batch_bulk_dr_enrollment(
    bulk_id: str, request: Request, session: SessionDep, settings: SettingsDep, who: ClientCaller
) -> Response:
    """PG&E: every authorization's demand-response enrollment."""

    def enrollments(s: Session, grant: Grant, scope: EspiScope) -> Iterable[atom.Entry]:
        if not scope.has(51) or not scope.has(56):
            return ()
        access = grant_access(s, settings, grant)
        return retail.dr_enrollments(s, settings, access, grant.grant_id, scope.blocks)

    return _bulk(request, session, settings, who, bulk_id, "DR enrollment", enrollments)


@router.get(f"{ESPI}/Batch/RetailCustomer/{{rcid}}")
def batch_retail_customer(
    rcid: str, request: Request, session: SessionDep, settings: SettingsDep, who: CustomerCaller
) -> Response:
    reading = Reading(session, settings, who, rcid)
    _need(reading, 46, "Batch/RetailCustomer")
    return feed_response(
        request,
        settings,
        "Green Button Retail Customer",
        lambda s: retail.batch_retail_customer(s, settings, reading.access, rcid, reading.blocks),
        DOWNLOAD,
    )


@router.get(f"{ESPI}/Batch/RetailDRPrgInfo/{{rcid}}")
def batch_dr_enrollment(
    rcid: str, request: Request, session: SessionDep, settings: SettingsDep, who: CustomerCaller
) -> Response:
    """PG&E's demand-response enrollment of one customer (its CustomerAgreements' programs)."""
    reading = Reading(session, settings, who, rcid)
    return feed_response(
        request,
        settings,
        "Demand response enrollment",
        lambda s: retail.dr_enrollments(s, settings, reading.access, rcid, reading.blocks),
    )


@router.get(f"{ESPI}/RetailCustomer/{{rcid}}")
def retail_customer(
    rcid: str, request: Request, session: SessionDep, settings: SettingsDep, who: CustomerCaller
) -> Response:
    """FB 50: the RetailCustomer itself, as the feed of its Customer entries."""
    return retail_customer_tree(rcid, "Customer", request, session, settings, who)


@router.get(f"{ESPI}/RetailCustomer/{{rcid}}/{{path:path}}")
def retail_customer_tree(
    rcid: str,
    path: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: CustomerCaller,
) -> Response:
    """FB 50: `RetailCustomer/{id}/Customer/{id}/CustomerAccount/...`, members and collections."""
    reading = Reading(session, settings, who, rcid)
    _need(reading, 50, "RetailCustomer resources")
    parts = [p for p in path.split("/") if p]
    if len(parts) % 2 == 0:
        return entry_response(
            request,
            lambda s: retail.retail_member(
                s, settings, reading.access, rcid, reading.blocks, parts
            ),
        )
    return feed_response(
        request,
        settings,
        parts[-1],
        lambda s: retail.retail_collection(
            s, settings, reading.access, rcid, reading.blocks, parts
        ),
    )


# --- resource level (FB 32) ---------------------------------------------------------------------

SUB: Final = f"{ESPI}/Subscription/{{sid}}/UsagePoint"


@router.get(SUB)
def usage_points(request: Request, reading: ReadingDep, query: QueryDep) -> Response:
    return feed_response(
        request,
        reading.settings,
        "UsagePoint",
        lambda s: reading.open(s).usage_points(query),
    )


@router.get(f"{SUB}/{{upid}}")
def usage_point(request: Request, upid: str, reading: ReadingDep) -> Response:
    return entry_response(
        request,
        lambda s: reading.open(s).usage_point_member(upid),
    )


@router.get(f"{SUB}/{{upid}}/MeterReading")
def meter_readings(upid: str, request: Request, reading: ReadingDep, query: QueryDep) -> Response:
    return feed_response(
        request,
        reading.settings,
        "MeterReading",
        lambda s: reading.open(s).meter_readings(query, upid),
    )


@router.get(f"{SUB}/{{upid}}/MeterReading/{{mrid}}")
def meter_reading(request: Request, upid: str, mrid: str, reading: ReadingDep) -> Response:
    return entry_response(
        request,
        lambda s: reading.open(s).meter_reading_member(upid, mrid),
    )


@router.get(f"{SUB}/{{upid}}/MeterReading/{{mrid}}/IntervalBlock")
def interval_blocks(
    upid: str, mrid: str, request: Request, reading: ReadingDep, query: QueryDep
) -> Response:
    return feed_response(
        request,
        reading.settings,
        "IntervalBlock",
        lambda s: reading.open(s).interval_blocks(query, upid, mrid),
    )


@router.get(f"{SUB}/{{upid}}/MeterReading/{{mrid}}/IntervalBlock/{{ibid}}")
def interval_block(
    request: Request, upid: str, mrid: str, ibid: str, reading: ReadingDep
) -> Response:
    return entry_response(
        request,
        lambda s: reading.open(s).interval_block_member(upid, mrid, ibid),
    )


def _summary_routes(name: str) -> None:
    @router.get(f"{SUB}/{{upid}}/{name}", name=f"{name}_collection")
    def summaries(upid: str, request: Request, reading: ReadingDep, query: QueryDep) -> Response:
        _need_summaries(reading)
        return feed_response(
            request,
            reading.settings,
            name,
            lambda s: reading.open(s).usage_summaries(query, upid),
        )

    @router.get(f"{SUB}/{{upid}}/{name}/{{summary_id}}", name=f"{name}_member")
    def summary(request: Request, upid: str, summary_id: str, reading: ReadingDep) -> Response:
        _need_summaries(reading)
        return entry_response(
            request,
            lambda s: reading.open(s).usage_summary_member(upid, summary_id),
        )


for _name in SUMMARY_NAMES:
    _summary_routes(_name)


@router.get(f"{SUB}/{{upid}}/ElectricPowerQualitySummary")
def quality_summaries(
    upid: str, request: Request, reading: ReadingDep, query: QueryDep
) -> Response:
    return feed_response(
        request,
        reading.settings,
        "ElectricPowerQualitySummary",
        lambda s: reading.open(s).power_quality_summaries(query, upid),
    )


@router.get(f"{SUB}/{{upid}}/ElectricPowerQualitySummary/{{qid}}")
def quality_summary(request: Request, upid: str, qid: str, reading: ReadingDep) -> Response:
    return entry_response(
        request,
        lambda s: reading.open(s).power_quality_summary_member(upid, qid),
    )


@router.get(f"{ESPI}/ReadingType")
def reading_types(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: CustomerCaller,
    query: QueryDep,
) -> Response:
    reading = Reading(session, settings, who, who.subscription_id)
    return feed_response(
        request,
        settings,
        "ReadingType",
        lambda s: reading.open(s).reading_types(query),
    )


@router.get(f"{ESPI}/ReadingType/{{rtid}}")
def reading_type(
    rtid: str, request: Request, session: SessionDep, settings: SettingsDep, who: CustomerCaller
) -> Response:
    reading = Reading(session, settings, who, who.subscription_id)
    return entry_response(
        request,
        lambda s: reading.open(s).reading_type_member(rtid),
    )


@router.get(f"{ESPI}/LocalTimeParameters")
def local_time_parameters(
    request: Request, settings: SettingsDep, _who: CustomerCaller, query: QueryDep
) -> Response:
    return feed_response(
        request,
        settings,
        "LocalTimeParameters",
        lambda _s: subscription.local_time_parameters(settings, query),
    )


@router.get(f"{ESPI}/LocalTimeParameters/{{ltid}}")
def local_time_parameter(
    request: Request, ltid: str, settings: SettingsDep, _who: CustomerCaller
) -> Response:
    return entry_response(
        request, lambda _s: subscription.local_time_parameters_entry(settings, ltid)
    )


# --- shared steps -------------------------------------------------------------------------------


def _need(reading: Reading, block: int, what: str) -> None:
    if block not in reading.blocks:
        raise wrong_class(f"{what} needs function block {block} in the authorized scope")


def _need_summaries(reading: Reading) -> None:
    if not reading.blocks & {15, 16, 28}:
        raise wrong_class("UsageSummary needs function block 15, 16 or 28 in the authorized scope")


def _accepted(
    request: Request, session: Session, settings: Settings, who: Caller, what: str
) -> Response:
    """202: the BatchList naming this request's URI with a `correlationID` is queued."""
    correlation = str(uuid.uuid4())
    params = [(k, v) for k, v in request.query_params.multi_items() if k != CORRELATION]
    params.append((CORRELATION, correlation))
    uri = f"{settings.url(request.url.path)}?{urlencode(params)}"
    notify(session, who.client, [uri], f"{what}:{correlation}")
    session.commit()
    return Response(status_code=202, headers={"Location": uri})


def feed_response(
    request: Request,
    settings: Settings,
    title: str,
    make: Entries,
    headers: dict[str, str] | None = None,
) -> Response:
    self_href = settings.url(request.url.path) + (
        f"?{request.url.query}" if request.url.query else ""
    )
    feed = atom.Feed(
        atom_id=hrefs.atom_id(settings, request.url.path.removeprefix(f"{ESPI}/")),
        title=title,
        self_href=self_href,
        updated=utcnow(),
    )
    session: Session = request.app.state.sessions()
    try:
        entries = make(session)
    except (subscription.NotFound, retail.NotFound) as error:
        session.close()
        raise OAuthError("not_found", str(error), 404) from error
    except retail.OutOfScope as error:
        session.close()
        raise wrong_class(str(error)) from error
    except BaseException:
        session.close()
        raise

    def body() -> Iterable[bytes]:
        try:
            yield from atom.stream_feed(feed, entries)
        finally:
            session.close()

    return StreamingResponse(body(), media_type=XML, headers=headers)


def entry_response(request: Request, make: Callable[[Session], atom.Entry]) -> Response:
    """One member entry as a document."""
    with request.app.state.sessions() as session:
        try:
            entry = make(session)
        except (subscription.NotFound, retail.NotFound) as error:
            raise OAuthError("not_found", str(error), 404) from error
        except retail.OutOfScope as error:
            raise wrong_class(str(error)) from error
        return Response(atom.entry_document(entry), media_type=XML)


def _bulk(
    request: Request,
    session: Session,
    settings: Settings,
    who: Caller,
    bulk_id: str,
    title: str,
    per_grant: BulkEntries,
) -> Response:
    """A third party's bulk feed over all its active authorizations (FB 35, PG&E): without a
    `correlationID`, 202 and a notification naming the URI to fetch; with one, the feed."""
    if bulk_id != who.party.bulk_id(who.client.client_id):
        raise _not_found("Bulk", bulk_id)
    correlation = request.query_params.get(CORRELATION)
    if correlation is None:
        return _accepted(request, session, settings, who, f"bulk:{bulk_id}")
    try:
        uuid.UUID(correlation)
    except ValueError as error:
        raise OAuthError("invalid_request", f"{CORRELATION} must be a UUID") from error
    now = utcnow()
    grants = [
        g
        for g in session.scalars(
            select(Grant)
            .where(Grant.client_id == who.client.client_id, Grant.espi_scope.is_not(None))
            .order_by(Grant.created, Grant.grant_id)
        )
        if grant_gives_access(g, now)
    ]

    def entries(s: Session) -> Iterable[atom.Entry]:
        for grant in grants:
            assert grant.espi_scope is not None
            yield from per_grant(s, grant, parse(grant.espi_scope))

    return feed_response(request, settings, title, entries, DOWNLOAD)


def _not_found(kind: str, resource_id: str) -> OAuthError:
    return OAuthError("not_found", f"there is no {kind} {resource_id} for this token", 404)
