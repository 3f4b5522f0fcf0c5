"""What the BPP does for each Beckn action (core 1.1.0 transaction and meta APIs; DEG Connections
guide v1.1; BECKN-005 codes), each handler called directly with an `actions.Request`. The
request's signing, context checks, NACKs and callbacks are tested through `POST /beckn/{action}`
in test_endpoint.py; these are the handlers' own cases that the endpoint tests leave out."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gridshare.beckn import actions
from gridshare.beckn import catalog as catalogs
from gridshare.beckn import context as contexts
from gridshare.beckn.errors import BecknError
from gridshare.config import Settings
from gridshare.store.db import session_factory
from gridshare.store.tables.orders import ConnectionOrder
from gridshare.store.tables.outbox import OutboxItem
from gridshare.utility import orders
from tests.beckn import schema
from tests.beckn.bap import Bap
from tests.beckn.test_endpoint import order_message


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session


@pytest.fixture
def bap() -> Bap:
    return Bap(callback_url="http://127.0.0.1:9/bap")


def request(
    session: Session,
    settings: Settings,
    bap: Bap,
    action: str,
    message: dict[str, Any],
    transaction_id: str | None = None,
) -> actions.Request:
    """A request from `bap` as the endpoint hands it to a handler: its context validated."""
    context = contexts.validate_context(bap.context(action, transaction_id), action, settings)
    return actions.Request(session, settings, catalogs.load(settings), context, message)


def handle(
    session: Session,
    settings: Settings,
    bap: Bap,
    action: str,
    message: dict[str, Any],
    transaction_id: str | None = None,
) -> dict[str, Any]:
    """The handler's answer, checked as the `message` of a valid core 1.1.0 callback."""
    sent = request(session, settings, bap, action, message, transaction_id)
    answer = actions.HANDLERS[action](sent)
    body = {
        "context": contexts.callback_context(sent.context.raw, settings, action),
        "message": answer,
    }
    schema.assert_valid_message(contexts.answer_action(action), body)
    return answer


def refused(
    session: Session,
    settings: Settings,
    bap: Bap,
    action: str,
    message: dict[str, Any],
    transaction_id: str | None = None,
) -> BecknError:
    sent = request(session, settings, bap, action, message, transaction_id)
    with pytest.raises(BecknError) as raised:
        actions.HANDLERS[action](sent)
    return raised.value


def confirmed(
    session: Session, settings: Settings, bap: Bap, transaction_id: str | None = None
) -> ConnectionOrder:
    """An order placed by a confirm of the test order (`order_message`)."""
    answer = handle(session, settings, bap, "confirm", order_message(settings), transaction_id)
    order = session.get(ConnectionOrder, answer["order"]["id"])
    assert order is not None
    return order


def moved(session: Session, order: ConnectionOrder, status: str) -> ConnectionOrder:
    """`order` brought by the desk to `status`."""
    if status in (orders.IN_PROGRESS, orders.COMPLETED):
        orders.advance(session, order, orders.IN_PROGRESS, actor="staff:ana")
    if status in (orders.COMPLETED, orders.FAILED, orders.CANCELLED):
        orders.advance(session, order, status, actor="staff:ana", reason="desk")
    assert order.status == status
    return order


def outbox_items(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxItem)) or 0


def test_the_handlers_are_exactly_the_actions_a_bpp_is_sent() -> None:
    """Beckn-ONIX "Requirements for BPP Mode": a BPP accepts search, select, init, confirm,
    status, track, cancel, update, rating and support, and must implement the meta API."""
    assert set(actions.HANDLERS) == contexts.ACTIONS
    assert len(actions.HANDLERS) == 13


# rating


def test_a_rating_outside_a_transaction_with_an_order_is_30014(
    session: Session, settings: Settings, bap: Bap
) -> None:
    """BECKN-005 30014 "Entity to rate not found": ratings are kept for the order of the
    transaction; another transaction of the same BAP holds none, and an empty id names none."""
    transaction_id = str(uuid.uuid4())
    order = confirmed(session, settings, bap, transaction_id)
    rating = {"rating_category": "Order", "id": order.id, "value": "4"}
    error = refused(session, settings, bap, "rating", {"ratings": [rating]})
    assert (error.code, error.path) == ("30014", "message.ratings[0].id")
    unnamed = {**rating, "id": ""}
    error = refused(session, settings, bap, "rating", {"ratings": [unnamed]}, transaction_id)
    assert (error.code, error.path) == ("30014", "message.ratings[0].id")
    assert orders.ratings(session, order.id) == []
    handle(session, settings, bap, "rating", {"ratings": [rating]}, transaction_id)
    [kept] = orders.ratings(session, order.id)
    assert (kept.category, kept.target_id, kept.value) == ("Order", order.id, "4")


