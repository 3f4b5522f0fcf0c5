"""Where the BAP finds the keys that sign a BPP's callbacks (BECKN-006 "lookup the public key of
the sender"): the subscriber document the BPP publishes at `{bpp_uri}/subscriber.json` (our
`routes.py`), fetched again when a callback names a key the copy lacks, or a registry's BPP
entries (core registry API `Subscription`). Each is a `signing.KeyLookup`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gridshare.beckn import signing
from gridshare.beckn.client_errors import KeySourceError
from gridshare.beckn.client_requests import HTTP_TIMEOUT_SECONDS
from gridshare.beckn.context import parse_rfc3339
from gridshare.beckn.registry import Registry, RegistryError, utc_now


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
