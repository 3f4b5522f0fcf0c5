"""A Beckn BAP for operators and tests: the buyer's side of BECKN-003's async model, talking to a
BPP such as ours (core 1.1.0, the DEG Connections guide v1.1).

By source:
- Identity: a subscriber id, a `unique_key_id` and an Ed25519 key pair, kept in a JSON key file;
  `registry_entry` is the core registry API's `Subscription` (`api/registry`), the shape
  `registry.FileRegistry` reads, so a BPP in a closed network can be pointed at the file.
- Requests: `schema/Context.yaml` (UUID `transaction_id`/`message_id`, RFC 3339 UTC
  `timestamp`, ISO 8601 `ttl`, version 1.1.0) and the Connections guide's examples for the
  messages: search's intent, select's `requested_connection_details` tag group, init's billing and
  fulfillment customer/stops, confirm repeating init with the payments the BPP offered in on_init.
  Taxonomy values are the guide's table (`CONSUMER`, `ON_SITE`, `END`, `ELECTRICITY_CONNECTION`).
- Signing: BECKN-006, with `signing.sign`; the signature's `expires - created` is the ttl.
- Callbacks: the BPP POSTs `on_{action}` to `{bap_uri}/on_{action}`; the receiver verifies
  BECKN-006 against the BPP's keys (its `subscriber.json` or a registry file), answers ACK, or a
  401 NACK with the `WWW-Authenticate` challenge for a bad signature, and records the callback in
  an `Inbox` (memory, and a JSONL journal) where a caller waits for the one that matches the
  request's `message_id` (`Context.yaml`: "pair requests with callbacks").
- A transaction's state between commands (its id, the BPP, the orders sent) is a small JSON file.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gridshare.beckn import signing
from gridshare.beckn.context import BPP_ACTIONS, VERSION, parse_rfc3339, ttl_end
from gridshare.beckn.errors import BecknError, ack, nack
from gridshare.beckn.registry import Registry, RegistryError
from gridshare.timefmt import rfc3339

logger = logging.getLogger(__name__)

SUBSCRIBER_TYPE: Final = "BAP"
DEFAULT_DOMAIN: Final = "service"
DEFAULT_COUNTRY: Final = "USA"
DEFAULT_TTL: Final = "PT10M"
"""The Generic guide's example ttl; also how long a request's signature is valid."""
KEY_LIFETIME: Final = timedelta(days=365)
CONNECTION_CATEGORY: Final = "ELECTRICITY_CONNECTION"
USER_TYPE: Final = "CONSUMER"
FULFILLMENT_ID: Final = "1"
FULFILLMENT_TYPE: Final = "ON_SITE"
END_STOP: Final = "END"
RATING_CATEGORIES: Final = ("Item", "Order", "Fulfillment", "Provider", "Agent", "Support")
HTTP_TIMEOUT_SECONDS: Final = 10.0
MAX_CALLBACK_BYTES: Final = 1 << 20
SHUTDOWN_POLL_SECONDS: Final = 0.05
"""How often the receiver's server looks for a request to stop."""
INVALID_REQUEST: Final = "30000"
"""BECKN-005 "Invalid request error", for a callback we cannot take."""

_GPS = re.compile(
    r"[-+]?([1-8]?\d(\.\d+)?|90(\.0+)?),\s*[-+]?(180(\.0+)?|((1[0-7]\d)|([1-9]?\d))(\.\d+)?)",
    re.ASCII,
)
"""core 1.1.0 `Gps`: "lat,lon"."""
_DECIMAL = re.compile(r"\d+(\.\d+)?", re.ASCII)


class ClientError(Exception):
    """Something the operator must fix: the message says what."""