@pytest.mark.parametrize("category", ["Customer", "order", None, 5])
def test_a_rating_category_outside_cores_enum_is_30000(
    category: object, session: Session, settings: Settings, bap: Bap
) -> None:
    """core 1.1.0 `Rating.rating_category` is one of Item, Order, Fulfillment, Provider, Agent,
    Support: another value breaks the schema, so the request is malformed (BECKN-005 30000)."""
    transaction_id = str(uuid.uuid4())
    order = confirmed(session, settings, bap, transaction_id)
    rating = {"rating_category": category, "id": order.id, "value": "5"}
    error = refused(session, settings, bap, "rating", {"ratings": [rating]}, transaction_id)
    assert (error.code, error.path) == ("30000", "message.ratings[0].rating_category")


@pytest.mark.parametrize("ratings", [[], {}, None, ["5"]])
def test_ratings_must_be_a_non_empty_array_of_ratings(
    ratings: object, session: Session, settings: Settings, bap: Bap
) -> None:
    """core 1.1.0 /rating: `message.ratings` is an array of `Rating` objects."""
    error = refused(session, settings, bap, "rating", {"ratings": ratings})
    assert error.code == "30000" and error.path is not None
    assert error.path.startswith("message.ratings")


# cancel


@pytest.mark.parametrize("status", [orders.COMPLETED, orders.FAILED])
def test_a_final_order_cannot_be_cancelled(
    status: str, session: Session, settings: Settings, bap: Bap
) -> None:
    """BECKN-005 50001 "Cancellation not possible" (its cancellation policy): the catalog's
    cancellation terms name only PENDING and IN_PROGRESS."""
    order = moved(session, confirmed(session, settings, bap), status)
    error = refused(session, settings, bap, "cancel", {"order_id": order.id})
    assert (error.code, error.path) == ("50001", "message.order_id")
    assert status in error.message
    assert order.status == status and order.cancellation is None


@pytest.mark.parametrize(("status", "share"), [(orders.PENDING, "0"), (orders.IN_PROGRESS, "0.25")])
def test_a_cancel_charges_the_fee_of_the_orders_state(
    status: str, share: str, session: Session, settings: Settings, bap: Bap
) -> None:
    """core `CancellationTerm` {fulfillment_state, cancellation_fee}: the demo catalog cancels a
    PENDING order free and an IN_PROGRESS one for 25 % of the quote. core `Cancellation`:
    cancelled_by CONSUMER, with the reason (an `Option`) chosen from get_cancellation_reasons
    (Generic guide, "Cancel"). The BAP asked for it, so it is answered by on_cancel and not
    announced again as an unsolicited on_status."""
    catalog = catalogs.load(settings)
    term = catalogs.cancellation_term(catalog, orders.IN_PROGRESS)
    assert term is not None and term.fee.percentage == 25
    order = moved(session, confirmed(session, settings, bap), status)
    announced = outbox_items(session)
    reason = catalog.cancellation_reasons[4]
    message = {"order_id": order.id, "cancellation_reason_id": reason.id}
    shown = handle(session, settings, bap, "cancel", message)["order"]
    fee = (order.total * Decimal(share)).quantize(Decimal("0.01"))
    assert Decimal(shown["quote"]["price"]["value"]) == fee
    assert shown["quote"]["price"]["currency"] == "USD"
    assert shown["status"] == "CANCELLED"
    assert shown["fulfillments"][0]["state"]["descriptor"]["code"] == orders.CANCELLED
    assert shown["cancellation"]["cancelled_by"] == "CONSUMER"
    assert shown["cancellation"]["reason"] == {
        "id": reason.id,
        "descriptor": {"name": reason.description},
    }
    session.refresh(order)
    assert order.status == orders.CANCELLED
    assert order.cancellation is not None
    assert Decimal(order.cancellation["fee"]) == fee
    assert order.cancellation["cancelled_by"] == "CONSUMER"
    assert order.cancellation["reason_id"] == reason.id
    assert orders.events(session, order.id)[-1].actor == bap.subscriber_id
    assert outbox_items(session) == announced


