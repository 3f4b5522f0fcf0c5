"""What the tests of the BAP client (`gridshare.beckn.client_*`) share: the Connections v1.1
examples, one request message of each action as the CLI builds them, and a BPP written apart
from our code (a PyNaCl key, its subscriber document, an on_status it signs)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nacl.signing

from gridshare.beckn.client_identity import Identity
from gridshare.beckn.client_messages import (
    Billing,
    cancel_message,
    confirm_order,
    init_order,
    rating_message,
    search_message,
    select_order,
    status_message,
    support_message,
    track_message,
    update_message,
)
from gridshare.timefmt import rfc3339
from tests.beckn import independent, schema

EXAMPLES = Path(__file__).parent / "specs" / "connections_examples"
CALLBACK_URL = "http://127.0.0.1:8765/bap"
BPP = "http://bpp.test/beckn"
BPP_ID = "bpp.test"
BPP_KEY_ID = "bpp-key-1"
BPP_KEY = nacl.signing.SigningKey.generate()
KEY_ID = f"{BPP_ID}|{BPP_KEY_ID}|ed25519"
"""The BECKN-006 keyId of the BPP's signatures."""
BILLING = Billing(
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


def messages() -> dict[str, dict[str, Any]]:
    """One message of each action, as the CLI builds them."""
    selected = select_order(
        "sf_electric_authority", "new-resi-connection", load_kw="5", monthly_kwh="300"
    )
    initialised = init_order(selected, BILLING, point="37.7749,-122.4194")
    return {
        "search": search_message("new connection", point="37.7749, -122.4194"),
        "select": {"order": selected},
        "init": {"order": initialised},
        "confirm": {"order": confirm_order(initialised, PAYMENTS)},
        "status": status_message("order-1"),
        "cancel": cancel_message("order-1", "5", "moving elsewhere"),
        "update": update_message("order-1", "billing", {"billing": {"email": "jp@example.com"}}),
        "track": track_message("order-1", "https://bap.test/track"),
        "rating": rating_message("Order", "order-1", "5"),
        "support": support_message("order-1", "+14155550100"),
    }


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


def on_status(identity: Identity, **context: Any) -> dict[str, Any]:
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
    """`body` as bytes and its BECKN-006 Authorization header, signed now by PyNaCl."""
    raw = json.dumps(body).encode()
    created = int(datetime.now(UTC).timestamp())
    return raw, independent.sign(raw, key, key_id, created, created + 600)
