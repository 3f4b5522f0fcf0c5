"""Connection orders (`utility.orders`): taken once per requester transaction, moved along the
connection-status of the DEG Connections guide v1.1 ("Taxonomy and Layer 2 Configuration":
PENDING, IN_PROGRESS, COMPLETED, CANCELLED, FAILED), every change an event, and a desk change
announced through the outbox (DESIGN rule 5) in the same transaction."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.orders import ConnectionOrder, OrderEvent, OrderRating
from gridshare.utility import orders
from tests.utility.order_setup import (
    BAP,
    history,
    move,
    new_order,
    outbox_items,
    place,
    status,
)

ROUTE_TO: dict[str, tuple[str, ...]] = {
    orders.PENDING: (),
    orders.IN_PROGRESS: (orders.IN_PROGRESS,),
    orders.COMPLETED: (orders.IN_PROGRESS, orders.COMPLETED),
    orders.FAILED: (orders.FAILED,),
    orders.CANCELLED: (orders.CANCELLED,),
}
"""How an order taken PENDING reaches each status."""


def _count(engine: Engine, table: type[ConnectionOrder] | type[OrderEvent]) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_take_makes_a_pending_order_with_its_first_event(engine: Engine) -> None:
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    with transaction(session_factory(engine)) as session:
        order, made = orders.take(session, new_order(), now=at)
        order_id = order.id
    assert made
    assert re.fullmatch(r"CO-[2-9A-HJ-NP-Z]{10}", order_id)
    with session_factory(engine)() as session:
        stored = session.get_one(ConnectionOrder, order_id)
        assert (stored.status, stored.requester, stored.details) == (orders.PENDING, BAP, {})
        assert stored.created == at and stored.cancellation is None
    [event] = history(engine, order_id)
    assert (event.from_status, event.to_status, event.actor) == (None, orders.PENDING, BAP)
    assert outbox_items(engine) == []


def test_take_is_idempotent_per_requester_transaction(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        first, made = orders.take(session, new_order("txn-1"))
        again, made_again = orders.take(session, new_order("txn-1", customer_name="Someone"))
        assert made and not made_again and again is first
    with transaction(session_factory(engine)) as session:
        later, made_later = orders.take(session, new_order("txn-1"))
        assert not made_later and later.id == first.id and later.customer_name == "Jonathan Park"
        other_txn, made_other = orders.take(session, new_order("txn-2"))
        other_bap, made_bap = orders.take(session, new_order("txn-1", requester="bap.other.org"))
        assert made_other and made_bap
        assert len({first.id, other_txn.id, other_bap.id}) == 3
    assert _count(engine, ConnectionOrder) == 3
    assert _count(engine, OrderEvent) == 3


@pytest.mark.parametrize(("start", "to"), list(itertools.product(orders.STATUSES, orders.STATUSES)))
def test_only_the_moves_of_the_status_diagram_are_allowed(
    engine: Engine, start: str, to: str
) -> None:
    order_id = place(engine)
    for step in ROUTE_TO[start]:
        move(engine, order_id, step)
    before_events, before_outbox = len(history(engine, order_id)), len(outbox_items(engine))
    allowed = to in orders.NEXT[start]
    with transaction(session_factory(engine)) as session:
        order = session.get_one(ConnectionOrder, order_id)
        if allowed:
            event = orders.advance(session, order, to, actor="staff:ana", reason="why")
            assert (event.from_status, event.to_status, event.actor) == (start, to, "staff:ana")
        else:
            with pytest.raises(orders.OrderError, match=f"is {start}; it can move to") as refused:
                orders.advance(session, order, to, actor="staff:ana")
            for choice in orders.NEXT[start] or ("is final",):
                assert choice in str(refused.value)
    assert status(engine, order_id) == (to if allowed else start)
    assert len(history(engine, order_id)) == before_events + allowed
    assert len(outbox_items(engine)) == before_outbox + allowed


def test_completed_failed_and_cancelled_are_final() -> None:
    assert {s for s, nexts in orders.NEXT.items() if not nexts} == {
        orders.COMPLETED,
        orders.FAILED,
        orders.CANCELLED,
    }
    assert set(orders.NEXT) == set(orders.STATUSES)


def test_a_desk_change_is_announced_by_exactly_one_outbox_item(engine: Engine) -> None:
    order_id = place(engine)
    with transaction(session_factory(engine)) as session:
        order = session.get_one(ConnectionOrder, order_id)
        event = orders.advance(session, order, "in-progress", actor="staff:ana")
        event_id = event.id
    [item] = outbox_items(engine)
    assert item.kind == orders.EVENT_KIND == "order_event"
    assert item.payload == {"order_id": order_id, "event_id": event_id, "channel": "beckn"}
    assert item.idempotency_key == f"order_event:{event_id}"
    assert item.status == "pending"


def test_a_change_the_requester_asked_for_is_not_announced(engine: Engine) -> None:
    order_id = place(engine)
    with transaction(session_factory(engine)) as session:
        order = session.get_one(ConnectionOrder, order_id)
        orders.advance(
            session,
            order,
            orders.CANCELLED,
            actor=BAP,
            announce=False,
            cancellation={"cancelled_by": "CONSUMER", "reason": "moved away"},
        )
    assert outbox_items(engine) == []
    assert status(engine, order_id) == orders.CANCELLED


def test_a_rolled_back_change_leaves_no_event_and_no_outbox_item(engine: Engine) -> None:
    order_id = place(engine)
    factory = session_factory(engine)
    with factory() as session:
        order = session.get_one(ConnectionOrder, order_id)
        orders.advance(session, order, orders.IN_PROGRESS, actor="staff:ana")
        session.rollback()
    assert status(engine, order_id) == orders.PENDING
    assert len(history(engine, order_id)) == 1
    assert outbox_items(engine) == []


def test_details_are_merged_into_the_orders_connection_details(engine: Engine) -> None:
    order_id = place(engine)
    with transaction(session_factory(engine)) as session:
        order = session.get_one(ConnectionOrder, order_id)
        orders.advance(
            session, order, orders.IN_PROGRESS, actor="staff:ana", details={"meter_id": "M-1"}
        )
    with transaction(session_factory(engine)) as session:
        order = session.get_one(ConnectionOrder, order_id)
        orders.advance(
            session,
            order,
            orders.COMPLETED,
            actor="staff:ana",
            details={"meter_id": "M-2", "consumer_number": "SFEA-928384"},
        )
    with session_factory(engine)() as session:
        stored = session.get_one(ConnectionOrder, order_id)
        assert stored.details == {"meter_id": "M-2", "consumer_number": "SFEA-928384"}


def test_an_order_keeps_a_bounded_number_of_details(engine: Engine) -> None:
    order_id = place(engine)
    too_many = {f"code_{n}": "x" for n in range(orders.DETAIL_MAX + 1)}
    with session_factory(engine)() as session:
        order = session.get_one(ConnectionOrder, order_id)
        with pytest.raises(orders.OrderError, match=f"at most {orders.DETAIL_MAX}"):
            orders.advance(session, order, orders.IN_PROGRESS, actor="staff:ana", details=too_many)


def test_statuses_are_read_leniently_and_unknown_ones_refused(engine: Engine) -> None:
    order_id = place(engine)
    with transaction(session_factory(engine)) as session:
        order = session.get_one(ConnectionOrder, order_id)
        with pytest.raises(orders.OrderError, match="not a connection status; use one of PENDING"):
            orders.advance(session, order, "ON_HOLD", actor="staff:ana")
        assert orders.advance(session, order, " in progress", actor="staff:ana").to_status == (
            orders.IN_PROGRESS
        )
    with session_factory(engine)() as session, pytest.raises(orders.OrderError):
        orders.listing(session, "shipped")


def test_a_provider_cancellation_records_who_when_and_why(engine: Engine) -> None:
    order_id = place(engine)
    at = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    with transaction(session_factory(engine)) as session:
        order = session.get_one(ConnectionOrder, order_id)
        orders.advance(
            session, order, orders.CANCELLED, actor="staff:ana", reason="site unsafe", now=at
        )
    with session_factory(engine)() as session:
        stored = session.get_one(ConnectionOrder, order_id)
        assert stored.cancellation == {
            "cancelled_by": "PROVIDER",
            "reason": "site unsafe",
            "time": at.isoformat(),
        }
        assert stored.updated == at


def test_listing_is_newest_first_and_filters_by_status(engine: Engine) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ids = []
    for n in range(3):
        with transaction(session_factory(engine)) as session:
            order, _ = orders.take(session, new_order(f"txn-{n}"), now=start + timedelta(days=n))
            ids.append(order.id)
    move(engine, ids[1], orders.IN_PROGRESS)
    with session_factory(engine)() as session:
        assert [o.id for o in orders.listing(session)] == ids[::-1]
        assert [o.id for o in orders.listing(session, limit=2)] == [ids[2], ids[1]]
        assert [o.id for o in orders.listing(session, "pending")] == [ids[2], ids[0]]
        assert [o.id for o in orders.listing(session, orders.IN_PROGRESS)] == [ids[1]]


def test_find_keeps_an_order_to_its_requester(engine: Engine) -> None:
    order_id = place(engine)
    with session_factory(engine)() as session:
        assert orders.find(session, order_id) is not None
        assert orders.find(session, order_id, BAP) is not None
        assert orders.find(session, order_id, "bap.other.org") is None
        assert orders.find(session, "CO-NOSUCHORDR") is None


def test_only_a_pending_orders_contact_can_be_amended(engine: Engine) -> None:
    order_id = place(engine)
    with transaction(session_factory(engine)) as session:
        order = session.get_one(ConnectionOrder, order_id)
        event = orders.amend(
            session,
            order,
            actor=BAP,
            what="billing",
            document={"billing": {"name": "J. Park"}},
            contact={"customer_name": "J. Park"},
        )
        assert (event.from_status, event.to_status) == (orders.PENDING, orders.PENDING)
        with pytest.raises(ValueError, match="cannot amend"):
            orders.amend(session, order, actor=BAP, what="x", document={}, contact={"total": "1"})
    move(engine, order_id, orders.IN_PROGRESS)
    with session_factory(engine)() as session:
        order = session.get_one(ConnectionOrder, order_id)
        assert order.customer_name == "J. Park"
        with pytest.raises(orders.OrderError, match="only a PENDING order"):
            orders.amend(session, order, actor=BAP, what="x", document={}, contact={})
    assert len(outbox_items(engine)) == 1  # the desk's move; an amendment is not announced


def test_ratings_are_kept_with_the_order(engine: Engine) -> None:
    order_id = place(engine)
    with transaction(session_factory(engine)) as session:
        order = session.get_one(ConnectionOrder, order_id)
        orders.rate(session, order, "Fulfillment", "onsite", "5")
    with session_factory(engine)() as session:
        [rating] = session.scalars(select(OrderRating)).all()
        assert (rating.order_id, rating.category, rating.target_id, rating.value) == (
            order_id,
            "Fulfillment",
            "onsite",
            "5",
        )
