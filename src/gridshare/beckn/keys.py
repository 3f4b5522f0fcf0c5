"""Our Beckn subscriber keys: generated on first use, rotated with a grace period, published as
the registry's Subscription (core 1.1.0 `api/registry` `/subscribe`) and as a public document.

BECKN-006 signs with an Ed25519 key a registry knows by `unique_key_id`; the registry's
`on_subscribe` challenge is encrypted to an X25519 key (`encr_public_key`), so each key row holds
both pairs. `rotate` makes a new active key and keeps the old one valid for `GRACE` so that
callbacks it signed, and receivers with a cached copy, still verify.

The Subscription carries the registry spec's names (`url`, `key_id`) and also the names
deployed registries and protocol-server use (`subscriber_url`, `unique_key_id`); one entry per
accepted `context.domain`, as the spec asks for a subscriber working in several domains.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridshare.beckn import signing
from gridshare.config import Settings
from gridshare.grants.secrets import Sealer
from gridshare.store.db import utcnow
from gridshare.store.tables.beckn import ACTIVE, RETIRED, BecknKey
from gridshare.timefmt import rfc3339

BPP_PATH: Final = "/beckn"
"""Where our BPP endpoints live: `bpp_uri` and the Subscription's url are `{base_url}/beckn`."""
SUBSCRIBER_TYPE: Final = "BPP"
LIFETIME: Final = timedelta(days=365)
"""How long a new key is valid (`valid_until`); rotate before it ends."""
GRACE: Final = timedelta(hours=24)
"""How long a retired key stays valid for verification after `rotate`."""
SIGNING_KEY: Final = b"gridshare-beckn-signing-key"
ENCRYPTION_KEY: Final = b"gridshare-beckn-encryption-key"
"""The purposes the private keys are sealed for."""


def current_key(session: Session, settings: Settings, now: datetime | None = None) -> BecknKey:
    """The active key, made now if there is none or it is no longer valid (the caller
    commits)."""
    now = now or utcnow()
    key = _active(session)
    if key is not None and key.valid_from <= now < key.valid_until:
        return key
    return _replace(session, settings, key, now)


def rotate(session: Session, settings: Settings, now: datetime | None = None) -> BecknKey:
    """A new active key; the previous one is retired and stays valid until `now + GRACE` (or its
    own end, if sooner). The caller commits."""
    now = now or utcnow()
    return _replace(session, settings, _active(session), now)


def signing_key(key: BecknKey, settings: Settings) -> Ed25519PrivateKey:
    """The key's Ed25519 private key, unsealed."""
    seed = Sealer.from_settings(settings).open(key.signing_private_sealed, SIGNING_KEY)
    return signing.private_key_from_b64(seed)


def verification_key(
    session: Session, unique_key_id: str, now: datetime | None = None
) -> Ed25519PublicKey | None:
    """The public key of our key `unique_key_id` if it is valid at `now` (active, or retired
    within its grace period), else None."""
    now = now or utcnow()
    key = session.get(BecknKey, unique_key_id)
    if key is None or not key.valid_from <= now < key.valid_until:
        return None
    return signing.public_key_from_b64(key.signing_public_key)


def public_keys(session: Session, now: datetime | None = None) -> list[BecknKey]:
    """Every key valid at `now`, the newest first: the active one and those in grace."""
    now = now or utcnow()
    query = (
        select(BecknKey)
        .where(BecknKey.valid_from <= now, BecknKey.valid_until > now)
        .order_by(BecknKey.valid_from.desc(), BecknKey.unique_key_id)
    )
    return list(session.scalars(query))


def subscriptions(settings: Settings, key: BecknKey) -> list[dict[str, Any]]:
    """The registry `/subscribe` request bodies for `key`: one per accepted domain, each with a
    fresh `nonce`."""
    return [
        {
            "subscriber_id": settings.subscriber_id,
            "url": subscriber_url(settings),
            "subscriber_url": subscriber_url(settings),
            "type": SUBSCRIBER_TYPE,
            "domain": domain,
            "key_id": key.unique_key_id,
            "unique_key_id": key.unique_key_id,
            **_published(key),
            "nonce": str(uuid.uuid4()),
        }
        for domain in settings.beckn_domains
    ]


def subscriber_document(settings: Settings, keys: list[BecknKey]) -> dict[str, Any]:
    """The public JSON document of who we are on the network and the keys to verify us with."""
    return {
        "subscriber_id": settings.subscriber_id,
        "subscriber_url": subscriber_url(settings),
        "type": SUBSCRIBER_TYPE,
        "domains": list(settings.beckn_domains),
        "keys": [
            {"unique_key_id": key.unique_key_id, **_published(key), "status": key.status}
            for key in keys
        ],
    }


def subscriber_url(settings: Settings) -> str:
    """Our BPP's URL (`bpp_uri`)."""
    return settings.url(BPP_PATH)


def _published(key: BecknKey) -> dict[str, str]:
    return {
        "signing_public_key": key.signing_public_key,
        "encr_public_key": key.encr_public_key,
        "valid_from": rfc3339(key.valid_from),
        "valid_until": rfc3339(key.valid_until),
    }


def _active(session: Session) -> BecknKey | None:
    return session.scalars(select(BecknKey).where(BecknKey.status == ACTIVE)).one_or_none()


def _replace(session: Session, settings: Settings, old: BecknKey | None, now: datetime) -> BecknKey:
    sealer = Sealer.from_settings(settings)
    signing_private = Ed25519PrivateKey.generate()
    encryption_private = X25519PrivateKey.generate()
    new = BecknKey(
        unique_key_id=str(uuid.uuid4()),
        signing_public_key=signing.public_key_b64(signing_private.public_key()),
        signing_private_sealed=sealer.seal(signing.private_key_b64(signing_private), SIGNING_KEY),
        encr_public_key=_b64(
            encryption_private.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        ),
        encr_private_sealed=sealer.seal(
            _b64(
                encryption_private.private_bytes(
                    serialization.Encoding.Raw,
                    serialization.PrivateFormat.Raw,
                    serialization.NoEncryption(),
                )
            ),
            ENCRYPTION_KEY,
        ),
        created=now,
        valid_from=now,
        valid_until=now + LIFETIME,
        status=ACTIVE,
    )
    try:
        with session.begin_nested():
            if old is not None:
                old.status = RETIRED
                old.valid_until = min(old.valid_until, now + GRACE)
                session.flush()
            session.add(new)
    except IntegrityError:
        # Another process made the active key first (the one-active index): use theirs.
        session.expire_all()
        winner = _active(session)
        if winner is None:
            raise
        return winner
    return new


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
