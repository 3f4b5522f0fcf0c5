"""The worker sends our callbacks: signed (BECKN-006, checked here with PyNaCl), to
`{bap_uri}/on_{action}`, kept in the audit trail; dropped after the request's ttl; a desk change
announced as an unsolicited on_status with a stable fresh message_id (core 1.1.0 Context.yaml,
Fulfillment.state)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gridshare.app import create_app
from gridshare.beckn import keys
from gridshare.config import Settings
from gridshare.deliveries import handlers
from gridshare.jobs.worker import Worker
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.beckn import BecknMessage
from gridshare.store.tables.outbox import OutboxItem
from gridshare.utility import orders
from tests.beckn import schema
from tests.beckn.bap import Bap, Receiver, receiving
from tests.beckn.test_endpoint import order_message, post


@pytest.fixture
def world(
    settings: Settings, engine: Engine, tmp_path: Path
) -> Iterator[tuple[TestClient, Bap, Receiver, Worker, Settings]]:
    def published() -> dict[str, str]:
        with transaction(session_factory(engine)) as session:
            return {k.unique_key_id: k.signing_public_key for k in keys.public_keys(session)}

    with receiving(published) as (receiver, port):
        bap = Bap(callback_url=f"http://127.0.0.1:{port}/bap")
        registry = bap.write_registry(tmp_path / "registry.json")
        configured = settings.model_copy(update={"beckn_registry_file": registry})
        worker = Worker(engine, configured, handlers(configured, engine))
        with TestClient(create_app(configured, engine)) as http:
            yield http, bap, receiver, worker, configured


@pytest.mark.req("BECKN-006-SIGN", "ONIX-BPP-4", "CORE-SCHEMA")
def test_a_callback_is_signed_sent_and_kept(
    world: tuple[TestClient, Bap, Receiver, Worker, Settings], engine: Engine
) -> None:
    http, bap, receiver, worker, settings = world
    answer = post(http, bap, "confirm", order_message(settings))
    assert answer.status_code == 200
    assert worker.run_once() == 1
    callback = receiver.next()
    assert callback.path == "/bap/on_confirm"
    assert callback.signer == settings.subscriber_id
    schema.assert_valid_message("on_confirm", callback.body)
    with session_factory(engine)() as session:
        sent = session.scalars(select(BecknMessage).where(BecknMessage.direction == "out")).one()
        item = session.scalars(select(OutboxItem)).one()
    assert item.status == "done"
    assert sent.action == "on_confirm" and sent.http_status == 200
    assert sent.peer_url == f"{bap.callback_url}/on_confirm"
    assert sent.authorization is not None and sent.authorization.startswith("Signature keyId=")
    assert schema.message_errors("on_confirm", json.loads(sent.body)) == []


@pytest.mark.req("ONIX-BPP-5", "CONN-LIFECYCLE")
def test_a_desk_change_is_announced_with_one_message_id_per_change(
    world: tuple[TestClient, Bap, Receiver, Worker, Settings], engine: Engine
) -> None:
    http, bap, receiver, worker, settings = world
    post(http, bap, "confirm", order_message(settings))
    worker.run_once()
    confirmed = receiver.next().body
    order_id = confirmed["message"]["order"]["id"]
    with transaction(session_factory(engine)) as session:
        order = orders.find(session, order_id)
        assert order is not None
        orders.advance(session, order, orders.IN_PROGRESS, actor="staff:ana", reason="crew booked")
        orders.advance(
            session,
            order,
            orders.COMPLETED,
            actor="staff:ana",
            details={"meter_id": "M-1001", "consumer_number": "DGE-42"},
        )
    assert worker.run_once() == 2
    first, second = receiver.next(), receiver.next()
    states = []
    for callback in (first, second):
        schema.assert_valid_message("on_status", callback.body)
        context = callback.body["context"]
        assert context["transaction_id"] == confirmed["context"]["transaction_id"]
        assert context["message_id"] != confirmed["context"]["message_id"]
        states.append(
            callback.body["message"]["order"]["fulfillments"][0]["state"]["descriptor"]["code"]
        )
    assert states == ["IN_PROGRESS", "COMPLETED"]
    assert first.body["context"]["message_id"] != second.body["context"]["message_id"]
    details = second.body["message"]["order"]["items"][0]["tags"][-1]
    assert details["descriptor"]["code"] == "connection_details"
    assert second.body["message"]["order"]["status"] == "COMPLETE"


def test_a_retried_announcement_keeps_its_message_id(
    world: tuple[TestClient, Bap, Receiver, Worker, Settings], engine: Engine
) -> None:
    http, bap, receiver, worker, settings = world
    post(http, bap, "confirm", order_message(settings))
    worker.run_once()
    order_id = receiver.next().body["message"]["order"]["id"]
    with transaction(session_factory(engine)) as session:
        order = orders.find(session, order_id)
        assert order is not None
        orders.advance(session, order, orders.FAILED, actor="staff:ana", reason="no capacity")
    sent: list[dict[str, Any]] = []
    for _ in range(2):  # deliver, then make the worker deliver the same item again
        worker.run_once()
        sent.append(receiver.next().body)
        with transaction(session_factory(engine)) as session:
            for item in session.scalars(select(OutboxItem).where(OutboxItem.kind == "order_event")):
                item.status, item.next_attempt_at = "pending", utcnow()
    assert sent[0]["context"]["message_id"] == sent[1]["context"]["message_id"]


@pytest.mark.req("ONIX-BPP-6")
def test_a_callback_after_the_ttl_is_dropped(
    world: tuple[TestClient, Bap, Receiver, Worker, Settings], engine: Engine
) -> None:
    """Beckn-ONIX, BPP mode: drop any response after the ttl."""
    http, bap, receiver, worker, _ = world
    post(http, bap, "search", {"intent": {}}, ttl="PT1S")
    with transaction(session_factory(engine)) as session:
        item = session.scalars(select(OutboxItem)).one()
        item.payload = {**item.payload, "expires_at": (utcnow() - timedelta(seconds=1)).isoformat()}
    worker.run_once()
    with session_factory(engine)() as session:
        item = session.scalars(select(OutboxItem)).one()
    assert item.status == "dead" and "ttl ended" in (item.last_error or "")
    assert receiver.received.empty()


def test_a_nack_from_the_bap_is_final(
    world: tuple[TestClient, Bap, Receiver, Worker, Settings], engine: Engine
) -> None:
    http, bap, receiver, worker, _ = world
    receiver.keys = dict  # the BAP now knows no key of ours: it answers 401 and a NACK
    post(http, bap, "search", {"intent": {}})
    worker.run_once()
    with session_factory(engine)() as session:
        item = session.scalars(select(OutboxItem)).one()
        sent = session.scalars(select(BecknMessage).where(BecknMessage.direction == "out")).one()
    assert item.status == "dead" and "401" in (item.last_error or "")
    assert sent.http_status is None and "401" in (sent.answer or "")
    assert receiver.refused
