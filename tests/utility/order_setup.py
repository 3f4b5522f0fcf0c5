"""Connection orders for the desk's tests: taken as the Beckn face takes them (`orders.take`),
with the names of the Connections guide's examples, and the outbox read back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.orders import OrderEvent
from gridshare.store.tables.outbox import OutboxItem
from gridshare.utility import orders

BAP = "bap.example.org"


def new_order(transaction_id: str = "txn-1", **overrides: Any) -> orders.NewOrder:
    """An order as the Connections guide's confirm example places it."""
    values: dict[str, Any] = {
        "channel": "beckn",
        "requester": BAP,
        "transaction_id": transaction_id,
        "item_id": "new-resi-connection",
        "item_name": "New Residential Connection",
        "customer_name": "Jonathan Park",
        "email": "jonathan.park@example.com",
        "phone": "+14155553333",
        "address": "910 Pinecrest Blvd, San Francisco, CA",
        "gps": "37.774921,-122.419424",
        "total": Decimal("200.00"),
        "currency": "USD",
        "document": {"provider": {"id": "sf_electric_authority"}},
        "reply_to": {"bap_id": BAP, "bap_uri": "https://bap.example.org/beckn"},
    }
    values.update(overrides)
    return orders.NewOrder(**values)


def place(engine: Engine, transaction_id: str = "txn-1", **overrides: Any) -> str:
    """Take an order in its own committed transaction; its id."""
    with transaction(session_factory(engine)) as session:
        order, _ = orders.take(session, new_order(transaction_id, **overrides))
        return order.id


def move(engine: Engine, order_id: str, to: str, actor: str = "staff:setup") -> None:
    """Advance an order in its own committed transaction."""
    with transaction(session_factory(engine)) as session:
        order = orders.find(session, order_id)
        assert order is not None
        orders.advance(session, order, to, actor=actor)


def outbox_items(engine: Engine) -> list[OutboxItem]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def history(engine: Engine, order_id: str) -> list[OrderEvent]:
    with session_factory(engine)() as session:
        return orders.events(session, order_id)


def status(engine: Engine, order_id: str) -> str:
    with session_factory(engine)() as session:
        order = orders.find(session, order_id)
        assert order is not None
        return order.status
