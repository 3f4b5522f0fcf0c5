"""The BAP client library (gridshare.beckn.client): its key file and registry entry, the requests
it builds (checked against core 1.1.0 transaction.yaml and the Connections v1.1 examples), their
BECKN-006 signatures (checked with PyNaCl, not with our signing module), and the callback
receiver (callbacks signed with PyNaCl keys a BPP publishes)."""

from __future__ import annotations

import base64
import copy
import json
import stat
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nacl.exceptions
import nacl.signing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridshare.beckn import client, keys, routes, signing
from gridshare.beckn.context import BPP_ACTIONS, validate_context
from gridshare.beckn.registry import FileRegistry
from gridshare.config import Settings
from gridshare.store.db import session_factory, transaction
from gridshare.timefmt import rfc3339
from tests.beckn import independent, schema

EXAMPLES = Path(__file__).parent / "specs" / "connections_examples"
CALLBACK_URL = "http://127.0.0.1:8765/bap"
BPP = "http://bpp.test/beckn"
BPP_ID = "bpp.test"
BPP_KEY_ID = "bpp-key-1"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
BILLING = client.Billing(
    name="Jonathan Park",
    address="910 Pinecrest Blvd, San Francisco, CA",
    email="jonathan.park@example.com",
    phone="+14155553333",
)
PAYMENTS = [
    {
        "type": "ON-FULFILLMENT",
        "collected_by": "BPP",
        "status": "NOT-PAID",
        "params": {"amount": "150", "currency": "USD"},
    }
]


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return document


@pytest.fixture
def identity() -> client.Identity:
    return client.new_identity("bap.test", CALLBACK_URL)


# --- identity ------------------------------------------------------------------------------


OTHER_ENTRY = {
    "subscriber_id": "other.test",
    "url": "https://other.test/beckn",
    "type": "BPP",
    "key_id": "k1",
    "signing_public_key": "b3RoZXI=",
    "status": "SUBSCRIBED",
}


def test_init_writes_a_private_key_file_and_a_registry_entry_the_bpp_reads(tmp_path: Path) -> None:
    key_file, registry_file = tmp_path / "bap.json", tmp_path / "registry.json"
    registry_file.write_text(json.dumps([OTHER_ENTRY]))

    made = client.init_identity(key_file, "bap.test", CALLBACK_URL, registry_file=registry_file)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    loaded = client.load_identity(key_file)
    assert (loaded.subscriber_id, loaded.unique_key_id, loaded.callback_url, loaded.domain) == (
        "bap.test",
        made.unique_key_id,
        CALLBACK_URL,
        "service",
    )
    assert loaded.public_key == made.public_key
    entry = FileRegistry(registry_file).lookup("bap.test", made.unique_key_id)
    assert entry is not None
    assert (entry.type, entry.domain, entry.subscriber_url) == ("BAP", "service", CALLBACK_URL)
    seed = base64.b64decode(json.loads(key_file.read_text())["signing_private_key"])
    assert independent.public_b64(nacl.signing.SigningKey(seed)) == entry.signing_public_key
    assert FileRegistry(registry_file).lookup("other.test", "k1") is not None


def test_init_again_keeps_the_key_unless_asked_and_replaces_only_its_own_entry(
    tmp_path: Path,
) -> None:
    key_file, registry_file = tmp_path / "bap.json", tmp_path / "registry.json"
    registry_file.write_text(json.dumps([OTHER_ENTRY]))
    made = client.init_identity(key_file, "bap.test", CALLBACK_URL, registry_file=registry_file)

    moved = client.init_identity(
        key_file, "bap.test", "http://127.0.0.1:9000/bap2/", registry_file=registry_file
    )
    assert (moved.unique_key_id, moved.public_key) == (made.unique_key_id, made.public_key)
    assert moved.callback_url == "http://127.0.0.1:9000/bap2"
    entries = json.loads(registry_file.read_text())
    assert [(e["subscriber_id"], e["url"]) for e in entries] == [
        ("other.test", "https://other.test/beckn"),
        ("bap.test", "http://127.0.0.1:9000/bap2"),
    ]

    rotated = client.init_identity(
        key_file, "bap.test", CALLBACK_URL, registry_file=registry_file, new_key=True
    )
    assert rotated.unique_key_id != made.unique_key_id
    assert rotated.public_key != made.public_key
    assert FileRegistry(registry_file).lookup("bap.test", made.unique_key_id) is None
    assert FileRegistry(registry_file).lookup("bap.test", rotated.unique_key_id) is not None

    with pytest.raises(client.ClientError, match=r"belongs to 'bap\.test'"):
        client.init_identity(key_file, "someone.else", CALLBACK_URL)


