"""Validating Beckn messages against core 1.1.0 `transaction.yaml` and, for the meta API
(`get_cancellation_reasons` and its `cancellation_reasons` answer, ...), `meta.yaml` (a test
helper).

A request body for `/{action}` and a callback for `/on_{action}` are checked against that path's
`requestBody` schema; a synchronous answer against the ACK/NACK `responses.default` schema
(`/init`'s, which every path refers to). OpenAPI 3.0 schemas are validated as JSON Schema
draft 4 (the dialect OpenAPI 3.0 extends; its extra keywords such as `example` are ignored), and
`$ref`s are resolved inside the document through a `referencing` registry.

Formats: the ones jsonschema checks on its own (uuid, email, date, ...) plus `date-time`
(RFC 3339) and `uri` (absolute), checked here; `phone` is not checked. `formats=False` checks
structure only, for inputs whose ids are not UUIDs (the Connections examples).

This is independent of `gridshare.beckn`: it reads only the spec files.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT4

SPEC = Path(__file__).parent / "specs" / "transaction.yaml"
META_SPEC = Path(__file__).parent / "specs" / "meta.yaml"
_URI = "urn:beckn:core-1.1.0:transaction.yaml"
_META_URI = "urn:beckn:core-1.1.0:meta.yaml"
_ACK_SCHEMA = "#/paths/~1init/post/responses/default/content/application~1json/schema"
_RFC3339 = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")


@functools.cache
def spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return document


@functools.cache
def meta_spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(META_SPEC.read_text(encoding="utf-8"))
    return document


@functools.cache
def _registry() -> Registry[Any]:
    return Registry().with_resources(
        [(_URI, DRAFT4.create_resource(spec())), (_META_URI, DRAFT4.create_resource(meta_spec()))]
    )


@functools.cache
def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("date-time")
    def is_date_time(instance: object) -> bool:
        return not isinstance(instance, str) or _RFC3339.fullmatch(instance) is not None

    @checker.checks("uri")
    def is_uri(instance: object) -> bool:
        return not isinstance(instance, str) or _ABSOLUTE_URI.fullmatch(instance) is not None

    return checker


def paths() -> list[str]:
    """The API's paths, e.g. "/search", "/on_search"."""
    return list(spec()["paths"])


def _errors(pointer: str, instance: object, formats: bool, uri: str = _URI) -> list[str]:
    validator = Draft4Validator(
        {"$ref": f"{uri}{pointer}"},
        registry=_registry(),
        format_checker=_format_checker() if formats else None,
    )
    found = sorted(validator.iter_errors(instance), key=lambda error: list(error.absolute_path))
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in found
    ]


def message_errors(action: str, body: object, formats: bool = True) -> list[str]:
    """What is wrong with `body` as the request to `/{action}` ("select", "on_select", ...)."""
    path = f"/{action}"
    pointer = f"#/paths/~1{action}/post/requestBody/content/application~1json/schema"
    if path in meta_spec()["paths"]:
        return _errors(pointer, body, formats, _META_URI)
    if path not in spec()["paths"]:
        raise ValueError(f"transaction.yaml has no path {path}; it has {paths()}")
    return _errors(pointer, body, formats)


def response_errors(body: object) -> list[str]:
    """What is wrong with `body` as a synchronous ACK/NACK answer."""
    return _errors(_ACK_SCHEMA, body, formats=True)


def assert_valid_message(action: str, body: object, formats: bool = True) -> None:
    errors = message_errors(action, body, formats)
    assert not errors, f"not a valid /{action} message:\n" + "\n".join(errors)


def assert_valid_response(body: object) -> None:
    errors = response_errors(body)
    assert not errors, "not a valid ACK/NACK:\n" + "\n".join(errors)
