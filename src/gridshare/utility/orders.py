"""Connection orders (Beckn / DEG Connections guide v1.1, "Taxonomy": connection-status): how an
order is taken, moved along by the connection desk, cancelled and rated.

The status follows

    PENDING -> IN_PROGRESS -> COMPLETED
       |            |--------> FAILED
       |------------+--------> CANCELLED
       `---------------------> FAILED

and every change is an `OrderEvent`. A change the desk makes is announced to the requester: an
outbox item of kind `order_event` in the same transaction, delivered by the channel's handler
(for Beckn an unsolicited `on_status`). A change the requester asked for itself (a Beckn
`cancel`) is answered on its channel instead, so it is not announced twice.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridshare.jobs import outbox
from gridshare.store.db import utcnow
from gridshare.store.tables.orders import ConnectionOrder, OrderEvent, OrderRating

log = logging.getLogger(__name__)

PENDING: Final = "PENDING"
IN_PROGRESS: Final = "IN_PROGRESS"
COMPLETED: Final = "COMPLETED"
FAILED: Final = "FAILED"
CANCELLED: Final = "CANCELLED"
STATUSES: Final = (PENDING, IN_PROGRESS, COMPLETED, FAILED, CANCELLED)
NEXT: Final[Mapping[str, tuple[str, ...]]] = {
    PENDING: (IN_PROGRESS, FAILED, CANCELLED),
    IN_PROGRESS: (COMPLETED, FAILED, CANCELLED),
    COMPLETED: (),
    FAILED: (),
    CANCELLED: (),
}
"""The statuses each status may move to; the last three are final."""
EVENT_KIND: Final = "order_event"
"""The outbox kind announcing a desk change to the requester (payload: order and event ids)."""
DETAIL_MAX: Final = 20
"""How many connection details (meter id, consumer number, ...) an order keeps."""

_ID_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Moment:
    """An order as one change left it: its status, when, and its connection details then."""

    status: str
    at: datetime
    details: dict[str, Any]


class OrderError(ValueError):
    """A change the order does not allow; the message says which changes it does."""


@dataclass(frozen=True)
class NewOrder:
    """What an order is taken with."""

    channel: str
    requester: str
    transaction_id: str
    item_id: str
    item_name: str
    customer_name: str
    email: str | None
    phone: str | None
    address: str
    gps: str | None
    total: Decimal
    currency: str
    document: dict[str, Any]
    reply_to: dict[str, Any]
    submission_id: str | None = None
    """The documents submitted for the order (`order_documents`), if any."""


def take(
    session: Session, new: NewOrder, now: datetime | None = None
) -> tuple[ConnectionOrder, bool]:
    """The order for `new`'s transaction: made PENDING now (True), or the one its requester
    already placed in that transaction (False). One transaction never holds two orders."""
    existing = find_in_transaction(session, new.channel, new.requester, new.transaction_id)
    if existing is not None:
        return existing, False
    now = now or utcnow()
    order = ConnectionOrder(
        id=_new_id(),
        created=now,
        updated=now,
        status=PENDING,
        channel=new.channel,
        requester=new.requester,
        transaction_id=new.transaction_id,
        item_id=new.item_id,
        item_name=new.item_name,
        customer_name=new.customer_name,
        email=new.email,
        phone=new.phone,
        address=new.address,
        gps=new.gps,
        total=new.total,
        currency=new.currency,
        document=new.document,
        reply_to=new.reply_to,
        details={},
        submission_id=new.submission_id,
    )
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:  # the same transaction confirmed concurrently: the first one stands
        placed = find_in_transaction(session, new.channel, new.requester, new.transaction_id)
        if placed is None:
            raise
        return placed, False
    session.add(
        OrderEvent(order_id=order.id, at=now, to_status=PENDING, actor=new.requester, reason=None)
    )
    log.info("order %s taken from %s (%s, %s)", order.id, new.requester, new.item_id, new.channel)
    return order, True


def find(
    session: Session, order_id: str, requester: str | None = None, *, lock: bool = False
) -> ConnectionOrder | None:
    """The order `order_id`; with `requester`, only if that requester placed it. With `lock`, the
    row is locked until the transaction ends (on PostgreSQL), so two changes cannot both pass
    the check of the moves allowed."""
    order = session.get(ConnectionOrder, order_id, with_for_update=lock)
    if order is None or (requester is not None and order.requester != requester):
        return None
    return order


def find_in_transaction(
    session: Session, channel: str, requester: str, transaction_id: str
) -> ConnectionOrder | None:
    """The order `requester` placed in its transaction `transaction_id`, if any."""
    query = select(ConnectionOrder).where(
        ConnectionOrder.channel == channel,
        ConnectionOrder.requester == requester,
        ConnectionOrder.transaction_id == transaction_id,
    )
    return session.scalars(query).first()


def listing(session: Session, status: str | None = None, limit: int = 100) -> list[ConnectionOrder]:
    """Orders newest first, optionally of one status."""
    query = select(ConnectionOrder).order_by(ConnectionOrder.created.desc(), ConnectionOrder.id)
    if status is not None:
        query = query.where(ConnectionOrder.status == _status(status))
    return list(session.scalars(query.limit(limit)))


def events(session: Session, order_id: str) -> list[OrderEvent]:
    """The order's history, oldest first."""
    query = select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
    return list(session.scalars(query))


