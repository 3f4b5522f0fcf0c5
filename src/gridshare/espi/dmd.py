"""Download My Data (Green Button FB 2): a logged-in Customer downloads their own usage as Green
Button XML or as CSV, for the days they choose (the form is `web/downloads.py`).

What a Customer downloads is exactly what they could authorize an app to read
(`grants.access.own_access`), written by the same Subscription reader as `Batch/Subscription`
(`espi.subscription`): the CSV is a second rendering of the very entries the XML holds, so the
two always agree. Days are local days of the utility's timezone; an IntervalBlock is included
when its readings lie within them (`espi.query`). A bad request sends the Customer back to the
form with a `problem` code the form shows in words.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.login_session import current_login, login_url
from gridshare.config import Settings
from gridshare.espi import atom, hrefs, subscription
from gridshare.espi.query import Query
from gridshare.grants.access import own_access
from gridshare.grants.espi_clients import consent_scope_ids
from gridshare.grants.espi_scope import COST_BLOCKS, SUMMARY_BLOCKS, USAGE_BLOCKS
from gridshare.grants.reach import POINTS, Reach
from gridshare.grants.scopes import load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.db import utcnow
from gridshare.store.tables.servicepoints import ServicePoint

router = APIRouter(tags=["Customer pages"])

BLOCKS: Final = frozenset({1, 2, *USAGE_BLOCKS, *SUMMARY_BLOCKS, *COST_BLOCKS})
"""Everything a Customer's own file holds: usage of every commodity, costs, summaries."""
FORMATS: Final = ("xml", "csv")
UNITS: Final = {72: ("kWh", -3), 38: ("kW", -3), 169: ("therm", 0), 132: ("BTU", 0)}
"""ESPI uom -> the CSV's unit and the power of ten from the uom to it (Wh -> kWh)."""
OTHER_UNITS: Final = {42: "m3", 119: "ft3", 128: "gal"}
QUALITY: Final = {
    "0": "valid",
    "7": "manually edited",
    "8": "estimated",
    "9": "estimated",
    "11": "derived",
    "14": "raw",
    "16": "other",
    "17": "validated",
    "19": "revenue quality",
}
"""ESPI QualityOfReading codes in words (a reading without one is valid)."""
PERIOD_START: Final = "{http://naesb.org/espi}timePeriod/{http://naesb.org/espi}start"
PERIOD_LENGTH: Final = "{http://naesb.org/espi}timePeriod/{http://naesb.org/espi}duration"
CSV_HEADER: Final = (
    "service_point",
    "meter_reading",
    "start",
    "end",
    "value",
    "unit",
    "quality",
)


