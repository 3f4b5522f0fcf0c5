"""Canonical ESPI hrefs and persistent Atom ids (NAESB REQ.21 ESPI; DIGEST §3, §4, §5).

Every href is absolute and built here, so `self`, `up` and `related` of related entries are equal
strings (clients join entries by exact href equality). Atom ids are version-5 UUIDs of the
resource's identity (its path without the `Subscription/{id}` or `RetailCustomer/{id}` prefix, e.g.
`UsagePoint/{id}/MeterReading/{id}`) under a namespace of the server's base URL: permanent,
repeatable, unique, and the same whichever authorization reads the resource, as Green Button
certification requires.
"""

from __future__ import annotations

import uuid

from gridshare import urls
from gridshare.config import Settings


def resource(settings: Settings, *parts: str) -> str:
    """`{base}/espi/1_1/resource/part/part...`."""
    return settings.url("/".join((urls.ESPI, *parts)))


def atom_id(settings: Settings, identity: str) -> str:
    """`urn:uuid:` + the version-5 UUID of `identity` (module docstring)."""
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, settings.base_url)
    return f"urn:uuid:{uuid.uuid5(namespace, identity)}"
