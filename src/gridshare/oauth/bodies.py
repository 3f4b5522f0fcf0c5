"""JSON request bodies of the CDS-WG1-02 APIs (§5.5, §6.9, §6.11, §7.5, §7.6, §8.6): one object.

A body is accepted only as `application/json` (or a `+json` type) in UTF-8 (RFC 8259 §8.1),
else 415 Unsupported Media Type; a body above the endpoint's size limit gets 413 Content Too Large
before it is read any further (RFC 9110 §15.5.14); malformed JSON, or JSON that is not an object,
gets 400 `invalid_request`. Every refusal is the OAuth error JSON and changes nothing.

Numbers with a fraction or exponent arrive as `Decimal` (the catalogue validates decimals exactly,
see `grants.scopes.FieldDescription.validate`, and JSON columns keep them exact, see
`store.jsontext`); NaN and Infinity are refused (RFC 8259 §6).

Handlers stay plain `def`: they take the parsed object from the `JsonObject` dependency (or one
made by `json_object(limit)`), which reads the body as it streams in.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import Depends, Request

from gridshare.api.errors import OAuthError, invalid_request

DEFAULT_LIMIT: Final = 1024 * 1024
"""The largest body an API takes unless it says otherwise (1 MiB)."""


async def read_json_object(request: Request, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The request's body as a JSON object, or an `OAuthError` (415, 413 or 400)."""
    _check_media_type(request.headers.get("content-type"))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large(limit)
    try:
        value = json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)
    except UnicodeDecodeError as error:
        raise invalid_request("the body is not UTF-8 (RFC 8259 §8.1)") from error
    except ValueError as error:
        raise invalid_request(f"the body is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise invalid_request("the body must be a JSON object")
    return value


def json_object(limit: int = DEFAULT_LIMIT) -> Callable[[Request], Awaitable[dict[str, Any]]]:
    """A dependency giving the request's JSON object, refusing bodies above `limit` bytes."""

    async def dependency(request: Request) -> dict[str, Any]:
        return await read_json_object(request, limit)

    return dependency


JsonObject = Annotated[dict[str, Any], Depends(json_object())]
"""The request body as a JSON object of at most `DEFAULT_LIMIT` bytes."""


def too_large(limit: int) -> OAuthError:
    return OAuthError("invalid_request", f"the body is larger than {limit} bytes", 413)


def _check_media_type(header: str | None) -> None:
    media_type, *parameters = (header or "").split(";")
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise OAuthError(
            "invalid_request",
            f"send the body as Content-Type: application/json, not {header or 'no type'}",
            415,
        )
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in {
            "utf-8",
            "utf8",
        }:
            raise OAuthError("invalid_request", "JSON bodies must be UTF-8 (RFC 8259 §8.1)", 415)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259 §6)")
