"""Green Button scope strings (NAESB REQ.21 ESPI; the GBA scope grammar, DIGEST §7).

A scope string is `;`-terminated terms, e.g.
`FB=1_3_4_5_13_14_15_39;IntervalDuration=900;BlockDuration=daily;HistoryLength=34128000`:
`FB=` lists the function blocks the third party may use, `IntervalDuration` the interval lengths
(seconds) it receives, `BlockDuration` how readings are grouped, `HistoryLength` how far back it may
read (seconds), `SubscriptionFrequency` how often it expects data, `AccountCollection` and `BR`
(its Bulk id) are resource terms.

An ESPI authorization is kept as an ordinary Grant (one consent store for CDS and Green Button):
`consent_request` turns the scope into Customer Consent scopes (`cds_usage`, and
`cds_service_contracts` for the retail customer blocks) with the `include_*` fields the function
blocks need, so the same authorization form, receipts, revocation
and `Access` apply; the Grant remembers the scope string (`Grant.espi_scope`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

SUPPORTED: Final = frozenset(
    {1, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16, 28, 32, 33, 35, 36, 37, 39, 46, 50, 51, 55, 56, 58, 60}
)
"""The function blocks this Data Custodian implements (docs/conformance.md, Green Button)."""
USAGE_BLOCKS: Final = frozenset({4, 5, 10, 11})
SUMMARY_BLOCKS: Final = frozenset({15, 16, 28})
COST_BLOCKS: Final = frozenset({12, 16, 28})
RETAIL_BLOCKS: Final = frozenset({46, 50, 51, 55, 56, 58, 60})
DETAIL_BLOCKS: Final = frozenset({55, 56})
"""Customer demographics and billing: the name, account numbers, agreements and programs."""
NAMED_DURATIONS: Final = frozenset(
    {"billingPeriod", "daily", "monthly", "seasonal", "weekly", "fifteenMinute", "hourly"}
)
MAX_HISTORY_SECONDS: Final = 3 * 365 * 86400
"""HistoryLength beyond three years is read as three years (the usage scope's `segment_start`
maximum, P3Y, in the default catalogue)."""
_TERM: Final = re.compile(r"^(?P<name>[A-Za-z]+)=(?P<value>[^;=\s]+)$")
_FB: Final = re.compile(r"^\d{1,3}(_\d{1,3})*$")


class ScopeError(ValueError):
    """A scope string that does not follow the grammar, or asks for what we do not offer."""


@dataclass(frozen=True)
class EspiScope:
    text: str
    blocks: frozenset[int]
    interval_durations: tuple[int, ...] = ()
    block_duration: str | None = None
    history_seconds: int | None = None
    subscription_frequency: str | None = None
    bulk_id: str | None = None

    def has(self, *blocks: int) -> bool:
        """Whether any of `blocks` is authorized."""
        return any(b in self.blocks for b in blocks)

    def history_start(self, now: datetime) -> datetime | None:
        """The earliest instant the third party may read (HistoryLength), None if unlimited."""
        if self.history_seconds is None:
            return None
        return now - timedelta(seconds=self.history_seconds)


def parse(text: str) -> EspiScope:
    """Parse and check one scope string; raises ScopeError naming the bad term."""
    terms: dict[str, str] = {}
    for raw in text.removesuffix(";").split(";"):
        match = _TERM.match(raw)
        if match is None:
            raise ScopeError(f"{raw!r} is not a Name=value term (terms end with ';')")
        name = match["name"]
        if name in terms:
            raise ScopeError(f"{name} is given twice")
        terms[name] = match["value"]
    if "FB" not in terms or not _FB.match(terms["FB"]):
        raise ScopeError("the scope must start with FB= and function block numbers joined by _")
    blocks = frozenset(int(n) for n in terms.pop("FB").split("_"))
    unsupported = sorted(blocks - SUPPORTED)
    if unsupported:
        raise ScopeError(
            f"function blocks {', '.join(map(str, unsupported))} are not offered "
            f"(offered: {'_'.join(map(str, sorted(SUPPORTED)))})"
        )
    if not blocks & {1, 51}:
        raise ScopeError("FB 1 (usage data) or FB 51 (retail customer data) is required")
    intervals = tuple(_durations(terms.pop("IntervalDuration", None)))
    history = terms.pop("HistoryLength", None)
    if history is not None and not history.isdigit():
        raise ScopeError("HistoryLength must be a number of seconds")
    block_duration = terms.pop("BlockDuration", None)
    if block_duration is not None and block_duration not in NAMED_DURATIONS:
        raise ScopeError(
            f"BlockDuration {block_duration!r} is not one of {sorted(NAMED_DURATIONS)}"
        )
    frequency = terms.pop("SubscriptionFrequency", None)
    bulk = terms.pop("BR", None)
    terms.pop("AccountCollection", None)
    if terms:
        raise ScopeError(f"unknown term {sorted(terms)[0]}")
    return EspiScope(
        text=text,
        blocks=blocks,
        interval_durations=intervals,
        block_duration=block_duration,
        history_seconds=int(history) if history is not None else None,
        subscription_frequency=frequency,
        bulk_id=bulk,
    )


def consent_request(
    scope: EspiScope, usage_scope_id: str, contracts_scope_id: str
) -> list[dict[str, Any]]:
    """The authorization_details entries of the Customer Consent scopes an ESPI scope becomes
    (module docstring): what the customer sees and approves on the authorization form. Usage
    (and its service points, meters and contracts) always; the Service Contracts scope, with the
    account and program details the retail customer blocks show, when FB 55 or 56 is asked."""
    usage: dict[str, Any] = {
        "type": usage_scope_id,
        "include_service_points": True,
        "include_meter_devices": True,
        "include_service_contracts": True,
    }
    if scope.history_seconds is not None:
        usage["segment_start"] = f"PT{min(scope.history_seconds, MAX_HISTORY_SECONDS)}S"
    if scope.has(*SUMMARY_BLOCKS):
        # Bill Sections are related through their Account and Service Contract (§7.2.6)
        usage["include_bill_sections"] = True
        usage["include_accounts"] = True
    if scope.has(*RETAIL_BLOCKS):
        usage["include_accounts"] = True
        usage["include_service_point_addresses"] = True
        usage["include_coordinates"] = True
        usage["include_meter_numbers"] = True
    entries = [usage]
    if scope.has(*DETAIL_BLOCKS):
        entries.append(
            {
                "type": contracts_scope_id,
                "include_account_numbers": True,
                "include_account_details": True,
                "include_contract_numbers": True,
                "include_service_contract_details": True,
                "include_service_programs": True,
                "include_meter_devices": True,
                "include_meter_numbers": True,
            }
        )
    return entries


def _durations(value: str | None) -> list[int]:
    if value is None:
        return []
    out = []
    for part in value.split("_"):
        if not part.isdigit():
            raise ScopeError(f"IntervalDuration {part!r} is not a number of seconds")
        out.append(int(part))
    return out
