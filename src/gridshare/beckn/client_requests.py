"""A request from the BAP to a BPP: its context (core 1.1.0 `schema/Context.yaml`: UUID
`transaction_id` and `message_id`, RFC 3339 UTC `timestamp`, ISO 8601 `ttl`, version 1.1.0), its
BECKN-006 signature (`signing.sign`; the signature's `expires - created` is the ttl), the POST to
`{bpp_uri}/{action}`, and the BPP's synchronous answer: an ACK, or a NACK with its BECKN-005
error (BECKN-003's async model: the result comes later as an `on_{action}` callback)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import httpx
import orjson

from gridshare.beckn import signing
from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.client_identity import Identity
from gridshare.beckn.context import BPP_ACTIONS, VERSION, ttl_end
from gridshare.beckn.registry import utc_now
from gridshare.timefmt import rfc3339

DEFAULT_COUNTRY: Final = "USA"
DEFAULT_TTL: Final = "PT10M"
"""The Generic guide's example ttl; also how long a request's signature is valid."""
HTTP_TIMEOUT_SECONDS: Final = 10.0


def build_request(
    identity: Identity,
    action: str,
    message: Mapping[str, Any],
    transaction_id: str,
    bpp_uri: str,
    *,
    bpp_id: str | None = None,
    ttl: str = DEFAULT_TTL,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The body of `POST {bpp_uri}/{action}`: its context has a new UUID `message_id` and now as
    the timestamp."""
    if action not in BPP_ACTIONS:
        raise ClientError(f"{action!r} is not a Beckn action; actions: {sorted(BPP_ACTIONS)}")
    moment = now or utc_now()
    try:
        ttl_end(moment, ttl)
    except ValueError as exc:
        raise ClientError(f"ttl: {exc}") from None
    context: dict[str, Any] = {
        "domain": identity.domain,
        "location": {"country": {"code": DEFAULT_COUNTRY}},
        "action": action,
        "version": VERSION,
        "bap_id": identity.subscriber_id,
        "bap_uri": identity.callback_url,
    }
    if bpp_id is not None:
        context["bpp_id"] = bpp_id
    context |= {
        "bpp_uri": bpp_uri,
        "transaction_id": transaction_id,
        "message_id": str(uuid.uuid4()),
        "timestamp": rfc3339(moment),
        "ttl": ttl,
    }
    return {"context": context, "message": dict(message)}


@dataclass(frozen=True)
class Answer:
    """The BPP's synchronous answer to a request."""

    status_code: int
    body: Any
    """The JSON answered, or None if it was not JSON."""
    text: str

    @property
    def acknowledged(self) -> bool:
        """A 2xx answer whose `message.ack.status` is ACK."""
        return 200 <= self.status_code < 300 and _ack_status(self.body) == "ACK"

    def summary(self) -> str:
        """ACK, or NACK with its error, for a person."""
        if self.acknowledged:
            return f"ACK (HTTP {self.status_code})"
        error = self.body.get("error") if isinstance(self.body, dict) else None
        said = json.dumps(error) if error else self.text[:500] or "no body"
        return f"{_ack_status(self.body) or 'no ACK'} (HTTP {self.status_code}): {said}"


def signed_headers(
    raw: bytes, identity: Identity, ttl: str = DEFAULT_TTL, now: datetime | None = None
) -> dict[str, str]:
    """The headers of a request carrying `raw`: its BECKN-006 `Authorization`, valid from now
    for the ttl, and the JSON content type."""
    created = now or utc_now()
    authorization = signing.sign(
        raw,
        identity.private_key,
        identity.subscriber_id,
        identity.unique_key_id,
        created=created,
        expires=ttl_end(created, ttl),
    )
    return {"Authorization": authorization, "Content-Type": "application/json"}


def send(
    bpp_uri: str,
    body: Mapping[str, Any],
    identity: Identity,
    *,
    http: httpx.Client | None = None,
    now: datetime | None = None,
) -> Answer:
    """Sign `body` and POST it to `{bpp_uri}/{context.action}`; ClientError if the BPP cannot be
    reached."""
    context = body["context"]
    raw = orjson.dumps(body)
    headers = signed_headers(raw, identity, context.get("ttl", DEFAULT_TTL), now)
    url = f"{bpp_uri.rstrip('/')}/{context['action']}"
    try:
        if http is None:
            response = httpx.post(url, content=raw, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)
        else:
            response = http.post(url, content=raw, headers=headers)
    except httpx.HTTPError as exc:
        raise ClientError(f"the BPP at {url} cannot be reached: {exc!r}") from exc
    try:
        answered = response.json()
    except ValueError:
        answered = None
    return Answer(response.status_code, answered, response.text)


def _ack_status(body: Any) -> str | None:
    try:
        status = body["message"]["ack"]["status"]
    except (KeyError, TypeError):
        return None
    return status if isinstance(status, str) else None