def advance(
    session: Session,
    order: ConnectionOrder,
    to: str,
    *,
    actor: str,
    reason: str | None = None,
    details: Mapping[str, str] | None = None,
    announce: bool = True,
    cancellation: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> OrderEvent:
    """Move `order` to status `to`, recording who and why; `details` are added to the order's
    connection details. Announced to the requester unless `announce` is False (the requester
    asked for the change itself). Raises OrderError for a move the status does not allow."""
    to = _status(to)
    allowed = NEXT[order.status]
    if to not in allowed:
        choices = ", ".join(allowed) if allowed else f"none: {order.status} is final"
        raise OrderError(f"order {order.id} is {order.status}; it can move to {choices}")
    if to == CANCELLED and cancellation is None:
        cancellation = {"cancelled_by": "PROVIDER", "reason": reason}
    merged = _merged(order.details, details) if details else None
    now = now or utcnow()
    event = OrderEvent(
        order_id=order.id,
        at=now,
        from_status=order.status,
        to_status=to,
        actor=actor,
        reason=reason,
        details=dict(details or {}),
    )
    order.status = to
    order.updated = now
    if merged is not None:
        order.details = merged
    if cancellation is not None:
        order.cancellation = {**cancellation, "time": now.isoformat()}
    session.add(event)
    session.flush()
    if announce:
        outbox.enqueue(
            session,
            EVENT_KIND,
            {"order_id": order.id, "event_id": event.id, "channel": order.channel},
            f"{EVENT_KIND}:{event.id}",
        )
    log.info("order %s: %s -> %s by %s", order.id, event.from_status, to, actor)
    return event


def amend(
    session: Session,
    order: ConnectionOrder,
    *,
    actor: str,
    what: str,
    document: dict[str, Any],
    contact: Mapping[str, str | None],
    now: datetime | None = None,
) -> OrderEvent:
    """Change the customer's contact or billing details of a PENDING order (the requester asked:
    not announced). `contact` may set customer_name, email, phone, address and gps."""
    if order.status != PENDING:
        raise OrderError(f"order {order.id} is {order.status}; only a PENDING order can be changed")
    unknown = set(contact) - {"customer_name", "email", "phone", "address", "gps"}
    if unknown:
        raise ValueError(f"cannot amend {sorted(unknown)}")
    now = now or utcnow()
    for name, value in contact.items():
        setattr(order, name, value)
    order.document = document
    order.updated = now
    event = OrderEvent(
        order_id=order.id,
        at=now,
        from_status=order.status,
        to_status=order.status,
        actor=actor,
        reason=f"changed: {what}",
    )
    session.add(event)
    session.flush()
    return event


def rate(
    session: Session, order: ConnectionOrder, category: str, target_id: str, value: str
) -> OrderRating:
    """Keep a rating of the order (or of its fulfillment, provider, ...)."""
    rating = OrderRating(order_id=order.id, category=category, target_id=target_id, value=value)
    session.add(rating)
    session.flush()
    return rating


def as_of(session: Session, event: OrderEvent) -> Moment:
    """The order as `event` left it (an announcement of an earlier change shows that, not what
    came after)."""
    details: dict[str, Any] = {}
    for earlier in events(session, event.order_id):
        if earlier.id > event.id:
            break
        details |= earlier.details or {}
    return Moment(event.to_status, event.at, details)


def ratings(session: Session, order_id: str) -> list[OrderRating]:
    """The order's ratings, oldest first."""
    query = select(OrderRating).where(OrderRating.order_id == order_id).order_by(OrderRating.id)
    return list(session.scalars(query))


def _status(value: str) -> str:
    status = value.strip().upper().replace("-", "_").replace(" ", "_")
    if status not in STATUSES:
        raise OrderError(f"{value!r} is not a connection status; use one of {', '.join(STATUSES)}")
    return status


def _merged(current: Mapping[str, Any], details: Mapping[str, str]) -> dict[str, Any]:
    merged = {**current, **details}
    if len(merged) > DETAIL_MAX:
        raise OrderError(f"an order keeps at most {DETAIL_MAX} connection details")
    return merged


def _new_id() -> str:
    """`CO-` and 10 characters without look-alikes (0/O, 1/I): easy to read over the phone."""
    return "CO-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))
