"""What the nine CDS-WG3-01 Customer Data APIs share (§10): the bearer token's `Access`, filters,
and the listing response.

- Authentication (§10): a Bearer access token bound to Grants. A missing, expired or revoked token
  (or one whose Grants no longer give access) is 401 `invalid_token`; a token none of whose scopes
  reaches the API's kind of object is 403 `insufficient_scope` (a token that reaches the kind but
  no object of it gets an empty list).
- Filters: space-separated lists (at most `MAX_FILTER_VALUES` values), enumerations checked against
  the spec's values, RFC 3339 datetimes and ISO dates; anything else is 400 `invalid_request`
  naming the parameter. `q` is at most `MAX_SEARCH` characters and matches only fields the token
  may see on that object (`searched`).
- Listings are paged by `api.pagination` in each API's §10.x order; the body is written with orjson
  and encrypted to the Grant's key when one was given (§7.4.6, `cds.jwe`). Responses are
  `no-store`: they are one Customer's data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from datetime import date
from typing import Annotated, Any, Final

from fastapi import Depends, Header, Request, Response
from sqlalchemy import ColumnElement, Select, false, func, or_, true

from gridshare.api.bearer import bearer_value
from gridshare.api.errors import OAuthError, insufficient_scope, invalid_request, invalid_token
from gridshare.api.pagination import Page, space_list
from gridshare.cds.jwe import EncryptionKeyError, encrypt_for
from gridshare.grants import tokens
from gridshare.grants.access import Access, PreselectionTooBroad, access_for
from gridshare.grants.reach import Reach
from gridshare.grants.scopes import load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.jsontext import to_bytes
from gridshare.timefmt import rfc3339

log = logging.getLogger(__name__)

MAX_FILTER_VALUES: Final = 1000
"""The most values one space-separated filter may list."""
MAX_SEARCH: Final = 200
"""The longest `q` search term."""
NO_STORE: Final = {"Cache-Control": "no-store"}


def token_access(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Access:
    """The Access of the request's bearer token (401 when it gives none)."""
    token = tokens.find(session, bearer_value(authorization), kind="access")
    if token is None:
        raise invalid_token()
    try:
        access = access_for(session, load_catalogue(settings), token, settings.tz)
    except PreselectionTooBroad as error:
        raise invalid_request(str(error)) from error
    request.state.access = access
    return access


AccessDep = Annotated[Access, Depends(token_access)]


def reach_of(access: Access, kind: str, api: str) -> Reach:
    """The token's Reach for this kind; 403 naming the scopes that give it when none of the
    token's scopes does."""
    reach = access.reach(kind)
    if reach is None:
        needed = " ".join(access.scopes_giving(kind))
        raise insufficient_scope(
            needed,
            f"this token's scopes give no access to {api}; ask for one of: {needed} "
            "(or an include_* field of your scope that includes them)",
        )
    return reach


def within(column: Any, reach: Reach) -> ColumnElement[bool]:
    """The rows whose id (`column`) the Reach holds."""
    if not reach.bounded:
        return true()
    if not reach.ids:
        return false()
    condition: ColumnElement[bool] = column.in_(list(reach.ids))
    return condition


def with_flag(column: Any, reach: Reach, flag: str) -> ColumnElement[bool]:
    """The rows whose object has `flag` among its include flags."""
    if reach.every is not None and flag in reach.every:
        return true()
    ids = [i for i, flags in reach.ids.items() if flag in flags]
    return column.in_(ids) if ids else false()


def id_list(name: str, raw: str | None) -> list[str] | None:
    """A space-separated filter (None when absent), at most MAX_FILTER_VALUES values."""
    values = space_list(name, raw)
    if values is not None and len(values) > MAX_FILTER_VALUES:
        raise invalid_request(
            f"{name} lists {len(values)} values; at most {MAX_FILTER_VALUES} are allowed in one "
            "request"
        )
    return values


def choice_list(name: str, raw: str | None, allowed: Collection[str]) -> list[str] | None:
    """A space-separated filter whose values must be among `allowed` (a spec enumeration)."""
    values = id_list(name, raw)
    if values is None:
        return None
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise invalid_request(
            f"{name}: unknown value {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return values


def date_param(name: str, raw: str | None) -> date | None:
    """An ISO 8601 date filter (YYYY-MM-DD), else 400."""
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw.strip()) if len(raw.strip()) == 10 else _bad_date(name)
    except ValueError:
        return _bad_date(name)


def _bad_date(name: str) -> date:
    raise invalid_request(f"{name} must be a date as YYYY-MM-DD, e.g. 2024-01-31")


def search_term(raw: str | None) -> str | None:
    """The `q` term, lower-cased; blank or too long is 400."""
    if raw is None:
        return None
    term = raw.strip()
    if not term:
        raise invalid_request("q is empty: give a search term, or leave it out")
    if len(term) > MAX_SEARCH:
        raise invalid_request(f"q is longer than {MAX_SEARCH} characters")
    return term.lower()


def contains(column: Any, term: str) -> ColumnElement[bool]:
    """Case-insensitive "contains" (the term is matched literally: % and _ are not wildcards)."""
    return func.lower(column).contains(term, autoescape=True)


Matcher = Callable[[str], ColumnElement[bool]]
"""Whether an object matches a search term in one of its fields."""


def columns_contain(*columns: Any) -> Matcher:
    """A Matcher over columns of the listed row."""
    return lambda term: or_(*(contains(c, term) for c in columns))


def searched(
    query: Select[Any],
    term: str | None,
    id_column: Any,
    reach: Reach,
    fields: Iterable[tuple[str | None, Matcher]],
) -> Select[Any]:
    """`query` narrowed to `q`: objects where a field the token may see contains the term.
    `fields` pairs an include flag (None: always visible) with a matcher for the fields it makes
    visible."""
    if term is None:
        return query
    alternatives = []
    for flag, matcher in fields:
        matched = matcher(term)
        alternatives.append(
            matched if flag is None else matched & with_flag(id_column, reach, flag)
        )
    return query.where(or_(*alternatives))


def listed(query: Select[Any], filters: Iterable[tuple[list[str] | None, Any]]) -> Select[Any]:
    """`query` narrowed by each (values, column) filter given."""
    for values, column in filters:
        if values is not None:
            query = query.where(column.in_(values))
    return query


def stamps(row: Any) -> dict[str, str]:
    """The `cds_created`, `cds_modified` and `cds_synced` of a record (§10.x.1)."""
    return {
        "cds_created": rfc3339(row.created),
        "cds_modified": rfc3339(row.modified),
        "cds_synced": rfc3339(row.synced),
    }


def respond(access: Access, name: str, items: list[Any], page: Page[Any]) -> Response:
    """The listing body (§10.x "Listing"), encrypted when the Grant gave a key (§7.4.6)."""
    body = to_bytes({name: items, "next": page.next, "previous": page.previous})
    return encrypted(access, body)


def encrypted(access: Access, body: bytes) -> Response:
    try:
        content, media_type = encrypt_for(access.jwks, body)
    except EncryptionKeyError as error:
        log.error("cannot encrypt a response for client %s: %s", access.client_id, error)
        raise OAuthError(
            "server_error",
            "the response cannot be encrypted to the key the grant names; ask the utility",
            500,
        ) from error
    return Response(content, media_type=media_type, headers=NO_STORE)
