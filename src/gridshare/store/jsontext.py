"""JSON as text for JSON columns and responses: decimals stay exact both ways (DESIGN rule 7).

A `Decimal` is written as the exact JSON number it is (orjson `Fragment`), and JSON numbers with a
fraction or exponent are read back as `Decimal`, never as binary floats (CDS-WG1-02 §3.9).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson


def orjson_default(value: Any) -> Any:
    """orjson `default=`: a Decimal leaves as its exact JSON number."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{value} is not a JSON number")
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_bytes(value: Any, *, sort_keys: bool = False) -> bytes:
    """JSON bytes for a response or a request body."""
    option = orjson.OPT_SORT_KEYS if sort_keys else 0
    return orjson.dumps(value, default=orjson_default, option=option)


def dumps(value: Any) -> str:
    return to_bytes(value).decode()


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)
