"""CDS-WG1-01 §4 Coverage Endpoint: the Coverage Listing (§4.1), its `ids` filter (§4.2), the
Coverage Entry objects (§4.3) and each geographic entry's GeoJSON territory.

Both endpoints are public, like the server metadata that links to them (§8.1). Pages hold
`settings.page_size` entries, newest `updated` first; `next` and `previous` carry an opaque
`cursor` and repeat the `ids` filter.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response

from gridshare.cds.http_cache import public_document
from gridshare.config import Settings
from gridshare.http import SessionDep, SettingsDep
from gridshare.store import jsontext
from gridshare.store.tables.coverage import CoverageEntry
from gridshare.timefmt import rfc3339
from gridshare.utility.coverage import Cursor, Position, list_entries, territory

COVERAGE_PATH: Final = "/cds/coverage"
GEOJSON_MEDIA_TYPE: Final = "application/geo+json"

router = APIRouter(tags=["CDS coverage"])

IdsQuery = Annotated[
    str | None,
    Query(description="Space-separated coverage entry ids: list only these entries (§4.2)."),
]
CursorQuery = Annotated[
    str | None,
    Query(description="Opaque page position, as given in a listing's next or previous link."),
]


@router.get(COVERAGE_PATH, summary="Coverage Listing (CDS-WG1-01 §4)")
def coverage_listing(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    ids: IdsQuery = None,
    cursor: CursorQuery = None,
) -> Response:
    wanted = _parse_ids(ids)
    page = list_entries(
        session, limit=settings.page_size, ids=wanted, cursor=_decode_cursor(cursor)
    )
    listing = {
        "coverage_entries": [coverage_entry(settings, entry) for entry in page.entries],
        "next": _page_url(settings, wanted, page.next),
        "previous": _page_url(settings, wanted, page.previous),
    }
    return public_document(request, jsontext.to_bytes(listing), "application/json")


@router.get(
    COVERAGE_PATH + "/{entry_id}/territory.geojson",
    summary="A geographic coverage entry's territory, GeoJSON in WGS 84 (CDS-WG1-01 §4.3)",
)
def coverage_territory(request: Request, session: SessionDep, entry_id: str) -> Response:
    geojson = territory(session, entry_id)
    if geojson is None:
        raise HTTPException(
            404,
            f"no coverage entry {entry_id!r} with a territory; "
            f"the listing at {COVERAGE_PATH} links every territory it has",
        )
    return public_document(request, jsontext.to_bytes(geojson), GEOJSON_MEDIA_TYPE)


def coverage_entry(settings: Settings, entry: CoverageEntry) -> dict[str, Any]:
    """The §4.3 Coverage Entry object for `entry`."""
    body: dict[str, Any] = {
        "id": entry.id,
        "created": rfc3339(entry.created),
        "updated": rfc3339(entry.updated),
        "entity_name": entry.entity_name,
        "entity_abbreviation": entry.entity_abbreviation,
        "country": entry.country,
        "name": entry.name,
    }
    if entry.description is not None:
        body["description"] = entry.description
    body |= {
        "type": entry.type,
        "role": entry.role,
        "infrastructure_types": entry.infrastructure_types,
        "commodity_types": entry.commodity_types,
        "capabilities": entry.capabilities,
    }
    if entry.geojson is not None:
        body["geojson_resource"] = settings.url(
            f"{COVERAGE_PATH}/{quote(entry.id, safe='')}/territory.geojson"
        )
    return body


def _parse_ids(ids: str | None) -> list[str] | None:
    if ids is None:
        return None
    wanted = ids.split()
    if not wanted:
        raise HTTPException(
            400, "ids is empty: give space-separated coverage entry ids, or leave ids out"
        )
    return wanted


def _page_url(settings: Settings, ids: list[str] | None, cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    query = {"ids": " ".join(ids)} if ids is not None else {}
    query["cursor"] = _encode_cursor(cursor)
    return settings.url(COVERAGE_PATH) + "?" + urlencode(query, quote_via=quote)


def _encode_cursor(cursor: Cursor) -> str:
    at = cursor.position
    raw = orjson.dumps([cursor.forward, cursor.inclusive, at.updated.isoformat(), at.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(token: str | None) -> Cursor | None:
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        forward, inclusive, updated, entry_id = orjson.loads(raw)
        moment = datetime.fromisoformat(updated)
        if not (isinstance(forward, bool) and isinstance(inclusive, bool)):
            raise TypeError(forward, inclusive)
        if not isinstance(entry_id, str) or moment.tzinfo is None:
            raise ValueError(entry_id, updated)
    except (binascii.Error, ValueError, TypeError) as error:
        raise HTTPException(
            400,
            "cursor is not a page position this server gave out; "
            "follow the listing's next and previous links as they are, or leave cursor out",
        ) from error
    return Cursor(Position(moment, entry_id), forward=forward, inclusive=inclusive)