def test_init_again_keeps_the_domain_unless_given(tmp_path: Path) -> None:
    key_file = tmp_path / "bap.json"
    client.init_identity(key_file, "bap.test", CALLBACK_URL, domain="deg:service")
    assert client.init_identity(key_file, "bap.test", CALLBACK_URL).domain == "deg:service"
    changed = client.init_identity(key_file, "bap.test", CALLBACK_URL, domain="service")
    assert client.load_identity(key_file).domain == changed.domain == "service"


@pytest.mark.parametrize(
    ("subscriber_id", "callback_url", "problem"),
    [
        ("https://bap.test", CALLBACK_URL, "not a URL"),
        ("bap|test", CALLBACK_URL, "has no '|'"),
        ("bap.test", "ftp://127.0.0.1/bap", "must be an http"),
        ("bap.test", "/bap", "must be an http"),
    ],
)
def test_a_bad_identity_is_refused_with_what_to_fix(
    subscriber_id: str, callback_url: str, problem: str
) -> None:
    with pytest.raises(client.ClientError, match=problem):
        client.new_identity(subscriber_id, callback_url)


def test_a_missing_or_damaged_key_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(client.ClientError, match="does not exist"):
        client.load_identity(tmp_path / "missing.json")
    key_file = tmp_path / "bap.json"
    client.save_identity(client.new_identity("bap.test", CALLBACK_URL), key_file)
    document = json.loads(key_file.read_text())
    document["signing_public_key"] = independent.public_b64(nacl.signing.SigningKey.generate())
    key_file.write_text(json.dumps(document))
    with pytest.raises(client.ClientError, match="not the private key's"):
        client.load_identity(key_file)
    del document["signing_private_key"]
    key_file.write_text(json.dumps(document))
    with pytest.raises(client.ClientError, match="has no signing_private_key"):
        client.load_identity(key_file)


# --- requests ------------------------------------------------------------------------------


def messages() -> dict[str, dict[str, Any]]:
    """One message of each action, as the CLI builds them."""
    selected = client.select_order(
        "sf_electric_authority", "new-resi-connection", load_kw="5", monthly_kwh="300"
    )
    initialised = client.init_order(selected, BILLING, point="37.7749,-122.4194")
    return {
        "search": client.search_message("new connection", point="37.7749, -122.4194"),
        "select": {"order": selected},
        "init": {"order": initialised},
        "confirm": {"order": client.confirm_order(initialised, PAYMENTS)},
        "status": client.status_message("order-1"),
        "cancel": client.cancel_message("order-1", "5", "moving elsewhere"),
        "update": client.update_message(
            "order-1", "billing", {"billing": {"email": "jp@example.com"}}
        ),
        "track": client.track_message("order-1", "https://bap.test/track"),
        "rating": client.rating_message("Order", "order-1", "5"),
        "support": client.support_message("order-1", "+14155550100"),
    }


def test_there_is_a_message_for_every_bpp_action() -> None:
    assert set(messages()) == BPP_ACTIONS


