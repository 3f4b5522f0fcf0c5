"""Atom feeds and entries of ESPI resources, streamed (RFC 4287 as NAESB REQ.21 ESPI wraps it).

A feed is written with lxml's incremental `xmlfile`, one entry at a time, so a meter-year leaves
as a stream of chunks with flat memory. Every link carries `type` (the strict ESPI 3.3 Atom schema
requires it); `self` is the member URL with its id, `up` the collection URL without one, `related`
the child collections and referenced members (DIGEST §3). Atom ids are `urn:uuid:` version-5
UUIDs (`espi.hrefs.atom_id`): the same resource has the same id in every response.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from lxml import etree

from gridshare.timefmt import rfc3339

ATOM: Final = "http://www.w3.org/2005/Atom"
ESPI_NS: Final = "http://naesb.org/espi"
CUSTOMER_NS: Final = "http://naesb.org/espi/customer"
NSMAP: Final[Any] = {None: ATOM, "espi": ESPI_NS, "cust": CUSTOMER_NS}
"""Atom as the default namespace (lxml-stubs do not type the `None` key)."""
CONTENT_TYPE: Final = "application/atom+xml"
ENTRY_TYPE: Final = "espi-entry/{}"
FEED_TYPE: Final = "espi-feed/{}"
CHUNK: Final = 64 * 1024
"""Bytes gathered before a chunk leaves: fewer, larger writes (bench/espi_batch.py: a quarter of
a meter-year's time went on one chunk per entry)."""


@dataclass(frozen=True)
class Link:
    rel: str
    href: str
    type: str


@dataclass(frozen=True)
class Entry:
    """One Atom entry: `content` is the single ESPI object (an element in the espi or customer
    namespace)."""

    atom_id: str
    title: str
    links: tuple[Link, ...]
    content: etree._Element
    published: datetime
    updated: datetime


@dataclass(frozen=True)
class Feed:
    atom_id: str
    title: str
    self_href: str
    updated: datetime
    links: tuple[Link, ...] = field(default_factory=tuple)
    """Links beyond `self` (e.g. the certification link)."""


def espi(tag: str) -> str:
    return f"{{{ESPI_NS}}}{tag}"


def cust(tag: str) -> str:
    return f"{{{CUSTOMER_NS}}}{tag}"


def stream_feed(feed: Feed, entries: Iterable[Entry]) -> Iterator[bytes]:
    """The feed as UTF-8 chunks of about `CHUNK` bytes, entry by entry (never the whole feed)."""
    sink = io.BytesIO()
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{ATOM}}}feed", nsmap=NSMAP):
            for tag, text in (
                ("id", feed.atom_id),
                ("title", feed.title),
                ("updated", rfc3339(feed.updated)),
            ):
                with xf.element(f"{{{ATOM}}}{tag}"):
                    xf.write(text)
            for link in (Link("self", feed.self_href, CONTENT_TYPE), *feed.links):
                with xf.element(f"{{{ATOM}}}link", rel=link.rel, href=link.href, type=link.type):
                    pass
            for entry in entries:
                xf.write(entry_element(entry, nsmap=NSMAP))
                xf.flush()
                if sink.tell() >= CHUNK:
                    yield _drain(sink)
    yield _drain(sink)


def entry_document(entry: Entry) -> bytes:
    """A single entry as a standalone document (a member GET)."""
    element = entry_element(entry, nsmap=NSMAP)
    return bytes(etree.tostring(element, xml_declaration=True, encoding="utf-8"))


def entry_element(entry: Entry, nsmap: Any = None) -> etree._Element:
    element = etree.Element(f"{{{ATOM}}}entry", nsmap=nsmap)
    element.append(_text("id", entry.atom_id))
    for link in entry.links:
        element.append(_link(link))
    element.append(_text("title", entry.title))
    content = etree.SubElement(element, f"{{{ATOM}}}content")
    content.append(entry.content)
    element.append(_text("published", rfc3339(entry.published)))
    element.append(_text("updated", rfc3339(entry.updated)))
    return element


def _text(tag: str, text: str) -> etree._Element:
    element = etree.Element(f"{{{ATOM}}}{tag}")
    element.text = text
    return element


def _link(link: Link) -> etree._Element:
    return etree.Element(f"{{{ATOM}}}link", rel=link.rel, href=link.href, type=link.type)


def _drain(sink: io.BytesIO) -> bytes:
    data = sink.getvalue()
    sink.seek(0)
    sink.truncate()
    return data
