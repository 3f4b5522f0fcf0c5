"""The BPP's keys as the BAP finds them (gridshare.beckn.client_keys): from the subscriber
document the BPP publishes (ours included), fetched again after the BPP rotates, or from a
registry file's BPP entries; keys made by PyNaCl, signatures checked by `signing.authenticate` as
the callback receiver checks them (BECKN-006)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nacl.signing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridshare.beckn import keys, routes, signing
from gridshare.beckn.client_errors import KeySourceError
from gridshare.beckn.client_identity import new_identity
from gridshare.beckn.client_keys import SubscriberDocumentKeys, registry_keys
from gridshare.beckn.registry import FileRegistry
from gridshare.config import Settings
from gridshare.store.db import session_factory, transaction
from tests.beckn import independent
from tests.beckn.client_examples import (
    BPP,
    BPP_ID,
    BPP_KEY,
    BPP_KEY_ID,
    CALLBACK_URL,
    KEY_ID,
    PublishedKeys,
    bpp_document,
    on_status,
    signed,
)


def signer(lookup: signing.KeyLookup, key: nacl.signing.SigningKey, key_id: str) -> str:
    """The keyId `lookup` verifies an on_status signed with `key` as (SignatureError if none)."""
    raw, authorization = signed(on_status(new_identity("bap.test", CALLBACK_URL)), key, key_id)
    headers = {"Authorization": authorization}
    return signing.authenticate(headers, raw, lookup, datetime.now(UTC)).subscriber.key_id


def test_a_published_key_verifies_and_a_rotated_one_is_fetched_again() -> None:
    """A BPP that rotates publishes the new key (keys.py `rotate`); a BAP holding a copy of
    the old document fetches it again instead of refusing."""
    published = PublishedKeys(bpp_document((BPP_KEY_ID, BPP_KEY)))
    lookup = SubscriberDocumentKeys(BPP, http=published.http)
    assert signer(lookup, BPP_KEY, KEY_ID) == KEY_ID
    assert signer(lookup, BPP_KEY, KEY_ID) == KEY_ID
    assert published.fetches == 1

    new_key = nacl.signing.SigningKey.generate()
    published.document = bpp_document(("bpp-key-2", new_key), (BPP_KEY_ID, BPP_KEY))
    assert signer(lookup, new_key, f"{BPP_ID}|bpp-key-2|ed25519") == f"{BPP_ID}|bpp-key-2|ed25519"
    assert published.fetches == 2


def test_a_key_the_document_does_not_hold_or_no_longer_holds_is_unknown() -> None:
    now = datetime.now(UTC)
    document = bpp_document((BPP_KEY_ID, BPP_KEY))
    lookup = SubscriberDocumentKeys(
        BPP, http=PublishedKeys(document).http, now=lambda: now + timedelta(days=2)
    )
    assert lookup(BPP_ID, BPP_KEY_ID) is None  # valid_until has passed
    assert lookup(BPP_ID, "k9") is None
    assert lookup("other.test", BPP_KEY_ID) is None
    current = SubscriberDocumentKeys(BPP, http=PublishedKeys(document).http)
    with pytest.raises(signing.UnknownKey):
        signer(current, BPP_KEY, f"other.test|{BPP_KEY_ID}|ed25519")


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (httpx.Response(404), "HTTP 404"),
        (httpx.Response(200, text="<html>"), "not JSON"),
        (httpx.Response(200, json={"subscriber_id": BPP_ID}), "keys array"),
    ],
)
def test_a_subscriber_document_that_cannot_be_used_is_a_key_source_error(
    response: httpx.Response, problem: str
) -> None:
    http = httpx.Client(transport=httpx.MockTransport(lambda request: response))
    with pytest.raises(KeySourceError, match=problem):
        SubscriberDocumentKeys(BPP, http=http)(BPP_ID, BPP_KEY_ID)


def test_keys_from_a_registry_file_are_only_a_bpps(tmp_path: Path) -> None:
    registry_file = tmp_path / "registry.json"
    entry = {
        "subscriber_id": BPP_ID,
        "url": BPP,
        "type": "BPP",
        "domain": "service",
        "key_id": BPP_KEY_ID,
        "signing_public_key": independent.public_b64(BPP_KEY),
        "status": "SUBSCRIBED",
    }
    registry_file.write_text(json.dumps([entry]))
    lookup = registry_keys(FileRegistry(registry_file))
    assert signer(lookup, BPP_KEY, KEY_ID) == KEY_ID
    registry_file.write_text(json.dumps([entry | {"type": "BAP"}]))
    assert registry_keys(FileRegistry(registry_file))(BPP_ID, BPP_KEY_ID) is None
    registry_file.write_text("{")
    with pytest.raises(KeySourceError, match="the registry"):
        registry_keys(FileRegistry(registry_file))(BPP_ID, BPP_KEY_ID)


def test_our_bpps_subscriber_json_verifies_its_signed_callbacks(
    engine: Engine, settings: Settings
) -> None:
    """Interoperability with our BPP: the keys it publishes at /beckn/subscriber.json (routes.py)
    verify a callback signed with its current key."""
    app = FastAPI()
    app.state.settings = settings
    app.state.sessions = session_factory(engine)
    app.include_router(routes.router)
    with transaction(session_factory(engine)) as session:
        key = keys.current_key(session, settings)
        private_key = keys.signing_key(key, settings)
        unique_key_id = key.unique_key_id
    bpp_uri = keys.subscriber_url(settings)
    published = SubscriberDocumentKeys(bpp_uri, http=TestClient(app))
    identity = new_identity("bap.test", CALLBACK_URL)
    raw = json.dumps(on_status(identity, bpp_id=settings.subscriber_id, bpp_uri=bpp_uri)).encode()
    now = datetime.now(UTC)
    authorization = signing.sign(
        raw,
        private_key,
        settings.subscriber_id,
        unique_key_id,
        created=now,
        expires=now + timedelta(minutes=10),
    )
    authenticated = signing.authenticate({"Authorization": authorization}, raw, published, now)
    assert authenticated.subscriber.key_id == f"{settings.subscriber_id}|{unique_key_id}|ed25519"