@pytest.mark.parametrize("action", sorted(BPP_ACTIONS))
def test_every_request_is_a_core_message_with_a_context_the_bpp_accepts(
    action: str, identity: client.Identity, tmp_path: Path
) -> None:
    """core 1.1.0 transaction.yaml `/{action}` (formats checked: uuid ids, RFC 3339); the
    context rules of Context.yaml and the Generic guide, as `validate_context` applies them."""
    transaction_id = str(uuid.uuid4())
    body = client.build_request(
        identity, action, messages()[action], transaction_id, BPP, bpp_id=BPP_ID, now=NOW
    )
    schema.assert_valid_message(action, body)
    context = body["context"]
    assert context == {
        "domain": "service",
        "location": {"country": {"code": "USA"}},
        "action": action,
        "version": "1.1.0",
        "bap_id": "bap.test",
        "bap_uri": CALLBACK_URL,
        "bpp_id": BPP_ID,
        "bpp_uri": BPP,
        "transaction_id": transaction_id,
        "message_id": context["message_id"],
        "timestamp": "2025-06-01T12:00:00Z",
        "ttl": "PT10M",
    }
    assert uuid.UUID(context["message_id"]).version == 4
    settings = Settings(data_dir=tmp_path, base_url="http://bpp.test")
    checked = validate_context(context, action, settings, now=NOW + timedelta(seconds=1))
    assert checked.bap_uri == CALLBACK_URL


def test_each_request_has_its_own_message_id(identity: client.Identity) -> None:
    ids = {client.request_context(identity, "status", "t", BPP)["message_id"] for _ in range(3)}
    assert len(ids) == 3


def test_a_bad_ttl_action_gps_or_load_is_refused(identity: client.Identity) -> None:
    with pytest.raises(client.ClientError, match="ISO 8601 duration"):
        client.request_context(identity, "status", "t", BPP, ttl="10 minutes")
    with pytest.raises(client.ClientError, match="not a Beckn action"):
        client.request_context(identity, "on_status", "t", BPP)
    with pytest.raises(client.ClientError, match="not a GPS point"):
        client.search_message(point="37.7,-200")
    with pytest.raises(client.ClientError, match="non-negative decimal"):
        client.select_order("p", "i", load_kw="five")
    with pytest.raises(client.ClientError, match="rating category"):
        client.rating_message("Meter", "order-1", "5")


TAXONOMY = {"Consumer": "CONSUMER", "ONSITE": "ON_SITE", "end": "END"}
"""The examples' display strings and the guide's taxonomy codes we send (specs/README.md)."""


def to_taxonomy(document: Any) -> Any:
    if isinstance(document, dict):
        return {key: to_taxonomy(value) for key, value in document.items()}
    if isinstance(document, list):
        return [to_taxonomy(value) for value in document]
    return TAXONOMY.get(document, document) if isinstance(document, str) else document


def test_the_messages_are_the_connections_guides_examples() -> None:
    """Connections guide v1.1, "select", "init", "confirm", "status": select's
    `requested_connection_details`, init's billing with the fulfillment's customer and end stop,
    confirm repeating init with on_init's payments. Only taxonomy spellings differ."""
    selected = example("select/select.json")["message"]["order"]
    assert client.select_order(
        "sf_electric_authority", "new-resi-connection", load_kw="5", monthly_kwh="300"
    ) == to_taxonomy(selected)

    initialised = example("init/init.json")["message"]["order"]
    offered = example("select/on_select.json")["message"]["order"]["fulfillments"][0]
    built = client.init_order(
        to_taxonomy(selected),
        client.Billing(**initialised["billing"]),
        point="37.774921,122.419424",
        fulfillment=to_taxonomy(offered),
    )
    assert built == to_taxonomy(initialised)

    on_init = example("init/on_init.json")["message"]["order"]
    confirmed = client.confirm_order(initialised, on_init["payments"])
    assert confirmed == example("confirm/confirm.json")["message"]["order"]

    status = example("status/status.json")["message"]
    assert client.status_message("conn-order-001") == status

    search = example("search/search.json")["message"]
    text = search["intent"]["descriptor"]["name"]
    assert client.search_message(text, "electricity-connection") == search


