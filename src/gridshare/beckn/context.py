"""The `context` of Beckn messages a BPP receives and sends, and the ACK/NACK answer (core 1.1.0).

Rules, by source:
- `schema/Context.yaml` (in `transaction.yaml`): the fields, `timestamp` RFC 3339, `ttl` an ISO 8601
  duration "after timestamp for which this message holds valid", a new `message_id` for
  unsolicited callbacks.
- Beckn-ONIX specification, "Requirements for BPP Mode", "Context (Transaction API)" and
  "Responses without corresponding requests": a callback echoes `message_id`, `transaction_id`,
  `bap_id` and `bap_uri` and carries our own `bpp_id`/`bpp_uri`.
- Generic implementation guide, "Key Fields in Context": version `1.1.0`, UTC timestamps at server
  time; "validate timestamp and ttl on receiving side to reject stale messages".
- BECKN-005 error codes. It has no context-specific codes, so a bad context is 30000 "Invalid
  request error", and an action this BPP does not implement is 40001 "Action not applicable".
- `components/io/Response.yaml` and `Ack.yaml`: `{"message": {"ack": {"status": "ACK"}}}`, a NACK
  with `error: {code, paths, message}`.

Core 1.1.0 makes no context field `required`. A BPP needs these to answer at all, so they are
required here: domain, action, version, bap_id, bap_uri, transaction_id, message_id, timestamp.
Ids are not required to be UUIDs on input (the Connections examples use ids such as
"connection-txn-8001"); the ids we create are UUIDs.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from gridshare.beckn import keys
from gridshare.beckn.errors import ACTION_NOT_APPLICABLE, INVALID_REQUEST, BecknError
from gridshare.config import Settings
from gridshare.timefmt import rfc3339

VERSION = "1.1.0"
BPP_ACTIONS = frozenset(
    (
        "search",
        "select",
        "init",
        "confirm",
        "status",
        "track",
        "cancel",
        "update",
        "rating",
        "support",
    )
)
META_ANSWERS: Final[Mapping[str, str]] = {
    "get_cancellation_reasons": "cancellation_reasons",
    "get_rating_categories": "rating_categories",
    "get_return_reasons": "return_reasons",
}
"""The meta API (core 1.1.0 `meta.yaml`): each request and the action of its answer."""
ACTIONS = BPP_ACTIONS | frozenset(META_ANSWERS)
"""Every action a BPP is sent: the transaction API's and the meta API's."""
REQUIRED_FIELDS = (
    "domain",
    "action",
    "version",
    "bap_id",
    "bap_uri",
    "transaction_id",
    "message_id",
    "timestamp",
)
TEXT_MAX = 200
"""The longest id, domain or timestamp accepted (`bap_uri`: URL_MAX)."""
URL_MAX = 2000
FUTURE_SKEW = timedelta(minutes=5)
"""How far ahead of our clock a sender's `timestamp` may be."""
DEFAULT_TTL = "PT10M"
"""The validity of a message that states no `ttl` (the Generic guide's example value)."""

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_DURATION = re.compile(
    r"P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?",
    re.ASCII,
)


