"""A test BAP written apart from `gridshare.beckn`: PyNaCl keys, signatures made and checked by
`independent` (PyNaCl and hashlib), a registry-file entry, and a callback receiver (a real HTTP
server on a local port) that checks every callback's signature against the keys the BPP
publishes at `/beckn/subscriber.json`.
"""

from __future__ import annotations

import json
import queue
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.signing

from tests.beckn import independent
from tests.local_server import serving

_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Bap:
    """A BAP: its id, key and callback URL."""

    subscriber_id: str = "bap.example.org"
    unique_key_id: str = "bap-key-1"
    callback_url: str = "http://127.0.0.1:9/bap"
    key: nacl.signing.SigningKey = field(default_factory=nacl.signing.SigningKey.generate)

    def registry_entry(self) -> dict[str, Any]:
        return {
            "subscriber_id": self.subscriber_id,
            "url": self.callback_url,
            "type": "BAP",
            "domain": "service",
            "key_id": self.unique_key_id,
            "signing_public_key": independent.public_b64(self.key),
            "valid_from": "2020-01-01T00:00:00Z",
            "valid_until": "2099-01-01T00:00:00Z",
            "status": "SUBSCRIBED",
        }

    def write_registry(self, path: Path) -> Path:
        path.write_text(json.dumps([self.registry_entry()]), encoding="utf-8")
        return path

    def context(
        self, action: str, transaction_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        return {
            "domain": "service",
            "location": {"country": {"code": "USA"}, "city": {"code": "NANP:628"}},
            "action": action,
            "version": "1.1.0",
            "bap_id": self.subscriber_id,
            "bap_uri": self.callback_url,
            "transaction_id": transaction_id or str(uuid.uuid4()),
            "message_id": str(uuid.uuid4()),
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "ttl": "PT10M",
            **extra,
        }

    def sign(self, body: bytes, created: int | None = None, expires: int | None = None) -> str:
        created = int(time.time()) - 1 if created is None else created
        expires = created + 600 if expires is None else expires
        key_id = f"{self.subscriber_id}|{self.unique_key_id}|ed25519"
        return independent.sign(body, self.key, key_id, created, expires)

    def signed(self, message: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(message).encode()
        return body, {"Authorization": self.sign(body), "Content-Type": "application/json"}


def verify(body: bytes, authorization: str, public_keys: dict[str, str]) -> str:
    """The subscriber whose key (one of `public_keys`, by unique key id) signed `body`, checked
    with PyNaCl and within its window; AssertionError if not."""
    subscriber_id, unique_key_id, _ = dict(_PARAM.findall(authorization))["keyId"].split("|")
    try:
        params = independent.verify(authorization, body, public_keys[unique_key_id])
    except nacl.exceptions.BadSignatureError:
        raise AssertionError(f"the signature of {subscriber_id} does not verify") from None
    now = time.time()
    assert int(params["created"]) <= now + 5 <= int(params["expires"]) + 5, "outside its window"
    return subscriber_id


@dataclass(frozen=True)
class Callback:
    path: str
    body: dict[str, Any]
    signer: str


class Receiver:
    """Callbacks POSTed to a local port, each verified against `keys()` before it is ACKed."""

    def __init__(self, keys: Callable[[], dict[str, str]]) -> None:
        self.keys = keys
        self.received: queue.Queue[Callback] = queue.Queue()
        self.refused: list[str] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    signer = verify(body, self.headers["Authorization"], receiver.keys())
                except (AssertionError, KeyError, ValueError) as error:
                    receiver.refused.append(str(error))
                    self._answer(401, {"message": {"ack": {"status": "NACK"}}})
                    return
                receiver.received.put(Callback(self.path, json.loads(body), signer))
                self._answer(200, {"message": {"ack": {"status": "ACK"}}})

            def _answer(self, status: int, answer: dict[str, Any]) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def next(self, timeout: float = 20) -> Callback:
        return self.received.get(timeout=timeout)


@contextmanager
def receiving(keys: Callable[[], dict[str, str]], port: int = 0) -> Iterator[tuple[Receiver, int]]:
    """A `Receiver` serving on 127.0.0.1 (`port`, or a free one) until the block ends."""
    receiver = Receiver(keys)
    with serving(receiver.handler(), port) as bound:
        yield receiver, bound
