"""Our Beckn subscriber keys: made on first use, rotated with a grace period, published, and
never stored in clear."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridshare.beckn import keys, signing
from gridshare.config import Settings
from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.beckn import BecknKey

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def sessions(engine: Engine) -> Session:
    return session_factory(engine)()


def test_first_use_makes_one_key_and_then_keeps_it(engine: Engine, settings: Settings) -> None:
    with transaction(session_factory(engine)) as session:
        first = keys.current_key(session, settings, NOW)
    with transaction(session_factory(engine)) as session:
        again = keys.current_key(session, settings, NOW + timedelta(days=30))
        assert again.unique_key_id == first.unique_key_id
        assert session.scalars(select(BecknKey)).all() == [again]
    assert first.status == "active"
    assert first.valid_from == NOW and first.valid_until == NOW + keys.LIFETIME


def test_a_key_past_its_lifetime_is_replaced(engine: Engine, settings: Settings) -> None:
    with transaction(session_factory(engine)) as session:
        first = keys.current_key(session, settings, NOW)
        later = NOW + keys.LIFETIME
        second = keys.current_key(session, settings, later)
    assert second.unique_key_id != first.unique_key_id
    assert first.status == "retired" and second.status == "active"


@pytest.mark.req("ONIX-BPP-1")
def test_rotate_keeps_the_old_key_verifiable_during_the_grace_period(
    engine: Engine, settings: Settings
) -> None:
    body = b'{"context":{"action":"on_status"}}'
    with transaction(session_factory(engine)) as session:
        old = keys.current_key(session, settings, NOW)
        signed_before = signing.sign(
            body,
            keys.signing_key(old, settings),
            settings.subscriber_id,
            old.unique_key_id,
            created=NOW,
            expires=NOW + timedelta(days=2),
        )
        new = keys.rotate(session, settings, NOW + timedelta(hours=1))
    assert new.unique_key_id != old.unique_key_id
    assert old.status == "retired"
    assert old.valid_until == NOW + timedelta(hours=1) + keys.GRACE

    def verify_at(moment: datetime) -> None:
        with sessions(engine) as session:
            signing.authenticate(
                {"Authorization": signed_before},
                body,
                lambda _s, key_id: keys.verification_key(session, key_id or "", moment),
                moment,
            )

    verify_at(NOW + timedelta(hours=24))
    with pytest.raises(signing.UnknownKey):
        verify_at(NOW + timedelta(hours=25, seconds=1))
    with sessions(engine) as session:
        current = keys.current_key(session, settings, NOW + timedelta(hours=2))
        assert current.unique_key_id == new.unique_key_id
        published = [key.unique_key_id for key in keys.public_keys(session, NOW + timedelta(2))]
        assert published == [new.unique_key_id]
        assert [k.unique_key_id for k in keys.public_keys(session, NOW + timedelta(hours=2))] == [
            new.unique_key_id,
            old.unique_key_id,
        ]


def test_the_private_keys_are_stored_sealed(engine: Engine, settings: Settings) -> None:
    with transaction(session_factory(engine)) as session:
        key = keys.current_key(session, settings, NOW)
        seed = signing.private_key_b64(keys.signing_key(key, settings))
    assert signing.public_key_b64(keys.signing_key(key, settings).public_key()) == (
        key.signing_public_key
    )
    raw_seed = base64.b64decode(seed)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM beckn_keys")).one()
    stored = b"".join(value if isinstance(value, bytes) else str(value).encode() for value in row)
    assert seed.encode() not in stored and raw_seed not in stored
    other = Settings(data_dir=settings.data_dir / "elsewhere", database_url=settings.database_url)
    with pytest.raises(InvalidTag):  # another server key cannot open it
        keys.signing_key(key, other)


def test_only_one_key_is_active(engine: Engine, settings: Settings) -> None:
    with transaction(session_factory(engine)) as session:
        key = keys.current_key(session, settings, NOW)
    with sessions(engine) as session:
        copy = BecknKey(
            unique_key_id="another",
            signing_public_key=key.signing_public_key,
            signing_private_sealed=key.signing_private_sealed,
            encr_public_key=key.encr_public_key,
            encr_private_sealed=key.encr_private_sealed,
            valid_from=NOW,
            valid_until=NOW + timedelta(days=1),
            status="active",
        )
        session.add(copy)
        with pytest.raises(IntegrityError):
            session.flush()


@pytest.mark.req("ONIX-BPP-1")
def test_the_subscribe_payload(engine: Engine, settings: Settings) -> None:
    with transaction(session_factory(engine)) as session:
        key = keys.current_key(session, settings, NOW)
    payloads = keys.subscriptions(settings, key)
    assert [p["domain"] for p in payloads] == ["service", "deg:service"]
    first = payloads[0]
    assert first["subscriber_id"] == "testserver"
    assert first["url"] == first["subscriber_url"] == "http://testserver/beckn"
    assert first["type"] == "BPP"
    assert first["key_id"] == first["unique_key_id"] == key.unique_key_id
    assert first["signing_public_key"] == key.signing_public_key
    assert len(base64.b64decode(first["encr_public_key"])) == 32
    assert first["valid_from"] == "2026-06-01T12:00:00Z"
    assert first["valid_until"] == "2027-06-01T12:00:00Z"
    assert payloads[0]["nonce"] != payloads[1]["nonce"]


def test_a_concurrent_first_key_is_used_not_duplicated(engine: Engine, settings: Settings) -> None:
    with transaction(session_factory(engine)) as session:
        theirs = keys.current_key(session, settings, NOW)
    with transaction(session_factory(engine)) as session:
        # This process saw no key, and another committed one before its insert.
        ours = keys._replace(session, settings, None, NOW)
        assert ours.unique_key_id == theirs.unique_key_id
        assert len(session.scalars(select(BecknKey)).all()) == 1