@dataclass(frozen=True)
class RequestContext:
    """A validated request context: `raw` as received, and what the BPP acts on."""

    raw: Mapping[str, Any]
    action: str
    domain: str
    bap_id: str
    bap_uri: str
    transaction_id: str
    message_id: str
    timestamp: datetime
    expires_at: datetime


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 date-time (with its offset) as an aware datetime; ValueError otherwise."""
    if not _RFC3339.fullmatch(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time such as 2025-05-07T14:00:00Z")
    return datetime.fromisoformat(value.upper())


def ttl_end(start: datetime, ttl: str) -> datetime:
    """`start` + the ISO 8601 duration `ttl` (years and months on the calendar); ValueError for
    a duration that is not ISO 8601 or that ends beyond year 9999."""
    match = _DURATION.fullmatch(ttl)
    if match is None:
        raise ValueError(f"{ttl!r} is not an ISO 8601 duration such as PT10M")
    years, months, weeks, days, hours, minutes = (int(part or 0) for part in match.groups()[:6])
    seconds = float((match[7] or "0").replace(",", "."))
    try:
        month_index = start.month - 1 + 12 * years + months
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        shifted = start.replace(year=year, month=month, day=day)
        return shifted + timedelta(
            weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds
        )
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"the duration {ttl!r} is too long") from exc


def validate_context(
    context: object, action: str, settings: Settings, now: datetime | None = None
) -> RequestContext:
    """Check the `context` of a request to `POST /beckn/{action}`; raise BecknError if refused."""
    if action not in ACTIONS:
        raise BecknError(
            ACTION_NOT_APPLICABLE,
            f"this BPP does not implement {action!r}; it answers {', '.join(sorted(ACTIONS))}",
        )
    if not isinstance(context, Mapping):
        raise BecknError(INVALID_REQUEST, "the request needs a context object", "context")
    fields = {name: _text(context, name) for name in REQUIRED_FIELDS}
    if fields["version"] != VERSION:
        raise _invalid("version", f"must be {VERSION!r}, not {fields['version']!r}")
    if fields["action"] != action:
        raise _invalid("action", f"is {fields['action']!r} but the request was sent to /{action}")
    if fields["domain"] not in settings.beckn_domains:
        accepted = ", ".join(settings.beckn_domains)
        raise _invalid("domain", f"{fields['domain']!r} is not served here; accepted: {accepted}")
    _check_bap_uri(fields["bap_uri"], settings)
    bpp_id = context.get("bpp_id")
    if bpp_id is not None and bpp_id != settings.subscriber_id:
        raise _invalid("bpp_id", f"is {bpp_id!r}, but this BPP is {settings.subscriber_id!r}")
    if not isinstance(context.get("location", {}), Mapping):
        raise _invalid("location", "must be an object")
    ttl = context.get("ttl", DEFAULT_TTL)
    if not isinstance(ttl, str):
        raise _invalid("ttl", "must be an ISO 8601 duration such as PT10M")
    timestamp, expires_at = _window(fields["timestamp"], ttl, now or datetime.now(UTC))
    return RequestContext(
        raw=context,
        action=action,
        domain=fields["domain"],
        bap_id=fields["bap_id"],
        bap_uri=fields["bap_uri"],
        transaction_id=fields["transaction_id"],
        message_id=fields["message_id"],
        timestamp=timestamp,
        expires_at=expires_at,
    )


def callback_context(
    request_context: Mapping[str, Any],
    settings: Settings,
    action: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The context of our `on_{action}` answer to a request whose context was `request_context`:
    its ids, BAP and ttl echoed, our `bpp_id`/`bpp_uri`, the current time."""
    if action not in ACTIONS:
        raise ValueError(f"no callback for {action!r}; actions are {sorted(ACTIONS)}")
    context: dict[str, Any] = {"domain": request_context["domain"]}
    if "location" in request_context:
        context["location"] = request_context["location"]
    context |= {
        "action": answer_action(action),
        "version": VERSION,
        "bap_id": request_context["bap_id"],
        "bap_uri": request_context["bap_uri"],
        "bpp_id": settings.subscriber_id,
        "bpp_uri": keys.subscriber_url(settings),
        "transaction_id": request_context["transaction_id"],
        "message_id": request_context["message_id"],
        "timestamp": rfc3339(now or datetime.now(UTC)),
    }
    if "ttl" in request_context:
        context["ttl"] = request_context["ttl"]
    return context


def answer_action(action: str) -> str:
    """The action of the answer to `action`: `on_{action}`, or the meta API's name."""
    return META_ANSWERS.get(action, f"on_{action}")


def unsolicited_context(
    transaction_context: Mapping[str, Any],
    settings: Settings,
    action: str,
    message_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The context of an `on_{action}` we send unprompted (e.g. `on_status` on a state change) in
    the transaction of `transaction_context` (an earlier request's, without its `message_id`):
    a `message_id` of its own (Context.yaml: unsolicited callbacks carry a new one)."""
    return callback_context(
        {**transaction_context, "message_id": message_id}, settings, action, now
    )


def _invalid(field: str, problem: str) -> BecknError:
    return BecknError(INVALID_REQUEST, f"context.{field} {problem}", f"context.{field}")


def _text(context: Mapping[str, Any], name: str) -> str:
    value = context.get(name)
    if value is None:
        raise _invalid(name, "is required")
    if not isinstance(value, str) or not value.strip():
        raise _invalid(name, "must be a non-empty string")
    longest = URL_MAX if name == "bap_uri" else TEXT_MAX
    if len(value) > longest:
        raise _invalid(name, f"is longer than {longest} characters")
    return value


def _check_bap_uri(bap_uri: str, settings: Settings) -> None:
    """An https URL. A loopback host (then http too) only while we ourselves run on http, in
    development and tests, so a production BPP never calls back in clear text or to itself."""
    parts = urlsplit(bap_uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _invalid("bap_uri", f"{bap_uri!r} must be an https URL where the BAP takes callbacks")
    if _loopback(parts.hostname):
        if urlsplit(settings.base_url).scheme != "http":
            raise _invalid("bap_uri", f"{bap_uri!r} is a loopback address; use the BAP's own URL")
    elif parts.scheme != "https":
        raise _invalid("bap_uri", f"{bap_uri!r} must use https")


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _window(timestamp: str, ttl: str, now: datetime) -> tuple[datetime, datetime]:
    """The message's timestamp and the end of its validity; BecknError if `now` is outside."""
    try:
        sent = parse_rfc3339(timestamp)
    except ValueError as exc:
        raise _invalid("timestamp", str(exc)) from exc
    if sent > now + FUTURE_SKEW:
        raise _invalid(
            "timestamp",
            f"{timestamp} is ahead of our clock ({rfc3339(now)}) by more than "
            f"{int(FUTURE_SKEW.total_seconds() // 60)} minutes; check the sender's clock",
        )
    try:
        expires_at = ttl_end(sent, ttl)
    except ValueError as exc:
        raise _invalid("ttl", str(exc)) from exc
    if expires_at < now:
        raise _invalid(
            "timestamp",
            f"the message expired at {rfc3339(expires_at)} (timestamp {timestamp} + ttl {ttl}); "
            "send a fresh one",
        )
    return sent, expires_at
