"""RFC 6749 §3.2 and Appendix B: form-encoded requests to the token, introspection and revocation
endpoints, and their no-store answers (§5.1).

A body is accepted only as `application/x-www-form-urlencoded` (UTF-8); anything else is
`400 invalid_request` (RFC 6749 §5.2 gives these endpoints 400 for a malformed request, so OAuth
clients find the error they expect). Bodies above `FORM_LIMIT` bytes get 413 before they are read
further. A parameter given twice is refused (§3.2); one sent without a value counts as omitted
(§3.1); unknown parameters are ignored (§3.1).

`NoStoreRoute` puts `Cache-Control: no-store` and `Pragma: no-cache` on every answer of a router,
errors included (§5.1, RFC 7009 §2.2, RFC 7662 §2.2).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final
from urllib.parse import parse_qsl

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from gridshare.api.errors import OAuthError, invalid_request

FORM_LIMIT: Final = 64 * 1024
"""The largest form body these endpoints read (64 KiB: authorization_details fits easily)."""

MAX_FIELDS: Final = 50

NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}

MEDIA_TYPE: Final = "application/x-www-form-urlencoded"


async def read_form(request: Request) -> dict[str, str]:
    """The request's form parameters (empty values dropped), or an `OAuthError` (400 or 413)."""
    _check_media_type(request.headers.get("content-type"))
    form: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in await read_pairs(request):
        if name in seen:
            raise invalid_request(f"the parameter {name} is given more than once")
        seen.add(name)
        if value:
            form[name] = value
    return form


async def read_pairs(request: Request) -> list[tuple[str, str]]:
    """The form body's (name, value) pairs in order, blanks kept; 413 when it is larger than
    `FORM_LIMIT`, 400 when it is not UTF-8 URL encoding or has more than `MAX_FIELDS` pairs.
    The caller checks the media type first."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > FORM_LIMIT:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise _too_large()
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError as error:
        raise invalid_request("the form body is not valid UTF-8 URL encoding") from error
    except ValueError as error:
        raise invalid_request(f"the form body has more than {MAX_FIELDS} parameters") from error
    return pairs


Form = Annotated[dict[str, str], Depends(read_form)]
"""The request's form parameters."""


class NoStoreRoute(APIRoute):
    """A route whose answers, errors included, must not be cached."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except HTTPException as error:
                error.headers = {**(error.headers or {}), **NO_STORE}
                raise
            response.headers.update(NO_STORE)
            return response

        return route


def _too_large() -> OAuthError:
    return OAuthError("invalid_request", f"the body is larger than {FORM_LIMIT} bytes", 413)


def _check_media_type(header: str | None) -> None:
    media_type, *parameters = (header or "").split(";")
    if media_type.strip().lower() != MEDIA_TYPE:
        raise invalid_request(f"send the parameters as {MEDIA_TYPE}, not {header or 'no type'}")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in {
            "utf-8",
            "utf8",
        }:
            raise invalid_request("form bodies must be UTF-8")
