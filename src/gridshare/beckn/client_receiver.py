"""The BAP's callback receiver: an HTTP server on a local port taking the BPP's
`POST {bap_uri}/on_{action}`. It verifies each callback's BECKN-006 signature against the BPP's
keys, answers a core 1.1.0 ACK and puts the callback in the `Inbox`, or refuses it with a NACK:
401 with the `WWW-Authenticate` challenge for a bad signature (BECKN-006), a BECKN-005 30000
"Invalid request" for a body that is not a callback for this BAP."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from gridshare.beckn import signing
from gridshare.beckn.client_errors import ClientError, KeySourceError
from gridshare.beckn.client_identity import Identity
from gridshare.beckn.client_inbox import Callback, Inbox
from gridshare.beckn.context import BPP_ACTIONS
from gridshare.beckn.errors import INVALID_REQUEST, BecknError, ack, nack
from gridshare.beckn.registry import utc_now

logger = logging.getLogger(__name__)

MAX_CALLBACK_BYTES: Final = 1 << 20
SHUTDOWN_POLL_SECONDS: Final = 0.05
"""How often the receiver's server looks for a request to stop."""


@dataclass(frozen=True)
class Reply:
    """What the receiver answers a callback."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class CallbackReceiver:
    """An HTTP server taking `POST {callback URL path}/on_{action}`: each callback's BECKN-006
    signature is checked with `keys`, then it is answered ACK and put in `inbox`.

    Refusals: 404 for another path, 401 NACK (with the challenge) for a bad or unknown
    signature, 503 NACK if the keys cannot be read, 400 NACK for a body that is not a callback
    for this BAP. Use as a context manager, or `start()` and `stop()`.
    """

    def __init__(
        self,
        identity: Identity,
        keys: signing.KeyLookup,
        inbox: Inbox,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        parts = urlsplit(identity.callback_url)
        chosen = parts.port if port is None else port
        if chosen is None:
            raise ClientError(
                f"the callback URL {identity.callback_url} has no port: give the local port "
                "to listen on (--port)"
            )
        self.identity = identity
        self.keys = keys
        self.inbox = inbox
        self.path = parts.path.rstrip("/")
        self._now = now
        self._address = (host, chosen)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose, for port 0)."""
        if self._server is None:
            return self._address[1]
        return int(self._server.server_address[1])

    def start(self) -> CallbackReceiver:
        try:
            self._server = ThreadingHTTPServer(self._address, _handler(self))
        except OSError as exc:
            raise ClientError(
                f"cannot listen on {self._address[0]}:{self._address[1]} ({exc.strerror}): is "
                "another `gridshare beckn-client` (listen?) using it? Stop it, or use --no-wait "
                "and let it print the callbacks"
            ) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="beckn-callbacks",
            daemon=True,
        )
        self._thread.start()
        logger.info("taking callbacks on %s:%d%s/on_*", self._address[0], self.port, self.path)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """The answer to `POST path` with these headers and body (recording it if accepted)."""
        action = self._action(path)
        if action is None:
            return _refusal(404, f"no callback is taken at {path}; use {self.path}/on_{{action}}")
        try:
            authenticated = signing.authenticate(headers, body, self.keys, self._now())
        except signing.SignatureError as exc:
            logger.warning("refused %s: %s", path, exc.message)
            challenge = exc.challenge(self.identity.subscriber_id)
            return Reply(401, nack(exc), challenge)
        except KeySourceError as exc:
            return _refusal(503, f"cannot check the signature now: {exc}")
        signer = authenticated.subscriber
        try:
            document = json.loads(body)
        except ValueError:
            return _refusal(400, "the body is not JSON")
        problem = _callback_problem(document, action, self.identity, signer.subscriber_id)
        if problem is not None:
            return _refusal(400, problem)
        by_name = {name.lower(): value for name, value in headers.items()}
        evidence = {
            "body": base64.b64encode(body).decode(),
            "authorization": by_name.get(signing.AUTHORIZATION.lower(), ""),
        }
        self.inbox.add(Callback(action, document, signer.key_id, self._now(), evidence))
        logger.info("%s for message %s", action, document["context"].get("message_id"))
        return Reply(200, ack())

    def _action(self, path: str) -> str | None:
        prefix, _, name = urlsplit(path).path.rpartition("/")
        if prefix != self.path or not name.startswith("on_"):
            return None
        return name if name.removeprefix("on_") in BPP_ACTIONS else None


def _handler(receiver: CallbackReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_CALLBACK_BYTES:
                reply = _refusal(413, f"send a Content-Length of at most {MAX_CALLBACK_BYTES}")
            else:
                body = self.rfile.read(length)
                reply = receiver.handle(self.path, dict(self.headers.items()), body)
            raw = orjson.dumps(reply.body)
            self.send_response(reply.status)
            for name, value in {**reply.headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

    return Handler


def _callback_problem(document: Any, action: str, identity: Identity, signer: str) -> str | None:
    if not isinstance(document, dict) or not isinstance(document.get("context"), dict):
        return "a callback is a JSON object with a context"
    context = document["context"]
    if context.get("action") != action:
        return f"context.action is {context.get('action')!r} but this is /{action}"
    if context.get("bap_id", identity.subscriber_id) != identity.subscriber_id:
        return (
            f"context.bap_id is {context.get('bap_id')!r}; this BAP is {identity.subscriber_id!r}"
        )
    if context.get("bpp_id", signer) != signer:
        return f"context.bpp_id is {context.get('bpp_id')!r} but {signer!r} signed it"
    return None


def _refusal(status: int, message: str) -> Reply:
    return Reply(status, nack(BecknError(INVALID_REQUEST, message)))
