"""The BAP's identity on a Beckn network: its subscriber id, callback URL (`bap_uri`), domain and
Ed25519 signing key with its `unique_key_id` (BECKN-006), kept in a JSON key file readable by its
owner only; and its entry in a registry file as the core registry API's `Subscription`
(`api/registry`), the shape `registry.FileRegistry` reads, so a BPP in a closed network can be
pointed at the file."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gridshare.beckn import signing
from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.client_files import read_json, write_json
from gridshare.beckn.context import parse_rfc3339
from gridshare.beckn.registry import utc_now
from gridshare.timefmt import rfc3339

SUBSCRIBER_TYPE: Final = "BAP"
DEFAULT_DOMAIN: Final = "service"
KEY_LIFETIME: Final = timedelta(days=365)


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
    write_json(path, document, mode=0o600)


def load_identity(path: Path) -> Identity:
    """The identity in the key file at `path`; ClientError saying what is wrong."""
    document = read_json(path, f"the key file {path} (made by `gridshare beckn-client init`)")
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
        document = read_json(registry_file, f"the registry file {registry_file}")
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
    write_json(registry_file, [*entries, identity.registry_entry()])


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
