"""Scope catalogues for tests: the bundled one as data, and a scope with a field of every format."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from gridshare.grants.scopes import DEFAULT_FILE, Catalogue, parse_catalogue
from gridshare.store.jsontext import orjson_default

SAMPLE = "gridshare_sample_1"
"""A client-credentials scope of the sample catalogue with a field of every §3.9 format."""


def bundled() -> dict[str, Any]:
    """The bundled catalogue file, parsed as the loader parses it (a fresh copy each call)."""
    data: dict[str, Any] = json.loads(DEFAULT_FILE.read_text(), parse_float=Decimal)
    return data


def field(fid: str, fmt: str, **extra: Any) -> dict[str, Any]:
    body = {
        "id": fid,
        "name": fid.replace("_", " "),
        "description": f"The {fid} field.",
        "documentation": f"/developers/oauth#field-{SAMPLE}-{fid}",
        "for_types": [SAMPLE],
        "format": fmt,
        "is_required": False,
    }
    return body | extra


def choice(cid: str) -> dict[str, Any]:
    return {
        "id": cid,
        "name": cid,
        "description": f"Choice {cid}.",
        "documentation": f"https://docs.example.com/choices#{cid}",
    }


def sample_scope(**changes: Any) -> dict[str, Any]:
    body = {
        "id": SAMPLE,
        "type": "gridshare_sample",
        "name": "Sample",
        "description": "A scope with a field of every format.",
        "documentation": f"/developers/oauth#scope-{SAMPLE}",
        "registration_requirements": [],
        "registration_optional": [],
        "response_types_supported": [],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": [],
        "coverages_supported": [],
        "grant_admin_scope": "cds_grant_admin_1",
        "authorization_details_types_supported": [SAMPLE],
        "authorization_details_fields_supported": [
            field("count", "int", default=5, maximum=10, minimum=1),
            field(
                "price",
                "decimal",
                default=Decimal("1.50"),
                maximum=Decimal("99.99"),
                minimum=Decimal("0.01"),
            ),
            field("label", "string", default="x", maximum=5, minimum=1),
            field("note", "string_or_null", default=None, maximum=5, minimum=0),
            field("tags", "string_list", default=[], maximum=6, minimum=0),
            field("numbers", "string_list_or_null", default=None, maximum=6, minimum=1),
            field("flag", "boolean", default=True),
            field("day", "relative_or_absolute_date", default="P0D", maximum="P1Y", minimum="P0D"),
            field(
                "start",
                "relative_or_absolute_datetime",
                default="P13M",
                maximum="P13M",
                minimum="PT0S",
                historical=True,
            ),
            field(
                "until",
                "relative_or_absolute_datetime",
                default="infinite",
                maximum="infinite",
                minimum="PT0S",
            ),
            field("mode", "choice", default="a", choices=[choice("a"), choice("b")]),
            field("maybe", "choice_or_null", default=None, choices=[choice("a")]),
            field(
                "kinds", "choice_list_or_null", default=["a"], choices=[choice("a"), choice("b")]
            ),
            field("jwk", "jwk_or_null", default=None),
            field("merge_selection_with", "string_or_null", default=None, maximum=100, minimum=1),
        ],
    }
    return body | changes


def with_sample(**changes: Any) -> dict[str, Any]:
    data = bundled()
    data["cds_scope_descriptions"][SAMPLE] = sample_scope(**changes)
    return data


def sample_catalogue() -> Catalogue:
    return parse_catalogue(with_sample(), source="sample")


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_bytes(orjson.dumps(data, default=orjson_default))
    return path
