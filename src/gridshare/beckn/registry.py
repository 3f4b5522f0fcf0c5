"""Registry lookup: a network participant's signing key by subscriber id and key id.

Beckn core 1.1.0 registry API (`api/registry/build/registry.yaml`): `POST /lookup` takes a
`Subscription` as filter and answers an array of `Subscription`s (subscriber_id, url, type,
domain, key_id, signing_public_key, valid_from, valid_until, status). The Beckn-ONIX
specification's registry mode ("Lookup (Registry API)") requires lookup by subscriber_id and
key_id; BECKN-006 verification looks the sender's key up there and allows a cache.

Only an entry whose `status` is SUBSCRIBED and whose validity window holds the current time is
returned. Deployed registries and protocol-server name two fields differently, so either name
is read: `url` or `subscriber_url`, and `key_id`, `unique_key_id` or `ukId`.

`FileRegistry` reads a JSON file in exactly the shape `/lookup` answers, an array of
Subscription objects, for closed networks and tests:

    [{"subscriber_id": "bap.example.com", "url": "https://bap.example.com/beckn",
      "type": "BAP", "domain": "service", "key_id": "key-1",
      "signing_public_key": "<base64 of the 32-byte Ed25519 public key>",
      "valid_from": "2025-01-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z",
      "status": "SUBSCRIBED"}]

`subscriber_id`, the key id, `signing_public_key` and `status` are required; a missing
`valid_from` or `valid_until` leaves that side of the window open.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from gridshare.beckn.context import parse_rfc3339
from gridshare.config import Settings

SUBSCRIBED = "SUBSCRIBED"
HTTP_TIMEOUT_SECONDS = 5.0
CACHE_MAX_ENTRIES = 1024
_URL_FIELDS = ("url", "subscriber_url")
_KEY_ID_FIELDS = ("key_id", "unique_key_id", "ukId")


class RegistryError(Exception):
    """The registry could not be read, or answered something that is not a Subscription list."""


@dataclass(frozen=True)
class Subscriber:
    """One registry entry: a subscriber's key, its window and status."""

    subscriber_id: str
    unique_key_id: str
    signing_public_key: str
    status: str
    subscriber_url: str | None = None
    type: str | None = None
    domain: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def usable_at(self, moment: datetime) -> bool:
        """SUBSCRIBED, and `moment` inside [valid_from, valid_until)."""
        return (
            self.status == SUBSCRIBED
            and (self.valid_from is None or self.valid_from <= moment)
            and (self.valid_until is None or moment < self.valid_until)
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


class Registry(ABC):
    """Where subscribers' keys come from; `lookup` answers only a usable entry."""

    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        self._now = now

    @abstractmethod
    def entries(self, subscriber_id: str, unique_key_id: str | None) -> tuple[Subscriber, ...]:
        """Every entry held for `subscriber_id` (and `unique_key_id`, unless None), usable or
        not; RegistryError if the source fails."""

    def lookup(self, subscriber_id: str, unique_key_id: str | None) -> Subscriber | None:
        """The entry for this subscriber and key that is SUBSCRIBED and valid now, or None.

        Without a key id (BECKN-006 lets a network with one key per subscriber omit it) the
        subscriber must have exactly one usable key.
        """
        moment = self._now()
        usable = [e for e in self.entries(subscriber_id, unique_key_id) if e.usable_at(moment)]
        if len({entry.unique_key_id for entry in usable}) != 1:
            return None
        return usable[0]


class FileRegistry(Registry):
    """A JSON file of Subscriptions (see the module docstring), read at every lookup."""

    def __init__(self, path: Path, now: Callable[[], datetime] = utc_now) -> None:
        super().__init__(now)
        self.path = path

    def entries(self, subscriber_id: str, unique_key_id: str | None) -> tuple[Subscriber, ...]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RegistryError(f"registry file {self.path} cannot be read: {exc}") from exc
        return _matching(document, subscriber_id, unique_key_id, f"registry file {self.path}")


class HttpRegistry(Registry):
    """A network registry: `POST {base_url}/lookup` with the subscriber id and key id."""

    def __init__(
        self,
        base_url: str,
        timeout: float = HTTP_TIMEOUT_SECONDS,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(now)
        self.lookup_url = f"{base_url.rstrip('/')}/lookup"
        self.timeout = timeout

    def entries(self, subscriber_id: str, unique_key_id: str | None) -> tuple[Subscriber, ...]:
        query: dict[str, str] = {"subscriber_id": subscriber_id}
        if unique_key_id is not None:
            # the spec's `key_id`, and the `ukId` protocol-server sends
            query |= {"key_id": unique_key_id, "ukId": unique_key_id}
        where = f"registry {self.lookup_url}"
        try:
            response = httpx.post(self.lookup_url, json=query, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise RegistryError(f"{where} cannot be reached: {exc!r}") from exc
        if response.status_code != 200:
            raise RegistryError(f"{where} answered HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError as exc:
            raise RegistryError(f"{where} answered something that is not JSON") from exc
        return _matching(document, subscriber_id, unique_key_id, where)


_Kept = tuple[float, tuple[Subscriber, ...]]
"""A cached answer: the clock reading it expires at, and the entries."""


class CachedRegistry(Registry):
    """Keeps another registry's answers (found or not) for `seconds`; failures are not kept.

    Whether a kept entry is usable is decided at each lookup, so a key whose `valid_until`
    passes while cached stops being returned. Thread-safe; `clock` (monotonic seconds) and
    `now` are injectable for tests.
    """

    def __init__(
        self,
        inner: Registry,
        seconds: float,
        now: Callable[[], datetime] = utc_now,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = CACHE_MAX_ENTRIES,
    ) -> None:
        super().__init__(now)
        self.inner = inner
        self.seconds = seconds
        self._clock = clock
        self._max_entries = max_entries
        self._kept: OrderedDict[tuple[str, str | None], _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def entries(self, subscriber_id: str, unique_key_id: str | None) -> tuple[Subscriber, ...]:
        key = (subscriber_id, unique_key_id)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and self._clock() < kept[0]:
                return kept[1]
        found = self.inner.entries(subscriber_id, unique_key_id)  # not under the lock
        with self._lock:
            self._kept[key] = (self._clock() + self.seconds, found)
            self._kept.move_to_end(key)
            while len(self._kept) > self._max_entries:
                self._kept.popitem(last=False)
        return found


def registry_from(settings: Settings, now: Callable[[], datetime] = utc_now) -> Registry:
    """The registry the settings name (`beckn_registry_url` or `beckn_registry_file`), cached
    for `beckn_registry_cache_seconds` unless that is 0."""
    url, path = settings.beckn_registry_url, settings.beckn_registry_file
    source: Registry
    if url is not None and path is None:
        source = HttpRegistry(url, now=now)
    elif path is not None and url is None:
        source = FileRegistry(path, now)
    else:
        raise RegistryError(
            "set exactly one of GRIDSHARE_BECKN_REGISTRY_URL (a network registry) and "
            "GRIDSHARE_BECKN_REGISTRY_FILE (a JSON file of subscribers)"
        )
    seconds = settings.beckn_registry_cache_seconds
    return CachedRegistry(source, seconds, now) if seconds > 0 else source


def _matching(
    document: Any, subscriber_id: str, unique_key_id: str | None, where: str
) -> tuple[Subscriber, ...]:
    if not isinstance(document, list):
        raise RegistryError(f"{where}: expected a JSON array of Subscription objects")
    entries = (_subscriber(item, f"{where}, entry {index}") for index, item in enumerate(document))
    return tuple(
        entry
        for entry in entries
        if entry.subscriber_id == subscriber_id
        and (unique_key_id is None or entry.unique_key_id == unique_key_id)
    )


def _subscriber(item: Any, where: str) -> Subscriber:
    if not isinstance(item, Mapping):
        raise RegistryError(f"{where} is not a JSON object")
    return Subscriber(
        subscriber_id=_required(item, ("subscriber_id",), where),
        unique_key_id=_required(item, _KEY_ID_FIELDS, where),
        signing_public_key=_required(item, ("signing_public_key",), where),
        status=_required(item, ("status",), where),
        subscriber_url=_optional(item, _URL_FIELDS, where),
        type=_optional(item, ("type",), where),
        domain=_optional(item, ("domain",), where),
        valid_from=_moment(item, "valid_from", where),
        valid_until=_moment(item, "valid_until", where),
    )


def _optional(item: Mapping[str, Any], names: tuple[str, ...], where: str) -> str | None:
    for name in names:
        value = item.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise RegistryError(f"{where}: {name} must be a string")
            return value
    return None


def _required(item: Mapping[str, Any], names: tuple[str, ...], where: str) -> str:
    value = _optional(item, names, where)
    if not value:
        raise RegistryError(f"{where}: {' or '.join(names)} is required")
    return value


def _moment(item: Mapping[str, Any], name: str, where: str) -> datetime | None:
    value = _optional(item, (name,), where)
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise RegistryError(f"{where}: {name}: {exc}") from exc
