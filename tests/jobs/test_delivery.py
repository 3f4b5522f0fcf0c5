"""The `http_post` handler against a real local receiver: what it sends, and which answers are
retried (408, 429, 5xx, network errors, timeouts) or permanent (other 4xx, malformed payloads)."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest

from gridshare.jobs.delivery import (
    DEFAULT_HANDLERS,
    DeliveryFailed,
    HttpPost,
    Message,
    PermanentFailure,
    http_post,
)
from tests.jobs.receiver import Receiver


def _message(payload: dict[str, Any], key: str = "cb-1") -> Message:
    return Message(id=1, kind="http_post", idempotency_key=key, payload=payload, attempt=1)


def test_posts_the_body_as_json_with_the_idempotency_key(receiver: Receiver) -> None:
    body = {"context": {"action": "on_confirm"}, "amount": 12.5, "items": [1, None, "x"]}
    headers = {"Authorization": "Signature abc", "Idempotency-Key": "forged"}
    http_post(_message({"url": f"{receiver.url}/on_confirm", "body": body, "headers": headers}))
    [request] = receiver.received
    assert request.path == "/on_confirm"
    assert request.body == body
    assert request.idempotency_key == "cb-1"
    assert request.content_type == "application/json"
    assert request.headers["Authorization"] == "Signature abc"


def test_posts_text_as_it_is_with_its_content_type(receiver: Receiver) -> None:
    text = "<BatchList/>"
    headers = {"Content-Type": "application/xml"}
    http_post(_message({"url": receiver.url, "text": text, "headers": headers}))
    [request] = receiver.received
    assert request.body == text and request.content_type == "application/xml"


def test_http_post_is_a_default_handler() -> None:
    assert DEFAULT_HANDLERS["http_post"] is http_post


@pytest.mark.parametrize("status", [201, 204])
def test_any_2xx_is_success(receiver: Receiver, status: int) -> None:
    receiver.answer(status)
    http_post(_message({"url": receiver.url, "body": None}))
    assert len(receiver.received) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_these_answers_are_retried(receiver: Receiver, status: int) -> None:
    receiver.answer(status)
    with pytest.raises(DeliveryFailed, match=f"answered {status}") as failure:
        http_post(_message({"url": receiver.url, "body": {}}))
    assert not isinstance(failure.value, PermanentFailure)


@pytest.mark.parametrize("status", [301, 400, 401, 404, 410, 422])
def test_other_answers_are_permanent(receiver: Receiver, status: int) -> None:
    receiver.answer(status)
    with pytest.raises(PermanentFailure, match=f"answered {status}.*not retried"):
        http_post(_message({"url": receiver.url, "body": {}}))


def test_a_refused_connection_is_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryFailed, match=f"POST http://127.0.0.1:{port}/ failed") as failure:
        http_post(_message({"url": f"http://127.0.0.1:{port}/", "body": {}}))
    assert not isinstance(failure.value, PermanentFailure)


def test_a_timeout_is_retried() -> None:
    stalling = Receiver(hold_first=True).start()
    try:
        with pytest.raises(DeliveryFailed, match=re.escape("timed out after 0.2 s")) as failure:
            HttpPost(timeout=0.2)(_message({"url": stalling.url, "body": {}}))
        assert not isinstance(failure.value, PermanentFailure)
    finally:
        stalling.stop()


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"body": {}}, "needs a 'url'"),
        ({"url": "ftp://example.test/", "body": {}}, "needs a 'url'"),
        ({"url": "http://example.test/"}, "needs a 'body'"),
        ({"url": "http://example.test/", "text": 3}, "or a 'text'"),
        ({"url": "http://example.test/", "body": {}, "headers": {"X": 1}}, "'headers' must"),
        ({"url": "http://example.test/", "body": {}, "headers": ["X"]}, "'headers' must"),
    ],
)
def test_a_malformed_payload_is_permanent(payload: dict[str, Any], problem: str) -> None:
    with pytest.raises(PermanentFailure, match=problem):
        http_post(_message(payload))