class KeySourceError(ClientError):
    """The BPP's keys cannot be read (its subscriber.json or the registry file)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- identity ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who this BAP is on the network and the key it signs with."""

    subscriber_id: str
    unique_key_id: str
    callback_url: str
    """`bap_uri`: the BPP POSTs `{callback_url}/on_{action}`."""
    domain: str
    private_key: Ed25519PrivateKey
    valid_from: datetime
    valid_until: datetime

    @property
    def public_key(self) -> str:
        """The base64 of the 32-byte Ed25519 public key (`signing_public_key`)."""
        return signing.public_key_b64(self.private_key.public_key())

    def registry_entry(self) -> dict[str, str]:
        """This BAP as a registry `Subscription` (the `registry.FileRegistry` shape)."""
        return {
            "subscriber_id": self.subscriber_id,
            "url": self.callback_url,
            "type": SUBSCRIBER_TYPE,
            "domain": self.domain,
            "key_id": self.unique_key_id,
            "signing_public_key": self.public_key,
            "valid_from": rfc3339(self.valid_from),
            "valid_until": rfc3339(self.valid_until),
            "status": "SUBSCRIBED",
        }


def new_identity(
    subscriber_id: str,
    callback_url: str,
    domain: str = DEFAULT_DOMAIN,
    now: datetime | None = None,
) -> Identity:
    """A fresh key pair and key id for `subscriber_id`, valid for `KEY_LIFETIME` from now."""
    start = (now or utc_now()).replace(microsecond=0)
    return Identity(
        subscriber_id=_subscriber_id(subscriber_id),
        unique_key_id=str(uuid.uuid4()),
        callback_url=_callback_url(callback_url),
        domain=_non_empty(domain, "the domain"),
        private_key=Ed25519PrivateKey.generate(),
        valid_from=start,
        valid_until=start + KEY_LIFETIME,
    )


def save_identity(identity: Identity, path: Path) -> None:
    """Write the key file, readable by its owner only (it holds the private key)."""
    document = {
        "subscriber_id": identity.subscriber_id,
        "unique_key_id": identity.unique_key_id,
        "callback_url": identity.callback_url,
        "domain": identity.domain,
        "signing_private_key": signing.private_key_b64(identity.private_key),
        "signing_public_key": identity.public_key,
        "valid_from": rfc3339(identity.valid_from),
        "valid_until": rfc3339(identity.valid_until),
    }
    _write_json(path, document, mode=0o600)


def load_identity(path: Path) -> Identity:
    """The identity in the key file at `path`; ClientError saying what is wrong."""
    document = _read_json(path, f"the key file {path} (made by `gridshare beckn-client init`)")
    if not isinstance(document, dict):
        raise ClientError(f"the key file {path} is not a JSON object")
    try:
        identity = Identity(
            subscriber_id=_subscriber_id(document["subscriber_id"]),
            unique_key_id=_non_empty(document["unique_key_id"], "unique_key_id"),
            callback_url=_callback_url(document["callback_url"]),
            domain=_non_empty(document["domain"], "domain"),
            private_key=signing.private_key_from_b64(document["signing_private_key"]),
            valid_from=parse_rfc3339(document["valid_from"]),
            valid_until=parse_rfc3339(document["valid_until"]),
        )
    except KeyError as exc:
        raise ClientError(f"the key file {path} has no {exc.args[0]}") from None
    except (TypeError, ValueError, ClientError) as exc:
        raise ClientError(f"the key file {path}: {exc}") from None
    if identity.public_key != document.get("signing_public_key", identity.public_key):
        raise ClientError(f"the key file {path}: signing_public_key is not the private key's")
    return identity


def init_identity(
    key_file: Path,
    subscriber_id: str,
    callback_url: str,
    *,
    domain: str | None = None,
    registry_file: Path | None = None,
    new_key: bool = False,
    now: datetime | None = None,
) -> Identity:
    """Make the key file, or update an existing one for the same subscriber (its callback URL,
    its domain if given, its key only with `new_key`), then write its entry to `registry_file`.
    A new key file's domain is `DEFAULT_DOMAIN` unless given."""
    if key_file.exists():
        existing = load_identity(key_file)
        if existing.subscriber_id != subscriber_id:
            raise ClientError(
                f"the key file {key_file} belongs to {existing.subscriber_id!r}; "
                f"choose another --key-file for {subscriber_id!r}"
            )
        domain = domain or existing.domain
        identity = Identity(
            subscriber_id=existing.subscriber_id,
            unique_key_id=existing.unique_key_id,
            callback_url=_callback_url(callback_url),
            domain=_non_empty(domain, "the domain"),
            private_key=existing.private_key,
            valid_from=existing.valid_from,
            valid_until=existing.valid_until,
        )
        if new_key:
            identity = new_identity(subscriber_id, callback_url, domain, now)
    else:
        identity = new_identity(subscriber_id, callback_url, domain or DEFAULT_DOMAIN, now)
    save_identity(identity, key_file)
    if registry_file is not None:
        write_registry_entry(identity, registry_file)
    return identity