def test_a_term_that_requires_a_reason_refuses_a_cancel_without_one(
    session: Session, settings: Settings, bap: Bap
) -> None:
    """core `CancellationTerm.reason_required` ("Indicates whether a reason is required to
    cancel the order"): the demo catalog requires one while IN_PROGRESS (BECKN-005 30011)."""
    order = moved(session, confirmed(session, settings, bap), orders.IN_PROGRESS)
    error = refused(session, settings, bap, "cancel", {"order_id": order.id})
    assert (error.code, error.path) == ("30011", "message.cancellation_reason_id")
    assert "needs a reason" in error.message
    assert order.status == orders.IN_PROGRESS and order.cancellation is None


def test_a_cancellation_reason_id_must_be_a_string(
    session: Session, settings: Settings, bap: Bap
) -> None:
    """core 1.1.0 /cancel: `cancellation_reason_id` is an `Option.id`, a string (30000)."""
    order = confirmed(session, settings, bap)
    message = {"order_id": order.id, "cancellation_reason_id": 1}
    error = refused(session, settings, bap, "cancel", message)
    assert (error.code, error.path) == ("30000", "message.cancellation_reason_id")


# update


@pytest.mark.parametrize("status", [orders.IN_PROGRESS, orders.COMPLETED, orders.CANCELLED])
def test_only_a_pending_order_can_be_updated(
    status: str, session: Session, settings: Settings, bap: Bap
) -> None:
    """BECKN-005 50002 "Updation not possible" (its updation policy): once the work has begun,
    the billing and site are no longer changed."""
    order = moved(session, confirmed(session, settings, bap), status)
    agreed = copy.deepcopy(order.document)
    message = {"update_target": "billing", "order": {"id": order.id, "billing": {"name": "Maria"}}}
    error = refused(session, settings, bap, "update", message)
    assert (error.code, error.path) == ("50002", "message.order.id")
    assert order.document == agreed and order.customer_name == "Jonathan Park"


@pytest.mark.parametrize(
    ("target", "changed"),
    [
        ("billing,billing", "billing"),
        (" billing , fulfillment ", "billing, fulfillment"),
        (",billing,,", "billing"),
        ("fulfillment,billing,fulfillment", "fulfillment, billing"),
    ],
)
def test_update_target_is_a_comma_separated_list_of_what_changes(
    target: str, changed: str, session: Session, settings: Settings, bap: Bap
) -> None:
    """core 1.1.0 /update: `update_target` is "Comma separated values of order objects being
    updated" (its example: "item,billing,fulfillment"): repeats and blanks between commas are
    ignored, and each object named is changed."""
    order = confirmed(session, settings, bap)
    given = {
        "id": order.id,
        "billing": {"phone": "+14155550001"},
        "fulfillments": [{"stops": [{"type": "end", "location": {"address": "12 New Rd"}}]}],
    }
    shown = handle(session, settings, bap, "update", {"update_target": target, "order": given})
    assert orders.events(session, order.id)[-1].reason == f"changed: {changed}"
    assert shown["order"]["billing"]["phone"] == "+14155550001"
    moved_site = shown["order"]["fulfillments"][0]["stops"][0]["location"]["address"]
    assert (moved_site == "12 New Rd") == ("fulfillment" in changed)


@pytest.mark.parametrize(
    ("target", "code", "words"),
    [
        ("items", "30012", "cannot update items"),
        ("billing,quote,payments", "30012", "cannot update quote, payments"),
        ("Billing", "30012", "cannot update Billing"),
        ("", "30000", "is required"),
        (" , ", "30000", "is required"),
        (None, "30000", "is required"),
        (["billing"], "30000", "is required"),
    ],
)
def test_an_update_target_we_cannot_change_is_refused(
    target: object, code: str, words: str, session: Session, settings: Settings, bap: Bap
) -> None:
    """BECKN-005 30012 "Invalid update_target" for fields an order's update cannot change (only
    billing and fulfillment can); a missing update_target is malformed (30000)."""
    order = confirmed(session, settings, bap)
    message = {"update_target": target, "order": {"id": order.id, "billing": {"name": "Maria"}}}
    error = refused(session, settings, bap, "update", message)
    assert (error.code, error.path) == (code, "message.update_target")
    assert words in error.message
    assert order.customer_name == "Jonathan Park"


