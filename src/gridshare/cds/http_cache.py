"""Public CDS documents over HTTP: RFC 3339 times, entity tags and conditional GET.

CDS-WG1-01 §2 (datetimes are RFC 3339 `date-time`) and §3/§4 (a 304 Not Modified answer to a
request carrying `If-None-Match` is acceptable). Entity tags follow RFC 9110 §8.8.3 and
`If-None-Match` uses its weak comparison (§13.1.2).
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from fastapi import Request, Response

PUBLIC_CACHE_CONTROL: Final = "public, max-age=300"
"""Public metadata may be cached by anyone for five minutes, then revalidated with the ETag."""

_OPAQUE_TAG = re.compile(r'(?:W/)?"([^"]*)"')


def entity_tag(body: bytes) -> str:
    """A strong entity tag for `body`."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def none_match(header: str | None, tag: str) -> bool:
    """Whether an `If-None-Match` header matches `tag` (`*`, or one of a list, weak or strong)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return tag.strip('"') in _OPAQUE_TAG.findall(header)


def public_document(request: Request, body: bytes, media_type: str) -> Response:
    """200 with `body`, or 304 Not Modified when the client's `If-None-Match` already has it."""
    tag = entity_tag(body)
    headers = {"ETag": tag, "Cache-Control": PUBLIC_CACHE_CONTROL}
    if none_match(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
