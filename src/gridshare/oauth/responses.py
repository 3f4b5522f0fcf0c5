"""The JSON answers of the CDS-WG1-02 admin APIs (§5-§9): one way to write a body, one way to
look an object up within the caller's registration.

A body is written with `gridshare.store.jsontext.to_bytes` (decimals exact). An object of another
registration is answered 404 `not_found`, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar

from fastapi import Response
from sqlalchemy import Select
from sqlalchemy.orm import Session

from gridshare.api.errors import OAuthError
from gridshare.api.pagination import Page
from gridshare.store.jsontext import to_bytes

T = TypeVar("T")

NO_STORE: Final = {"Cache-Control": "no-store"}
"""The admin APIs' answers hold secrets or registration data: never cached."""


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = NO_STORE
) -> Response:
    """`body` as an `application/json` response."""
    return Response(
        to_bytes(body),
        status_code=status,
        media_type="application/json",
        headers=dict(headers) if headers is not None else None,
    )


def listing(name: str, items: list[Any], page: Page[Any]) -> dict[str, Any]:
    """A listing body: the page's objects under `name`, then its `next` and `previous` links."""
    return {name: items, "next": page.next, "previous": page.previous}


def find_or_404(
    session: Session,
    query: Select[T],
    description: str,
    *,
    lock: bool = False,
    of: type | None = None,
) -> T:
    """The first row of `query` (locked `FOR UPDATE` of `of` when `lock`), else 404 `not_found`."""
    row = session.scalars(query.with_for_update(of=of) if lock else query).first()
    if row is None:
        raise OAuthError("not_found", description, 404)
    return row
