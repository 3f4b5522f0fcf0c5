"""A request from the BAP (gridshare.beckn.client_requests): its context, checked against core
1.1.0 transaction.yaml and the BPP's own context rules; its BECKN-006 signature, checked with
PyNaCl (not with our signing module) and by the BPP's verification; and the BPP's answer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nacl.exceptions
import pytest

from gridshare.beckn import signing
from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.client_identity import Identity, new_identity, write_registry_entry
from gridshare.beckn.client_messages import status_message
from gridshare.beckn.client_requests import build_request, send
from gridshare.beckn.context import BPP_ACTIONS, validate_context
from gridshare.beckn.registry import FileRegistry
from gridshare.config import Settings
from tests.beckn import independent, schema
from tests.beckn.client_examples import BPP, BPP_ID, CALLBACK_URL, messages

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def identity() -> Identity:
    return new_identity("bap.test", CALLBACK_URL)


@pytest.mark.parametrize("action", sorted(BPP_ACTIONS))
def test_every_request_is_a_core_message_with_a_context_the_bpp_accepts(
    action: str, identity: Identity, tmp_path: Path
) -> None:
    """core 1.1.0 transaction.yaml `/{action}` (formats checked: uuid ids, RFC 3339); the
    context rules of Context.yaml and the Generic guide, as `validate_context` applies them."""
    transaction_id = str(uuid.uuid4())
    body = build_request(
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


def test_each_request_has_its_own_message_id(identity: Identity) -> None:
    """Context.yaml: a new `message_id` for every request of a transaction."""
    ids = {
        build_request(identity, "status", {}, "t", BPP)["context"]["message_id"] for _ in range(3)
    }
    assert len(ids) == 3


def test_a_bad_ttl_or_action_is_refused(identity: Identity) -> None:
    with pytest.raises(ClientError, match="ISO 8601 duration"):
        build_request(identity, "status", {}, "t", BPP, ttl="10 minutes")
    with pytest.raises(ClientError, match="not a Beckn action"):
        build_request(identity, "on_status", {}, "t", BPP)


def transport(
    answer: httpx.Response, seen: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return answer

    return handle


def test_send_posts_the_signed_body_to_the_actions_path(identity: Identity, tmp_path: Path) -> None:
    """BECKN-006: BLAKE2b-512 digest of the exact body, Ed25519 over the signing string, keyId
    `{subscriber_id}|{unique_key_id}|ed25519`; `expires - created` equals the ttl."""
    seen: list[httpx.Request] = []
    ack = httpx.Response(200, json={"message": {"ack": {"status": "ACK"}}})
    http = httpx.Client(transport=httpx.MockTransport(transport(ack, seen)))
    body = build_request(identity, "status", status_message("o-1"), "t-1", BPP)

    now = datetime.now(UTC)
    answer = send(BPP, body, identity, http=http, now=now)

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
    write_registry_entry(identity, registry_file)
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
    identity: Identity, response: httpx.Response, summary: str
) -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=httpx.MockTransport(transport(response, seen)))
    body = build_request(identity, "status", status_message("o-1"), "t-1", BPP)
    answer = send(BPP, body, identity, http=http)
    assert not answer.acknowledged
    assert answer.summary().startswith(summary)
    if answer.body is not None:
        schema.assert_valid_response(answer.body)


def test_an_unreachable_bpp_is_a_client_error(identity: Identity) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(refuse))
    body = build_request(identity, "status", status_message("o-1"), "t-1", BPP)
    with pytest.raises(ClientError, match=r"http://bpp.test/beckn/status cannot be"):
        send(BPP, body, identity, http=http)