def test_init_uses_the_selected_fulfillment_when_on_select_offered_none() -> None:
    selected = client.select_order("p", "i")
    built = client.init_order(selected, client.Billing(name="A", address="1 Main St"))
    assert built["fulfillments"] == [
        {
            "id": "1",
            "type": "ON_SITE",
            "customer": {"person": {"name": "A"}},
            "stops": [{"type": "END", "location": {"address": "1 Main St"}}],
        }
    ]
    assert built["billing"] == {"name": "A", "address": "1 Main St"}


# --- signing and sending -------------------------------------------------------------------


def transport(
    answer: httpx.Response, seen: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return answer

    return handle


def test_send_posts_the_signed_body_to_the_actions_path(
    identity: client.Identity, tmp_path: Path
) -> None:
    """BECKN-006: BLAKE2b-512 digest of the exact body, Ed25519 over the signing string, keyId
    `{subscriber_id}|{unique_key_id}|ed25519`; `expires - created` equals the ttl."""
    seen: list[httpx.Request] = []
    ack = httpx.Response(200, json={"message": {"ack": {"status": "ACK"}}})
    http = httpx.Client(transport=httpx.MockTransport(transport(ack, seen)))
    body = client.build_request(identity, "status", client.status_message("o-1"), "t-1", BPP)

    now = datetime.now(UTC)
    answer = client.send(BPP, body, identity, http=http, now=now)

    assert answer.acknowledged and answer.summary() == "ACK (HTTP 200)"
    [request] = seen
    assert str(request.url) == f"{BPP}/status" and request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == body
    params = independent.verify(
        request.headers["authorization"], request.content, identity.public_key
    )
    assert params["keyId"] == f"bap.test|{identity.unique_key_id}|ed25519"
    assert int(params["created"]) == int(now.timestamp())
    assert int(params["expires"]) - int(params["created"]) == 600
    with pytest.raises(nacl.exceptions.BadSignatureError):
        independent.verify(
            request.headers["authorization"], request.content + b" ", identity.public_key
        )

    # and the BPP's own verification (registry file + signing.authenticate) accepts it
    registry_file = tmp_path / "registry.json"
    client.write_registry_entry(identity, registry_file)
    lookup = client_lookup(FileRegistry(registry_file, now=lambda: now))
    signing.authenticate(dict(request.headers), request.content, lookup, now)


def client_lookup(registry: FileRegistry) -> signing.KeyLookup:
    def lookup(subscriber_id: str, unique_key_id: str | None) -> Any:
        entry = registry.lookup(subscriber_id, unique_key_id)
        return None if entry is None else signing.public_key_from_b64(entry.signing_public_key)

    return lookup


@pytest.mark.parametrize(
    ("response", "summary"),
    [
        (
            httpx.Response(
                401,
                json={
                    "message": {"ack": {"status": "NACK"}},
                    "error": {"code": "30000", "message": "bad signature"},
                },
            ),
            'NACK (HTTP 401): {"code": "30000", "message": "bad signature"}',
        ),
        (httpx.Response(200, json={"message": {"ack": {"status": "NACK"}}}), "NACK (HTTP 200)"),
        (httpx.Response(502, text="Bad Gateway"), "no ACK (HTTP 502): Bad Gateway"),
    ],
)
def test_an_answer_that_is_not_an_ack_is_reported(
    identity: client.Identity, response: httpx.Response, summary: str
) -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=httpx.MockTransport(transport(response, seen)))
    body = client.build_request(identity, "status", client.status_message("o-1"), "t-1", BPP)
    answer = client.send(BPP, body, identity, http=http)
    assert not answer.acknowledged
    assert answer.summary().startswith(summary)
    if answer.body is not None:
        schema.assert_valid_response(answer.body)


