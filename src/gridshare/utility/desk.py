"""What the connection desk records when it moves an order along, checked once for the CLI and
the staff page: the reason, and the connection details (DEG Connections guide v1.1, on_status-4:
the item's tag group `connection_details`, sent once the connection is established).

The desk may record only the codes that tag group uses, each with a short non-empty value; they
are kept on the order (`utility.orders.advance(..., details=...)`) for the Beckn face to send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from gridshare.utility.orders import OrderError

DETAIL_CODES: Final = (
    "consumer_number",
    "meter_id",
    "meter_type",
    "connection_type",
    "sanctioned_load_kw",
    "connection_start_date",
    "billing_cycle",
    "tariff_category",
    "subsidy_eligible",
    "grid_zone",
)
"""The `connection_details` codes of the guide's on_status-4 example, in its order."""
DETAIL_MAX: Final = 199
"""The longest detail value the desk may record (under 200 characters)."""
REASON_MAX: Final = 1000
"""The longest reason an order's history keeps (`OrderEvent.reason`)."""


def checked_details(details: Mapping[str, str]) -> dict[str, str]:
    """`details` with surrounding blanks removed, if every code is one of `DETAIL_CODES` and every
    value is 1 to `DETAIL_MAX` characters; else OrderError naming the codes or the limit."""
    unknown = sorted(set(details) - set(DETAIL_CODES))
    if unknown:
        raise OrderError(
            f"unknown connection detail {', '.join(unknown)}; use {', '.join(DETAIL_CODES)}"
        )
    values = {code: value.strip() for code, value in details.items()}
    for code, value in values.items():
        if not 0 < len(value) <= DETAIL_MAX:
            raise OrderError(
                f"connection detail {code} needs a value of 1 to {DETAIL_MAX} characters"
            )
    return values


def checked_reason(reason: str | None) -> str | None:
    """`reason` without surrounding blanks (None if blank), if at most `REASON_MAX` characters."""
    text = (reason or "").strip()
    if len(text) > REASON_MAX:
        raise OrderError(f"a reason may have at most {REASON_MAX} characters, got {len(text)}")
    return text or None