# track, support, status


@pytest.mark.parametrize(
    ("status", "tracking"),
    [
        (orders.PENDING, "inactive"),
        (orders.IN_PROGRESS, "active"),
        (orders.COMPLETED, "inactive"),
        (orders.FAILED, "inactive"),
        (orders.CANCELLED, "inactive"),
    ],
)
def test_tracking_is_active_only_while_the_work_is_in_progress(
    status: str, tracking: str, session: Session, settings: Settings, bap: Bap
) -> None:
    """core `Tracking.status`: `active` when the BAP can begin tracking, `inactive` when it
    should stop; there is something to follow only while the crew is at work."""
    order = moved(session, confirmed(session, settings, bap), status)
    answer = handle(session, settings, bap, "track", {"order_id": order.id})
    assert answer == {"tracking": {"id": order.id, "status": tracking}}


@pytest.mark.parametrize("message", [{}, {"support": {}}, {"support": {"phone": "+1415"}}])
def test_support_without_a_ref_id_is_our_support_contact(
    message: dict[str, Any], session: Session, settings: Settings, bap: Bap
) -> None:
    """core 1.1.0 /on_support `Support` {ref_id, phone, email, url}: without a `ref_id` the
    answer is the provider's contact and names no order."""
    answer = handle(session, settings, bap, "support", message)
    support = catalogs.load(settings).support
    assert answer == {
        "support": {"phone": support.phone, "email": support.email, "url": support.url}
    }


def test_support_for_an_order_that_is_not_ours_is_30010(
    session: Session, settings: Settings, bap: Bap
) -> None:
    """BECKN-005 30010 "Order not found" for a `ref_id` naming no order of this BAP's; a
    `support` that is not an object is malformed (30000)."""
    error = refused(session, settings, bap, "support", {"support": {"ref_id": "CO-NOSUCHONE"}})
    assert (error.code, error.path) == ("30010", "message.support.ref_id")
    error = refused(session, settings, bap, "support", {"support": "help"})
    assert (error.code, error.path) == ("30000", "message.support")


@pytest.mark.parametrize("action", ["status", "track", "cancel"])
@pytest.mark.parametrize("order_id", [None, "", 7])
def test_an_order_id_is_required(
    action: str, order_id: object, session: Session, settings: Settings, bap: Bap
) -> None:
    """core 1.1.0 /status, /track and /cancel: `message.order_id` is required (30000)."""
    error = refused(session, settings, bap, action, {"order_id": order_id})
    assert (error.code, error.path) == ("30000", "message.order_id")


# the meta API


def test_get_cancellation_reasons_lists_the_catalogs_reasons_as_options(
    session: Session, settings: Settings, bap: Bap
) -> None:
    """core 1.1.0 meta.yaml: /cancellation_reasons carries `cancellation_reasons`, an array of
    `Option` {id, descriptor}; the ids are those a cancel's `cancellation_reason_id` takes."""
    answer = handle(session, settings, bap, "get_cancellation_reasons", {})
    reasons = catalogs.load(settings).cancellation_reasons
    assert answer == {
        "cancellation_reasons": [
            {"id": reason.id, "descriptor": {"name": reason.description}} for reason in reasons
        ]
    }
    assert len(reasons) == 6


def test_get_rating_categories_lists_cores_categories(
    session: Session, settings: Settings, bap: Bap
) -> None:
    """core 1.1.0 meta.yaml: /rating_categories carries `rating_categories`, items of
    `Rating.rating_category`, and (a slip in meta.yaml) requires `return_reasons`."""
    answer = handle(session, settings, bap, "get_rating_categories", {})
    enum = schema.spec()["components"]["schemas"]["Rating"]["properties"]["rating_category"]
    assert sorted(answer["rating_categories"]) == sorted(enum["enum"])
    assert answer["return_reasons"] == []


def test_get_return_reasons_is_empty(session: Session, settings: Settings, bap: Bap) -> None:
    """core 1.1.0 meta.yaml: /return_reasons carries `return_reasons`; a connection is not
    returned, so there are none."""
    assert handle(session, settings, bap, "get_return_reasons", {}) == {"return_reasons": []}
