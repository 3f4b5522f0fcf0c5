"""The BAP's callback receiver (gridshare.beckn.client_receiver) over real HTTP on a local port:
callbacks signed with PyNaCl by a BPP that publishes its keys (BECKN-006) are ACKed (core 1.1.0
`Ack`) and put in the inbox; anything else is refused with a NACK and the status that says why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nacl.signing
import pytest

from gridshare.beckn.client_errors import ClientError, KeySourceError
from gridshare.beckn.client_identity import Identity, new_identity
from gridshare.beckn.client_inbox import Inbox, latest, read_journal
from gridshare.beckn.client_keys import SubscriberDocumentKeys
from gridshare.beckn.client_receiver import CallbackReceiver
from tests.beckn import schema
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


@pytest.fixture
def identity() -> Identity:
    return new_identity("bap.test", CALLBACK_URL)


@pytest.fixture
def published() -> PublishedKeys:
    return PublishedKeys(bpp_document((BPP_KEY_ID, BPP_KEY)))


@pytest.fixture
def receiver(
    identity: Identity, published: PublishedKeys, tmp_path: Path
) -> Iterator[CallbackReceiver]:
    keys_ = SubscriberDocumentKeys(BPP, http=published.http)
    inbox = Inbox(tmp_path / "callbacks.jsonl")
    with CallbackReceiver(identity, keys_, inbox, port=0) as started:
        yield started


def post(
    receiver: CallbackReceiver, path: str, raw: bytes, authorization: str | None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx.post(f"http://127.0.0.1:{receiver.port}{path}", content=raw, headers=headers)


def test_a_callback_signed_with_a_published_key_is_acked_and_recorded(
    receiver: CallbackReceiver, identity: Identity, tmp_path: Path
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
    [journaled] = read_journal(tmp_path / "callbacks.jsonl")
    assert (journaled.action, journaled.body, journaled.signer) == ("on_status", body, KEY_ID)
    assert latest([journaled], body["context"]["transaction_id"], "on_status") == journaled


def test_a_tampered_callback_gets_401_and_a_nack_and_is_not_recorded(
    receiver: CallbackReceiver, identity: Identity, tmp_path: Path
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
    receiver: CallbackReceiver,
    identity: Identity,
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


def test_an_error_callback_is_recorded_with_its_error(
    receiver: CallbackReceiver, identity: Identity
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


def test_a_receiver_without_a_port_asks_for_one() -> None:
    identity = new_identity("bap.test", "https://bap.test/beckn")
    with pytest.raises(ClientError, match="--port"):
        CallbackReceiver(identity, lambda s, k: None, Inbox())


def test_a_callback_is_refused_with_503_while_the_bpps_keys_cannot_be_read(
    identity: Identity,
) -> None:
    def unreadable(subscriber_id: str, unique_key_id: str | None) -> None:
        raise KeySourceError(f"{BPP}/subscriber.json: HTTP 502")

    inbox = Inbox()
    with CallbackReceiver(identity, unreadable, inbox, port=0) as started:
        answer = post(started, "/bap/on_status", *signed(on_status(identity), BPP_KEY, KEY_ID))
    assert answer.status_code == 503
    assert "HTTP 502" in answer.json()["error"]["message"]
    schema.assert_valid_response(answer.json())
    assert inbox.received() == []