@router.get(urls.DOWNLOAD_FILE)
def download(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    login = current_login(session, settings, request)
    session.commit()
    if login is None:
        return RedirectResponse(login_url(urls.DOWNLOAD), 303)
    params = request.query_params
    kind = params.get("format", "xml")
    try:
        first = date.fromisoformat(params.get("start", ""))
        last = date.fromisoformat(params.get("end", ""))
    except ValueError:
        return _back(params, "dates")
    if first > last:
        return _back(params, "order")
    if (last - first).days + 1 > settings.download_max_days:
        return _back(params, "range")
    if kind not in FORMATS:
        return _back(params, "format")
    tz = settings.tz
    window = Query(
        published_min=datetime.combine(first, datetime.min.time(), tz).astimezone(UTC),
        published_max=datetime.combine(
            last + timedelta(days=1), datetime.min.time(), tz
        ).astimezone(UTC),
    )
    name = f"GreenButton_{first.isoformat()}_{last.isoformat()}"
    reader: Session = request.app.state.sessions()
    try:
        catalogue = load_catalogue(settings)
        access = own_access(
            reader, catalogue, login.customer_id, tz, consent_scope_ids(catalogue)[0]
        )
        own_id = "dmd" + hashlib.blake2b(login.customer_id.encode(), digest_size=8).hexdigest()
        entries = subscription.Subscription.open(
            reader, settings, access, own_id, BLOCKS, None
        ).batch_feed(window)
    except BaseException:
        reader.close()
        raise
    if kind == "csv":
        numbers = _point_numbers(reader, access.reach(POINTS))
        body = _closing(reader, _csv(settings, entries, numbers))
        return StreamingResponse(
            body, media_type="text/csv; charset=utf-8", headers=_attachment(f"{name}.csv")
        )
    feed = atom.Feed(
        atom_id=hrefs.atom_id(settings, f"DownloadMyData/{own_id}/{first}/{last}"),
        title=f"Green Button data {first.isoformat()} to {last.isoformat()}",
        self_href=str(request.url),
        updated=utcnow(),
    )
    return StreamingResponse(
        _closing(reader, atom.stream_feed(feed, entries)),
        media_type=atom.CONTENT_TYPE,
        headers=_attachment(f"{name}.xml"),
    )


def _back(params: Mapping[str, str], problem: str) -> Response:
    query = {k: v for k, v in params.items() if k in ("start", "end")}
    return RedirectResponse(f"{urls.DOWNLOAD}?{urlencode({**query, 'problem': problem})}", 303)


def _attachment(filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


def _closing(session: Session, chunks: Iterable[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        session.close()


def _point_numbers(session: Session, reach: Reach | None) -> dict[str, str]:
    """Service point id -> its number, for the CSV (the Customer's own records)."""
    ids = list(reach.ids) if reach is not None else []
    rows = session.execute(
        select(ServicePoint.id, ServicePoint.servicepoint_number).where(ServicePoint.id.in_(ids))
    )
    return {point_id: number or point_id for point_id, number in rows}


def _csv(
    settings: Settings, entries: Iterable[atom.Entry], numbers: dict[str, str]
) -> Iterator[bytes]:
    """The IntervalReadings of `entries` as CSV rows, one chunk per IntervalBlock."""
    tz = settings.tz
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    units: dict[str, tuple[str, int]] = {}  # ReadingType self href -> (unit, power of ten)
    reading_types: dict[str, str] = {}  # MeterReading self href -> its ReadingType href
    for entry in entries:
        tag = etree.QName(entry.content).localname
        self_href = next(link.href for link in entry.links if link.rel == "self")
        if tag == "MeterReading":
            related = [link.href for link in entry.links if link.rel == "related"]
            reading_types[self_href] = next(h for h in related if "/ReadingType/" in h)
        elif tag == "ReadingType":
            units[self_href] = _unit(entry.content)
        elif tag == "IntervalBlock":
            up = next(link.href for link in entry.links if link.rel == "up")
            meter_reading = up.removesuffix("/IntervalBlock")
            unit, power = units[reading_types[meter_reading]]
            point_id = meter_reading.split("/UsagePoint/")[1].split("/")[0]
            point = numbers.get(point_id, point_id)
            reading_id = meter_reading.rsplit("/", 1)[1]
            for reading in entry.content.iterfind(atom.espi("IntervalReading")):
                start = int(
                    reading.findtext(f"{atom.espi('timePeriod')}/{atom.espi('start')}") or 0
                )
                length = int(
                    reading.findtext(f"{atom.espi('timePeriod')}/{atom.espi('duration')}") or 0
                )
                value = int(reading.findtext(atom.espi("value")) or 0)
                quality = reading.findtext(f"{atom.espi('ReadingQuality')}/{atom.espi('quality')}")
                writer.writerow(
                    (
                        point,
                        reading_id,
                        _local(start, tz),
                        _local(start + length, tz),
                        _scaled(value, power),
                        unit,
                        QUALITY.get(quality or "0", "other"),
                    )
                )
        else:
            continue
        if buffer.tell() > 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell() > 0:
        yield buffer.getvalue().encode()


def _unit(reading_type: etree._Element) -> tuple[str, int]:
    uom = int(reading_type.findtext(atom.espi("uom")) or 0)
    multiplier = int(reading_type.findtext(atom.espi("powerOfTenMultiplier")) or 0)
    if uom in UNITS:
        name, shift = UNITS[uom]
        return name, multiplier + shift
    return OTHER_UNITS.get(uom, f"uom {uom}"), multiplier


def _scaled(value: int, power: int) -> str:
    return format(Decimal(value).scaleb(power).normalize(), "f")


def _local(epoch: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(tz).isoformat()
