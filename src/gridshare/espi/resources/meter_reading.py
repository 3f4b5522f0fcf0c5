"""ESPI MeterReading (espi.xsd `MeterReading`; DIGEST §2, §3, §4): one channel of a meter installed
at a UsagePoint's service point (a meter swap gives the point a second MeterReading per quantity).

The element has no content fields; the entry links the channel's IntervalBlocks (`related` ->
`.../MeterReading/{id}/IntervalBlock`) and its ReadingType (`related` -> `ReadingType/{id}`). The
id is opaque and stable: the first 64 bits of a BLAKE2b hash of the meter id and the channel's
identity (kind, direction, interval), in hex; a request resolves it by computing the ids of the
channels its Access reaches.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final

from lxml import etree

from gridshare.espi import atom
from gridshare.espi.resources import Paths, reading_type, usage_point

NAME: Final = "MeterReading"
_KINDS: Final = {
    "electric_usage": "Electricity",
    "electric_demand": "Electric demand",
    "natural_gas_usage": "Natural gas",
    "water_usage": "Water",
}


def meter_reading_id(meter_id: str, kind: str, direction: str | None, interval: int) -> str:
    made = f"{meter_id}|{kind}|{direction or ''}|{interval}".encode()
    return hashlib.blake2b(made, digest_size=8).hexdigest()


def collection(usage_point_id: str) -> tuple[str, ...]:
    return (*usage_point.path(usage_point_id), NAME)


def path(usage_point_id: str, meter_reading_id: str) -> tuple[str, ...]:
    return (*collection(usage_point_id), meter_reading_id)


def title(kind: str, direction: str | None, interval: int) -> str:
    flow = f" {direction}" if direction else ""
    every = f"every {interval} s" if interval else "per read period"
    return f"{_KINDS.get(kind, kind)}{flow}, {every}"


def entry(
    paths: Paths,
    usage_point_id: str,
    meter_reading_id: str,
    reading_type_id: str,
    title: str,
    published: datetime,
    updated: datetime,
) -> atom.Entry:
    at = path(usage_point_id, meter_reading_id)
    return atom.Entry(
        atom_id=paths.atom_id(at),
        title=title,
        links=(
            paths.collection("up", collection(usage_point_id)),
            paths.member("self", at),
            paths.collection("related", (*at, "IntervalBlock")),
            paths.global_member("related", reading_type.path(reading_type_id)),
        ),
        content=etree.Element(atom.espi(NAME)),
        published=published,
        updated=updated,
    )