def test_an_unreachable_bpp_is_a_client_error(identity: client.Identity) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(refuse))
    body = client.build_request(identity, "status", client.status_message("o-1"), "t-1", BPP)
    with pytest.raises(client.ClientError, match=r"http://bpp.test/beckn/status cannot be"):
        client.send(BPP, body, identity, http=http)


# --- the receiver --------------------------------------------------------------------------


def bpp_document(*signing_keys: tuple[str, nacl.signing.SigningKey]) -> dict[str, Any]:
    """A BPP's subscriber.json (the shape of `keys.subscriber_document`)."""
    now = datetime.now(UTC)
    return {
        "subscriber_id": BPP_ID,
        "subscriber_url": BPP,
        "type": "BPP",
        "domains": ["service"],
        "keys": [
            {
                "unique_key_id": key_id,
                "signing_public_key": independent.public_b64(key),
                "valid_from": rfc3339(now - timedelta(days=1)),
                "valid_until": rfc3339(now + timedelta(days=1)),
                "status": "active",
            }
            for key_id, key in signing_keys
        ],
    }


class PublishedKeys:
    """`{BPP}/subscriber.json` served to the client through an httpx MockTransport."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.fetches = 0
        self.http = httpx.Client(transport=httpx.MockTransport(self.serve))

    def serve(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == f"{BPP}/subscriber.json"
        self.fetches += 1
        return httpx.Response(200, json=self.document)


def on_status(identity: client.Identity, **context: Any) -> dict[str, Any]:
    """The guide's on_status-1 as our BPP would send it to `identity` (a valid core message)."""
    body = example("status/on_status-1.json")
    body["context"] |= {
        "bap_id": identity.subscriber_id,
        "bap_uri": identity.callback_url,
        "bpp_id": BPP_ID,
        "bpp_uri": BPP,
        "transaction_id": str(uuid.uuid4()),
        "message_id": str(uuid.uuid4()),
        "timestamp": rfc3339(datetime.now(UTC)),
    } | context
    schema.assert_valid_message("on_status", body)
    return body


def signed(body: dict[str, Any], key: nacl.signing.SigningKey, key_id: str) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    created = int(datetime.now(UTC).timestamp())
    return raw, independent.sign(raw, key, key_id, created, created + 600)


BPP_KEY = nacl.signing.SigningKey.generate()
KEY_ID = f"{BPP_ID}|{BPP_KEY_ID}|ed25519"


@pytest.fixture
def published() -> PublishedKeys:
    return PublishedKeys(bpp_document((BPP_KEY_ID, BPP_KEY)))


@pytest.fixture
def receiver(
    identity: client.Identity, published: PublishedKeys, tmp_path: Path
) -> Iterator[client.CallbackReceiver]:
    keys_ = client.SubscriberDocumentKeys(BPP, http=published.http)
    inbox = client.Inbox(tmp_path / "callbacks.jsonl")
    with client.CallbackReceiver(identity, keys_, inbox, port=0) as started:
        yield started


