"""ESPI ReadServiceStatus (NAESB REQ.21 ESPI, espi.xsd `ServiceStatus`; DIGEST §5 FB_3, §15): the
answer is a bare `espi:ServiceStatus` document, not an Atom entry."""

from __future__ import annotations

from typing import Final

from lxml import etree

from gridshare.espi import atom

UNAVAILABLE: Final = 0
NORMAL: Final = 1
"""ESPIServiceStatus"""


def service_status_document(current_status: int = NORMAL) -> bytes:
    """`<espi:ServiceStatus><espi:currentStatus>1</espi:currentStatus></espi:ServiceStatus>`."""
    if current_status not in (UNAVAILABLE, NORMAL):
        raise ValueError("currentStatus must be 0 (unavailable) or 1 (normal)")
    element = etree.Element(atom.espi("ServiceStatus"), nsmap={"espi": atom.ESPI_NS})
    etree.SubElement(element, atom.espi("currentStatus")).text = str(current_status)
    return bytes(etree.tostring(element, xml_declaration=True, encoding="utf-8"))
