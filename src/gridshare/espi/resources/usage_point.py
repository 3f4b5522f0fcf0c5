"""ESPI UsagePoint (espi.xsd `UsagePoint`; DIGEST §2, §3): a service point whose usage the
Subscription reaches (meters installed there, within the Access's usage windows).

The id is the service point's id (opaque, no personal data). The content is the
`ServiceCategory` kind of what the point's channels measure (0 electricity, 1 gas, 2 water); we
publish no other UsagePoint field. The entry links its MeterReadings, its UsageSummaries (when the
Subscription's function blocks include them) and the server's LocalTimeParameters. We hold no
power quality data, so no ElectricPowerQualitySummary collection is linked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from lxml import etree

from gridshare.espi import atom
from gridshare.espi.resources import Paths

NAME: Final = "UsagePoint"
COLLECTION: Final = (NAME,)
SERVICE_KINDS: Final[Mapping[int, int]] = {1: 0, 7: 1, 9: 2}
"""ServiceKind of a ReadingType commodity: electricity, natural gas, water."""
_TITLES: Final = {0: "Electricity service", 1: "Natural gas service", 2: "Water service"}


def path(usage_point_id: str) -> tuple[str, str]:
    return (NAME, usage_point_id)


def entry(
    paths: Paths,
    usage_point_id: str,
    service_kind: int,
    published: datetime,
    updated: datetime,
    local_time_href: str,
    summaries: bool,
) -> atom.Entry:
    at = path(usage_point_id)
    links = [
        paths.collection("up", COLLECTION),
        paths.member("self", at),
        paths.collection("related", (*at, "MeterReading")),
    ]
    if summaries:
        links.append(paths.collection("related", (*at, "UsageSummary")))
    links.append(
        atom.Link("related", local_time_href, atom.ENTRY_TYPE.format("LocalTimeParameters"))
    )
    return atom.Entry(
        atom_id=paths.atom_id(at),
        title=_TITLES[service_kind],
        links=tuple(links),
        content=element(service_kind),
        published=published,
        updated=updated,
    )


def element(service_kind: int) -> etree._Element:
    made = etree.Element(atom.espi(NAME))
    category = etree.SubElement(made, atom.espi("ServiceCategory"))
    etree.SubElement(category, atom.espi("kind")).text = str(service_kind)
    return made