def post(
    receiver: client.CallbackReceiver, path: str, raw: bytes, authorization: str | None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx.post(f"http://127.0.0.1:{receiver.port}{path}", content=raw, headers=headers)


def test_a_callback_signed_with_a_published_key_is_acked_and_recorded(
    receiver: client.CallbackReceiver, identity: client.Identity, tmp_path: Path
) -> None:
    """BECKN-006 verification of the BPP's callback; core 1.1.0 `Ack`; the callback is paired
    with its request by `message_id` (Context.yaml)."""
    body = on_status(identity)
    raw, authorization = signed(body, BPP_KEY, KEY_ID)

    answer = post(receiver, "/bap/on_status", raw, authorization)

    assert answer.status_code == 200
    assert answer.json() == {"message": {"ack": {"status": "ACK"}}}
    schema.assert_valid_response(answer.json())
    message_id = body["context"]["message_id"]
    received = receiver.inbox.wait_for("on_status", message_id, timeout=0)
    assert received is not None
    assert (received.body, received.signer, received.error) == (body, KEY_ID, None)
    assert received.order["id"] == "conn-order-001"
    assert receiver.inbox.wait_for("on_select", message_id, timeout=0) is None
    [journaled] = client.read_journal(tmp_path / "callbacks.jsonl")
    assert (journaled.action, journaled.body, journaled.signer) == ("on_status", body, KEY_ID)
    assert client.latest([journaled], body["context"]["transaction_id"], "on_status") == journaled


def test_a_tampered_callback_gets_401_and_a_nack_and_is_not_recorded(
    receiver: client.CallbackReceiver, identity: client.Identity, tmp_path: Path
) -> None:
    """BECKN-006 "Step 5": a signature that does not verify is answered HTTP 401, a NACK and
    `WWW-Authenticate: Signature realm=...,headers="(created) (expires) digest"`."""
    body = on_status(identity)
    raw, authorization = signed(body, BPP_KEY, KEY_ID)
    tampered = raw.replace(b"Technician-assigned", b"Connection-established")
    assert tampered != raw

    answer = post(receiver, "/bap/on_status", tampered, authorization)

    assert answer.status_code == 401
    assert answer.json()["message"] == {"ack": {"status": "NACK"}}
    assert "does not verify" in answer.json()["error"]["message"]
    schema.assert_valid_response(answer.json())
    assert answer.headers["www-authenticate"] == (
        'Signature realm="bap.test",headers="(created) (expires) digest"'
    )
    assert receiver.inbox.received() == []
    assert not (tmp_path / "callbacks.jsonl").exists()


OTHER_KEY = nacl.signing.SigningKey.generate()


@pytest.mark.parametrize(
    ("case", "path", "context", "key", "key_id", "status"),
    [
        ("another key, same key id", "/bap/on_status", {}, OTHER_KEY, KEY_ID, 401),
        ("an unpublished key id", "/bap/on_status", {}, BPP_KEY, f"{BPP_ID}|k9|ed25519", 401),
        ("another subscriber", "/bap/on_status", {}, BPP_KEY, f"x.test|{BPP_KEY_ID}|ed25519", 401),
        ("no signature", "/bap/on_status", {}, None, "", 401),
        ("outside the callback path", "/other/on_status", {}, BPP_KEY, KEY_ID, 404),
        ("not a callback action", "/bap/on_launch", {}, BPP_KEY, KEY_ID, 404),
        ("a request, not a callback", "/bap/status", {}, BPP_KEY, KEY_ID, 404),
        ("the action is not the path's", "/bap/on_select", {}, BPP_KEY, KEY_ID, 400),
        ("for another BAP", "/bap/on_status", {"bap_id": "x.test"}, BPP_KEY, KEY_ID, 400),
        ("bpp_id is not the signer", "/bap/on_status", {"bpp_id": "x.test"}, BPP_KEY, KEY_ID, 400),
    ],
)
def test_callbacks_the_receiver_refuses(
    receiver: client.CallbackReceiver,
    identity: client.Identity,
    case: str,
    path: str,
    context: dict[str, Any],
    key: nacl.signing.SigningKey | None,
    key_id: str,
    status: int,
) -> None:
    body = on_status(identity, **context)
    if key is None:
        raw, authorization = json.dumps(body).encode(), None
    else:
        raw, authorization = signed(body, key, key_id)
    answer = post(receiver, path, raw, authorization)
    assert answer.status_code == status, case
    assert answer.json()["message"] == {"ack": {"status": "NACK"}}
    schema.assert_valid_response(answer.json())
    assert receiver.inbox.received() == []


def test_a_callback_with_a_rotated_key_refetches_the_bpps_keys(
    receiver: client.CallbackReceiver, identity: client.Identity, published: PublishedKeys
) -> None:
    """A BPP that rotates publishes the new key (keys.py `rotate`); a BAP holding a copy of
    the old document fetches it again instead of refusing."""
    first = on_status(identity)
    assert post(receiver, "/bap/on_status", *signed(first, BPP_KEY, KEY_ID)).status_code == 200
    new_key = nacl.signing.SigningKey.generate()
    published.document = bpp_document(("bpp-key-2", new_key), (BPP_KEY_ID, BPP_KEY))
    second = on_status(identity)
    raw, authorization = signed(second, new_key, f"{BPP_ID}|bpp-key-2|ed25519")
    assert post(receiver, "/bap/on_status", raw, authorization).status_code == 200
    assert [c.body for c in receiver.inbox.received()] == [first, second]
    assert published.fetches == 2


def test_keys_from_a_registry_file_accept_only_a_bpps_entry(
    identity: client.Identity, tmp_path: Path
) -> None:
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
    inbox = client.Inbox()
    lookup = client.registry_keys(FileRegistry(registry_file))
    with client.CallbackReceiver(identity, lookup, inbox, port=0) as receiver:
        body = on_status(identity)
        assert post(receiver, "/bap/on_status", *signed(body, BPP_KEY, KEY_ID)).status_code == 200
        registry_file.write_text(json.dumps([entry | {"type": "BAP"}]))
        again = on_status(identity)
        assert post(receiver, "/bap/on_status", *signed(again, BPP_KEY, KEY_ID)).status_code == 401
    assert [c.body for c in inbox.received()] == [body]


def test_our_bpps_subscriber_json_verifies_its_signed_callbacks(
    engine: Engine, settings: Settings, identity: client.Identity
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
    published = client.SubscriberDocumentKeys(bpp_uri, http=TestClient(app))
    inbox = client.Inbox()
    body = on_status(identity, bpp_id=settings.subscriber_id, bpp_uri=bpp_uri)
    raw = json.dumps(body).encode()
    now = datetime.now(UTC)
    authorization = signing.sign(
        raw,
        private_key,
        settings.subscriber_id,
        unique_key_id,
        created=now,
        expires=now + timedelta(minutes=10),
    )
    with client.CallbackReceiver(identity, published, inbox, port=0) as receiver:
        answer = post(receiver, "/bap/on_status", raw, authorization)
    assert answer.status_code == 200, answer.text
    [received] = inbox.received()
    assert received.signer == f"{settings.subscriber_id}|{unique_key_id}|ed25519"


def test_an_error_callback_is_recorded_with_its_error(
    receiver: client.CallbackReceiver, identity: client.Identity
) -> None:
    """core 1.1.0: a callback may carry `error` (BECKN-005 code) instead of a message."""
    body = on_status(identity)
    body.pop("message")
    body["error"] = {"code": "30010", "message": "order not found"}
    schema.assert_valid_message("on_status", body)
    assert post(receiver, "/bap/on_status", *signed(body, BPP_KEY, KEY_ID)).status_code == 200
    [received] = receiver.inbox.received()
    assert received.error == {"code": "30010", "message": "order not found"}
    assert received.order == {}


def test_waiting_for_a_callback_that_never_comes_gives_none() -> None:
    assert client.Inbox().wait_for("on_status", "m-1", timeout=0) is None


def test_a_damaged_journal_line_is_reported(tmp_path: Path) -> None:
    journal = tmp_path / "callbacks.jsonl"
    journal.write_text('{"action": "on_status"}\n')
    with pytest.raises(client.ClientError, match="line 1"):
        client.read_journal(journal)


def test_a_receiver_without_a_port_asks_for_one() -> None:
    identity = client.new_identity("bap.test", "https://bap.test/beckn")
    with pytest.raises(client.ClientError, match="--port"):
        client.CallbackReceiver(identity, lambda s, k: None, client.Inbox())


def test_the_transaction_state_round_trips(tmp_path: Path) -> None:
    path = client.state_path(tmp_path / "bap.json")
    assert path == tmp_path / "bap.state.json"
    assert client.load_transaction(path) is None
    state = client.Transaction("t-1", BPP, {"select": copy.deepcopy(messages()["select"])})
    client.save_transaction(path, state)
    assert client.load_transaction(path) == state
