"""A real HTTP receiver for delivery tests, serving on 127.0.0.1 in a thread of the test process.

It records every POST, answers from a script of status codes (then 200), and applies an "effect"
once per idempotency key, as a well-behaved receiver would. With `hold_first` it applies the first
request's effect and then stalls without answering until `release` is set, like a receiver whose
answer never reaches a worker that dies.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    idempotency_key: str | None
    content_type: str | None
    headers: dict[str, str]
    body: Any


class Receiver:
    def __init__(self, hold_first: bool = False) -> None:
        self.hold_first = hold_first
        self.received: list[Received] = []
        self.effects = 0
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self._answers: deque[int] = deque()
        self._applied: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with `statuses`, in order; 200 after them."""
        with self._lock:
            self._answers.extend(statuses)

    def keys(self) -> list[str | None]:
        with self._lock:
            return [request.idempotency_key for request in self.received]

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _take(self, request: Received) -> tuple[int, bool]:
        """Record `request`; return the status to answer and whether to stall instead."""
        with self._lock:
            self.received.append(request)
            status = self._answers.popleft() if self._answers else 200
            stall = self.hold_first and len(self.received) == 1
            key = request.idempotency_key or ""
            if (stall or 200 <= status < 300) and key not in self._applied:
                self._applied.add(key)
                self.effects += 1
            return status, stall

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, stall = receiver._take(
                    Received(
                        path=self.path,
                        idempotency_key=self.headers.get("Idempotency-Key"),
                        content_type=self.headers.get("Content-Type"),
                        headers=dict(self.headers.items()),
                        body=_decoded(raw, self.headers.get("Content-Type")),
                    )
                )
                if stall:
                    receiver.first_arrived.set()
                    receiver.release.wait(timeout=60)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"status": "%d"}' % status)
                except OSError:
                    pass  # the worker that asked is gone

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _decoded(raw: bytes, content_type: str | None) -> Any:
    """JSON bodies as values, any other body as text."""
    if not raw:
        return None
    if content_type == "application/json":
        return json.loads(raw)
    return raw.decode()