def write_registry_entry(identity: Identity, registry_file: Path) -> None:
    """Put `identity`'s Subscription in the JSON array at `registry_file` (made if missing),
    replacing the entries of the same subscriber and keeping everyone else's."""
    entries: list[Any] = []
    if registry_file.exists():
        document = _read_json(registry_file, f"the registry file {registry_file}")
        if not isinstance(document, list):
            raise ClientError(
                f"the registry file {registry_file} must be a JSON array of Subscription objects"
            )
        entries = [
            entry
            for entry in document
            if not (
                isinstance(entry, dict) and entry.get("subscriber_id") == identity.subscriber_id
            )
        ]
    _write_json(registry_file, [*entries, identity.registry_entry()])


# --- requests ------------------------------------------------------------------------------


def request_context(
    identity: Identity,
    action: str,
    transaction_id: str,
    bpp_uri: str,
    *,
    bpp_id: str | None = None,
    ttl: str = DEFAULT_TTL,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The context of a request to the BPP: a new UUID `message_id`, now as the timestamp."""
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
    return context


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
    """The body of `POST {bpp_uri}/{action}`."""
    context = request_context(
        identity, action, transaction_id, bpp_uri, bpp_id=bpp_id, ttl=ttl, now=now
    )
    return {"context": context, "message": dict(message)}


def gps(text: str) -> str:
    """A "lat,lon" point as core 1.1.0 `Gps` has it; ClientError otherwise."""
    value = text.strip()
    if not _GPS.fullmatch(value):
        raise ClientError(f'{text!r} is not a GPS point: give "lat,lon" such as 37.7749,-122.4194')
    return value


def search_message(
    text: str | None = None, category: str | None = CONNECTION_CATEGORY, point: str | None = None
) -> dict[str, Any]:
    """search's `intent`: free text in its descriptor, the category code, and a point to search
    around as the fulfillment's first stop (the v1.0 guide's place for it)."""
    intent: dict[str, Any] = {}
    if text:
        intent["descriptor"] = {"name": text}
    if category:
        intent["category"] = {"descriptor": {"code": category}}
    if point:
        intent["fulfillment"] = {"stops": [{"location": {"gps": gps(point)}}]}
    return {"intent": intent}


def select_order(
    provider_id: str,
    item_id: str,
    *,
    load_kw: str | None = None,
    monthly_kwh: str | None = None,
    user_type: str = USER_TYPE,
    fulfillment_id: str = FULFILLMENT_ID,
) -> dict[str, Any]:
    """select's order: the item with its `connection-type` and `requested_connection_details`
    tag groups (decimal strings, as in the guide's example)."""
    details = {
        "requested_load_kw": _decimal(load_kw, "the requested load (kW)"),
        "estimated_monthly_consumption_kwh": _decimal(monthly_kwh, "the monthly consumption"),
    }
    tags = [_tag_group("connection-type", {"user_type": user_type})]
    requested = {code: value for code, value in details.items() if value is not None}
    if requested:
        tags.append(_tag_group("requested_connection_details", requested))
    return {
        "provider": {"id": provider_id},
        "items": [{"id": item_id, "tags": tags}],
        "fulfillments": [{"id": fulfillment_id}],
    }


@dataclass(frozen=True)
class Billing:
    """Who pays and is visited: init's `billing` and the fulfillment's customer."""

    name: str
    address: str
    email: str | None = None
    phone: str | None = None

    def billing(self) -> dict[str, str]:
        fields = {"name": self.name, "email": self.email, "phone": self.phone}
        return {k: v for k, v in fields.items() if v} | {"address": self.address}

    def contact(self) -> dict[str, str]:
        return {k: v for k, v in (("phone", self.phone), ("email", self.email)) if v}


def init_order(
    selected: Mapping[str, Any],
    billing: Billing,
    *,
    point: str | None = None,
    fulfillment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """init's order: the selected provider and items, `billing`, and the fulfillment (the one the
    BPP answered in on_select, else the selected one, typed ON_SITE) with its customer and the
    site as its end stop."""
    chosen = dict(fulfillment or selected["fulfillments"][0])
    location: dict[str, str] = {"address": billing.address}
    if point:
        location["gps"] = gps(point)
    customer: dict[str, Any] = {"person": {"name": billing.name}}
    if billing.contact():
        customer["contact"] = billing.contact()
    return {
        "provider": copy.deepcopy(selected["provider"]),
        "items": copy.deepcopy(selected["items"]),
        "billing": billing.billing(),
        "fulfillments": [
            {
                "id": chosen.get("id", FULFILLMENT_ID),
                "type": chosen.get("type", FULFILLMENT_TYPE),
                "customer": customer,
                "stops": [{"type": END_STOP, "location": location}],
            }
        ],
    }


def confirm_order(initialised: Mapping[str, Any], payments: Iterable[Any]) -> dict[str, Any]:
    """confirm's order: init's, repeated, with the payments the BPP offered in on_init."""
    order = copy.deepcopy(dict(initialised))
    order["payments"] = copy.deepcopy(list(payments))
    return order


def status_message(order_id: str) -> dict[str, Any]:
    return {"order_id": order_id}


def cancel_message(
    order_id: str, reason_id: str | None = None, description: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"order_id": order_id}
    if reason_id:
        message["cancellation_reason_id"] = reason_id
    if description:
        message["descriptor"] = {"short_desc": description}
    return message


def update_message(order_id: str, target: str, order: Mapping[str, Any]) -> dict[str, Any]:
    """update's `update_target` (e.g. "billing") and the order's changed parts."""
    return {"update_target": target, "order": {**order, "id": order_id}}


def track_message(order_id: str, callback_url: str | None = None) -> dict[str, Any]:
    message = {"order_id": order_id}
    if callback_url:
        message["callback_url"] = callback_url
    return message


def rating_message(category: str, rated_id: str, value: str) -> dict[str, Any]:
    if category not in RATING_CATEGORIES:
        raise ClientError(f"rating category {category!r} is not one of {RATING_CATEGORIES}")
    return {"ratings": [{"rating_category": category, "id": rated_id, "value": value}]}


def support_message(ref_id: str, callback_phone: str | None = None) -> dict[str, Any]:
    support = {"ref_id": ref_id}
    if callback_phone:
        support["callback_phone"] = callback_phone
    return {"support": support}


# --- sending -------------------------------------------------------------------------------


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


# --- the BPP's keys ------------------------------------------------------------------------


class SubscriberDocumentKeys:
    """The keys a BPP publishes at `{bpp_uri}/subscriber.json` (its subscriber id and the keys
    valid now), fetched on first use and again when a callback names a key the copy lacks (the
    BPP rotated). A `signing.KeyLookup`; thread-safe."""

    def __init__(
        self,
        bpp_uri: str,
        http: httpx.Client | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.url = f"{bpp_uri.rstrip('/')}/subscriber.json"
        self._http = http
        self._now = now
        self._document: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def __call__(self, subscriber_id: str, unique_key_id: str | None) -> Ed25519PublicKey | None:
        with self._lock:
            if self._document is not None:
                found = _document_key(self._document, subscriber_id, unique_key_id, self._now())
                if found is not None:
                    return found
            self._document = self._fetch()
            return _document_key(self._document, subscriber_id, unique_key_id, self._now())

    def _fetch(self) -> dict[str, Any]:
        try:
            if self._http is None:
                response = httpx.get(self.url, timeout=HTTP_TIMEOUT_SECONDS)
            else:
                response = self._http.get(self.url)
        except httpx.HTTPError as exc:
            raise KeySourceError(f"the BPP's keys at {self.url} cannot be read: {exc!r}") from exc
        if response.status_code != 200:
            raise KeySourceError(f"the BPP's keys at {self.url}: HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise KeySourceError(f"the BPP's keys at {self.url} are not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise KeySourceError(f"{self.url} is not a subscriber document with a keys array")
        return document


def registry_keys(registry: Registry) -> signing.KeyLookup:
    """Callback signers' keys from a registry: only BPP entries (or entries of no type)."""

    def lookup(subscriber_id: str, unique_key_id: str | None) -> Ed25519PublicKey | None:
        try:
            entry = registry.lookup(subscriber_id, unique_key_id)
            if entry is None or entry.type not in (None, "BPP"):
                return None
            return signing.public_key_from_b64(entry.signing_public_key)
        except (RegistryError, ValueError) as exc:
            raise KeySourceError(f"the registry: {exc}") from exc

    return lookup


def _document_key(
    document: Mapping[str, Any], subscriber_id: str, unique_key_id: str | None, now: datetime
) -> Ed25519PublicKey | None:
    if document.get("subscriber_id") != subscriber_id:
        return None
    usable = []
    for key in document["keys"]:
        if not isinstance(key, dict):
            continue
        if unique_key_id is not None and key.get("unique_key_id") != unique_key_id:
            continue
        try:
            valid_from = key.get("valid_from")
            valid_until = key.get("valid_until")
            if valid_from is not None and parse_rfc3339(valid_from) > now:
                continue
            if valid_until is not None and parse_rfc3339(valid_until) <= now:
                continue
            usable.append(signing.public_key_from_b64(key["signing_public_key"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise KeySourceError(
                f"a key in the BPP's subscriber document is unusable: {exc!r}"
            ) from exc
    return usable[0] if len(usable) == 1 else None


# --- receiving callbacks -------------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """One verified `on_{action}` the BPP sent us."""

    action: str
    body: dict[str, Any]
    signer: str
    """The keyId that signed it."""
    received_at: datetime
    evidence: dict[str, str] | None = None
    """What was signed, as received: the raw body (base64) and the Authorization header, so
    anyone can check the signature again later."""

    @property
    def context(self) -> dict[str, Any]:
        context = self.body.get("context")
        return context if isinstance(context, dict) else {}

    @property
    def message_id(self) -> str | None:
        return self.context.get("message_id")

    @property
    def transaction_id(self) -> str | None:
        return self.context.get("transaction_id")

    @property
    def error(self) -> Any:
        """The callback's `error` (core 1.1.0), or one inside `message` (Beckn-ONIX v1.0), or
        None."""
        message = self.body.get("message")
        inner = message.get("error") if isinstance(message, dict) else None
        return self.body.get("error") or inner

    @property
    def order(self) -> dict[str, Any]:
        """`message.order`, or {} if the callback has none."""
        message = self.body.get("message")
        order = message.get("order") if isinstance(message, dict) else None
        return order if isinstance(order, dict) else {}

    def record(self) -> dict[str, Any]:
        """The callback as one line of the journal."""
        return {
            "received_at": rfc3339(self.received_at),
            "action": self.action,
            "signer": self.signer,
            "body": self.body,
            **({"evidence": self.evidence} if self.evidence else {}),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Callback:
        return cls(
            action=record["action"],
            body=record["body"],
            signer=record["signer"],
            received_at=parse_rfc3339(record["received_at"]),
            evidence=record.get("evidence"),
        )


class Inbox:
    """The callbacks received, in order: kept in memory for `wait_for`, and appended to a JSONL
    journal if one is given. Thread-safe."""

    def __init__(self, journal: Path | None = None) -> None:
        self.journal = journal
        self._callbacks: list[Callback] = []
        self._arrived = threading.Condition()

    def add(self, callback: Callback) -> None:
        with self._arrived:
            if self.journal is not None:
                with self.journal.open("ab") as journal:
                    journal.write(orjson.dumps(callback.record()) + b"\n")
            self._callbacks.append(callback)
            self._arrived.notify_all()

    def received(self) -> list[Callback]:
        with self._arrived:
            return list(self._callbacks)

    def since(self, count: int, timeout: float) -> list[Callback]:
        """The callbacks after the first `count`, waiting up to `timeout` seconds for one."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._callbacks) > count, timeout)
            return self._callbacks[count:]

    def wait_for(self, action: str, message_id: str, timeout: float) -> Callback | None:
        """The `action` callback answering `message_id` (received already, or within `timeout`
        seconds), else None."""

        def match() -> Callback | None:
            return next(
                (c for c in self._callbacks if c.action == action and c.message_id == message_id),
                None,
            )

        deadline = time.monotonic() + timeout
        with self._arrived:
            while (found := match()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._arrived.wait(left)
            return found


def read_journal(path: Path) -> list[Callback]:
    """The callbacks recorded in a journal, oldest first ([] if there is none yet)."""
    if not path.exists():
        return []
    callbacks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            callbacks.append(Callback.from_record(json.loads(line)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ClientError(f"the journal {path}, line {number}, is unreadable: {exc}") from None
    return callbacks


def latest(callbacks: Iterable[Callback], transaction_id: str, action: str) -> Callback | None:
    """The last `action` callback of the transaction."""
    found = None
    for callback in callbacks:
        if callback.action == action and callback.transaction_id == transaction_id:
            found = callback
    return found


@dataclass(frozen=True)
class Reply:
    """What the receiver answers a callback."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class CallbackReceiver:
    """An HTTP server taking `POST {callback URL path}/on_{action}`: each callback's BECKN-006
    signature is checked with `keys`, then it is answered ACK and put in `inbox`.

    Refusals: 404 for another path, 401 NACK (with the challenge) for a bad or unknown
    signature, 503 NACK if the keys cannot be read, 400 NACK for a body that is not a callback
    for this BAP. Use as a context manager, or `start()` and `stop()`.
    """

    def __init__(
        self,
        identity: Identity,
        keys: signing.KeyLookup,
        inbox: Inbox,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        parts = urlsplit(identity.callback_url)
        chosen = parts.port if port is None else port
        if chosen is None:
            raise ClientError(
                f"the callback URL {identity.callback_url} has no port: give the local port "
                "to listen on (--port)"
            )
        self.identity = identity
        self.keys = keys
        self.inbox = inbox
        self.path = parts.path.rstrip("/")
        self._now = now
        self._address = (host, chosen)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose, for port 0)."""
        if self._server is None:
            return self._address[1]
        return int(self._server.server_address[1])

    def start(self) -> CallbackReceiver:
        try:
            self._server = ThreadingHTTPServer(self._address, _handler(self))
        except OSError as exc:
            raise ClientError(
                f"cannot listen on {self._address[0]}:{self._address[1]} ({exc.strerror}): is "
                "another `gridshare beckn-client` (listen?) using it? Stop it, or use --no-wait "
                "and let it print the callbacks"
            ) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="beckn-callbacks",
            daemon=True,
        )
        self._thread.start()
        logger.info("taking callbacks on %s:%d%s/on_*", self._address[0], self.port, self.path)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """The answer to `POST path` with these headers and body (recording it if accepted)."""
        action = self._action(path)
        if action is None:
            return _refusal(404, f"no callback is taken at {path}; use {self.path}/on_{{action}}")
        try:
            authenticated = signing.authenticate(headers, body, self.keys, self._now())
        except signing.SignatureError as exc:
            logger.warning("refused %s: %s", path, exc.message)
            challenge = exc.challenge(self.identity.subscriber_id)
            return Reply(401, nack(exc), challenge)
        except KeySourceError as exc:
            return _refusal(503, f"cannot check the signature now: {exc}")
        signer = authenticated.subscriber
        try:
            document = json.loads(body)
        except ValueError:
            return _refusal(400, "the body is not JSON")
        problem = _callback_problem(document, action, self.identity, signer.subscriber_id)
        if problem is not None:
            return _refusal(400, problem)
        by_name = {name.lower(): value for name, value in headers.items()}
        evidence = {
            "body": base64.b64encode(body).decode(),
            "authorization": by_name.get(signing.AUTHORIZATION.lower(), ""),
        }
        self.inbox.add(Callback(action, document, signer.key_id, self._now(), evidence))
        logger.info("%s for message %s", action, document["context"].get("message_id"))
        return Reply(200, ack())

    def _action(self, path: str) -> str | None:
        prefix, _, name = urlsplit(path).path.rpartition("/")
        if prefix != self.path or not name.startswith("on_"):
            return None
        return name if name.removeprefix("on_") in BPP_ACTIONS else None


def _handler(receiver: CallbackReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_CALLBACK_BYTES:
                reply = _refusal(413, f"send a Content-Length of at most {MAX_CALLBACK_BYTES}")
            else:
                body = self.rfile.read(length)
                reply = receiver.handle(self.path, dict(self.headers.items()), body)
            raw = orjson.dumps(reply.body)
            self.send_response(reply.status)
            for name, value in {**reply.headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

    return Handler


def _callback_problem(document: Any, action: str, identity: Identity, signer: str) -> str | None:
    if not isinstance(document, dict) or not isinstance(document.get("context"), dict):
        return "a callback is a JSON object with a context"
    context = document["context"]
    if context.get("action") != action:
        return f"context.action is {context.get('action')!r} but this is /{action}"
    if context.get("bap_id", identity.subscriber_id) != identity.subscriber_id:
        return (
            f"context.bap_id is {context.get('bap_id')!r}; this BAP is {identity.subscriber_id!r}"
        )
    if context.get("bpp_id", signer) != signer:
        return f"context.bpp_id is {context.get('bpp_id')!r} but {signer!r} signed it"
    return None


def _refusal(status: int, message: str) -> Reply:
    return Reply(status, nack(BecknError(INVALID_REQUEST, message)))


# --- a transaction's state between commands ------------------------------------------------


@dataclass
class Transaction:
    """The transaction an operator is running: its id, the BPP and the orders sent so far."""

    transaction_id: str
    bpp_uri: str
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The order sent with "select" and "init", to build the next step from."""


def state_path(key_file: Path) -> Path:
    """Where the current transaction is kept: beside the key file."""
    return key_file.with_name(f"{key_file.stem}.state.json")


def journal_path(key_file: Path) -> Path:
    """Where received callbacks are appended, one JSON object a line: beside the key file."""
    return key_file.with_name(f"{key_file.stem}.callbacks.jsonl")


def load_transaction(path: Path) -> Transaction | None:
    if not path.exists():
        return None
    document = _read_json(path, f"the state file {path}")
    try:
        return Transaction(document["transaction_id"], document["bpp_uri"], document["orders"])
    except (KeyError, TypeError):
        raise ClientError(f"the state file {path} is not a transaction; delete it") from None


def save_transaction(path: Path, transaction: Transaction) -> None:
    _write_json(
        path,
        {
            "transaction_id": transaction.transaction_id,
            "bpp_uri": transaction.bpp_uri,
            "orders": transaction.orders,
        },
    )


# --- helpers -------------------------------------------------------------------------------


def _ack_status(body: Any) -> str | None:
    try:
        status = body["message"]["ack"]["status"]
    except (KeyError, TypeError):
        return None
    return status if isinstance(status, str) else None


def _tag_group(code: str, values: Mapping[str, str]) -> dict[str, Any]:
    return {
        "descriptor": {"code": code},
        "list": [{"descriptor": {"code": name}, "value": value} for name, value in values.items()],
    }


def _decimal(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not _DECIMAL.fullmatch(value.strip()):
        raise ClientError(f"{what} must be a non-negative decimal number, not {value!r}")
    return value.strip()


def _non_empty(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ClientError(f"{what} must be a non-empty string")
    return value.strip()


def _subscriber_id(value: Any) -> str:
    text = _non_empty(value, "the subscriber id")
    if text.lower().startswith(("http://", "https://")) or "|" in text:
        raise ClientError(
            f"the subscriber id {text!r} is a name such as bap.example.com, not a URL, and "
            "has no '|'"
        )
    return text


def _callback_url(value: Any) -> str:
    text = _non_empty(value, "the callback URL")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(
            f"the callback URL {text!r} must be an http(s) URL such as http://127.0.0.1:8765/bap"
        )
    return text.rstrip("/")


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClientError(f"{what} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ClientError(f"{what} cannot be read: {exc}") from None


def _write_json(path: Path, document: Any, mode: int = 0o644) -> None:
    """Replace `path` atomically with `document`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.write("\n")
    os.replace(temporary, path)
