"""Delivery handlers: what the worker runs for each outbox kind, and the built-in `http_post`.

A handler takes a `Message` and returns when the receiver has it; it raises to fail. Raising
`PermanentFailure` means retrying cannot help and the item goes dead at once; any other exception
is retried with backoff. Handlers must tolerate a second delivery of the same message (a worker can
die after the receiver applied it): they pass `Message.idempotency_key` on so the receiver can
apply the effect once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from gridshare.store import jsontext

RETRIED_STATUSES = frozenset({408, 429})
"""Client errors that say "try again later"; every other 4xx is permanent."""


@dataclass(frozen=True)
class Message:
    """One outbox item as a handler sees it; `attempt` is 1 on the first delivery."""

    id: int
    kind: str
    idempotency_key: str
    payload: dict[str, Any]
    attempt: int


Handler = Callable[[Message], None]


class DeliveryFailed(Exception):
    """A delivery that did not succeed but may later: the worker retries it with backoff."""


class PermanentFailure(DeliveryFailed):
    """A delivery that retrying cannot fix (refused by the receiver, or a malformed payload)."""


class HttpPost:
    """POST `payload["body"]` as JSON, or `payload["text"]` as it is (its Content-Type in the
    headers), to `payload["url"]` with `payload["headers"]` (optional).

    The request carries `Idempotency-Key: <the item's key>`. A 2xx answer is success; 408, 429,
    5xx, timeouts and network errors are retried; any other answer is a permanent failure.
    Keep `timeout` well under the worker's lease, or a slow receiver gets the message twice.
    One connection pool serves all threads, made on first use.
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        url, body, headers = _request(message)
        self.send(url, body, headers)

    def send(self, url: str, body: bytes, headers: httpx.Headers) -> httpx.Response:
        """POST `body` to `url`: the 2xx response, or the failure's class as above."""
        try:
            response = self._http().post(url, content=body, headers=headers)
        except httpx.TimeoutException as error:
            raise DeliveryFailed(f"POST {url} timed out after {self.timeout} s") from error
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"POST {url} failed: {error!r}") from error
        if response.is_success:
            return response
        answer = f"POST {url} answered {response.status_code} {response.reason_phrase}"
        detail = " ".join(response.text.split())[:300]
        if detail:
            answer = f"{answer}: {detail}"
        if response.status_code in RETRIED_STATUSES or response.is_server_error:
            raise DeliveryFailed(answer)
        raise PermanentFailure(
            f"{answer} (not retried: fix the receiver or the request, then requeue)"
        )

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout)
            return self._client


def _request(message: Message) -> tuple[str, bytes, httpx.Headers]:
    payload = message.payload
    url = payload.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise PermanentFailure(
            f"http_post payload needs a 'url' starting with http:// or https://, got {url!r}"
        )
    text = payload.get("text")
    if "body" not in payload and not isinstance(text, str):
        raise PermanentFailure(
            "http_post payload needs a 'body' (any JSON value) or a 'text' (a string) to POST"
        )
    extra = payload.get("headers", {})
    if not isinstance(extra, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
    ):
        raise PermanentFailure("http_post payload 'headers' must map header names to strings")
    headers = httpx.Headers({"Content-Type": "application/json"})
    headers.update(extra)
    headers["Idempotency-Key"] = message.idempotency_key
    if isinstance(text, str):
        return url, text.encode(), headers
    return url, jsontext.to_bytes(payload["body"]), headers


http_post = HttpPost()
"""The `http_post` kind: see `HttpPost`."""

DEFAULT_HANDLERS: Mapping[str, Handler] = {"http_post": http_post}
"""The handlers a `Worker` runs unless it is given its own."""
