"""The Beckn `Order` of a connection order, built by `order_document` from select to on_status
(DEG Connections guide v1.1; core 1.1.0 `Order`, `Fulfillment`, `Billing`, `Quotation`,
`Payment`, `CancellationTerm`, `Cancellation`; BECKN-005 codes), called directly. The same
functions are driven end to end through `POST /beckn/{action}` in test_endpoint.py."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare.beckn import catalog as catalogs
from gridshare.beckn import context as contexts
from gridshare.beckn import order_document as documents
from gridshare.beckn.errors import BecknError
from gridshare.config import Settings
from gridshare.store.db import session_factory
from gridshare.store.tables.orders import ConnectionOrder
from gridshare.utility import orders
from tests.beckn import schema
from tests.beckn.bap import Bap
from tests.beckn.test_endpoint import order_message, save_san_francisco

INSIDE = "37.774921,-122.419424"
"""The Connections examples' site with its longitude's sign corrected: in San Francisco."""
GUIDE_GPS = "37.774921,122.419424"
"""The site as the Connections examples give it: a longitude east of Greenwich, in China."""


@pytest.fixture
def catalog(settings: Settings) -> catalogs.Catalog:
    return catalogs.load(settings)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session


@pytest.fixture
def territory(session: Session) -> Session:
    """An electric service territory: San Francisco (test_endpoint's)."""
    save_san_francisco(session)
    session.flush()
    return session


def order_of(settings: Settings, **billing: str) -> dict[str, Any]:
    order: dict[str, Any] = order_message(settings, **billing)["order"]
    return order


def requested(**details: Any) -> dict[str, Any]:
    """The guide's select item tag group `requested_connection_details`."""
    return {
        "descriptor": {"code": "requested_connection_details"},
        "list": [{"descriptor": {"code": code}, "value": value} for code, value in details.items()],
    }


def assert_refused(error: BecknError, code: str, path: str, *words: str) -> None:
    assert (error.code, error.path) == (code, path), error.error()
    for word in words:
        assert word in error.message, error.message


def assert_valid_answer(settings: Settings, action: str, message: dict[str, Any]) -> None:
    """`message` is valid core 1.1.0 in our answer (`on_{action}`) to an `action` request."""
    context = contexts.callback_context(Bap().context(action), settings, action)
    answer = contexts.answer_action(action)
    schema.assert_valid_message(answer, {"context": context, "message": message})


# selection


def test_the_selected_item_and_its_requested_details(
    settings: Settings, catalog: catalogs.Catalog
) -> None:
    """Guide v1.1 "select": the selected item is in message->order->items, additional parameters
    (the load) are tags under the item, fulfillment details in message->order->fulfillments."""
    order = order_of(settings)
    order["items"][0]["tags"] = [
        {"descriptor": {"code": "other"}, "list": [{"descriptor": {"code": "x"}, "value": "y"}]},
        requested(estimated_monthly_consumption_kwh="850", requested_load_kw=5, colour="blue"),
    ]
    chosen = documents.selection(catalog, order)
    assert chosen.product == catalog.products[0]
    assert chosen.fulfillment_id == catalog.fulfillment_id
    assert chosen.requested == (
        ("requested_load_kw", Decimal(5)),
        ("estimated_monthly_consumption_kwh", Decimal(850)),
    )


@pytest.mark.parametrize("count", [0, 2])
def test_an_order_holds_exactly_one_item(
    count: int, settings: Settings, catalog: catalogs.Catalog
) -> None:
    """One connection per order: core `Order.items` is an array, but an order for none or two is
    malformed (BECKN-005 30000 "Invalid request error") and names the field."""
    order = order_of(settings)
    order["items"] = [{"id": catalog.products[i].id} for i in range(count)]
    with pytest.raises(BecknError) as raised:
        documents.selection(catalog, order)
    assert_refused(raised.value, "30000", "message.order.items", "exactly one item")


def test_an_unknown_provider_is_30001(settings: Settings, catalog: catalogs.Catalog) -> None:
    """BECKN-005 30001 "Provider not found": the BPP cannot find the provider id sent by the BAP."""
    order = order_of(settings)
    order["provider"] = {"id": "sf_electric_authority"}
    with pytest.raises(BecknError) as raised:
        documents.selection(catalog, order)
    assert_refused(raised.value, "30001", "message.order.provider.id", catalog.provider_id)


@pytest.mark.parametrize("item", [{"id": "new-resi-connection"}, {}])
def test_an_unknown_or_missing_item_is_30004(
    item: dict[str, Any], settings: Settings, catalog: catalogs.Catalog
) -> None:
    """BECKN-005 30004 "Item not found": the answer lists the products that exist."""
    order = order_of(settings)
    order["items"] = [item]
    with pytest.raises(BecknError) as raised:
        documents.selection(catalog, order)
    assert_refused(raised.value, "30004", "message.order.items[0].id", catalog.products[0].id)


LOAD_PATH = "message.order.items[0].tags.requested_connection_details.requested_load_kw"


@pytest.mark.parametrize("load", ["0", "25", "25.000", 12.5])
def test_a_load_within_the_products_range_is_kept(
    load: object, settings: Settings, catalog: catalogs.Catalog
) -> None:
    """The demo's residential product takes 0 to 25 kW, both ends included."""
    product = catalog.products[0]
    assert (product.min_load_kw, product.max_load_kw) == (Decimal(0), Decimal(25))
    order = order_of(settings)
    order["items"][0]["tags"] = [requested(requested_load_kw=load)]
    chosen = documents.selection(catalog, order)
    assert chosen.requested == (("requested_load_kw", Decimal(str(load))),)


@pytest.mark.parametrize("load", ["25.01", "26", 1000])
def test_a_load_outside_the_products_range_is_refused_naming_the_range(
    load: object, settings: Settings, catalog: catalogs.Catalog
) -> None:
    """The guide's `requested_load_kw` against the item's `min_load_kw`/`max_load_kw` tags: a
    request no product of that id can serve is malformed (30000), and says which range holds."""
    order = order_of(settings)
    order["items"][0]["tags"] = [requested(requested_load_kw=load)]
    with pytest.raises(BecknError) as raised:
        documents.selection(catalog, order)
    assert_refused(raised.value, "30000", LOAD_PATH, "range of 0 to 25 kW", "another product")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("five", "is not a number"),
        (None, "is not a number"),
        ([5], "is not a number"),
        ("-1", "zero or more"),
        ("NaN", "zero or more"),
        ("Infinity", "zero or more"),
    ],
)
def test_a_requested_detail_must_be_a_number(
    value: object, words: str, settings: Settings, catalog: catalogs.Catalog
) -> None:
    """The guide's requested_connection_details are quantities (kW, kWh): a value that is not a
    finite number of zero or more is malformed (30000)."""
    order = order_of(settings)
    order["items"][0]["tags"] = [requested(requested_load_kw=value)]
    with pytest.raises(BecknError) as raised:
        documents.selection(catalog, order)
    assert_refused(raised.value, "30000", LOAD_PATH, words)


def test_a_fulfillment_we_do_not_offer_is_30008(
    settings: Settings, catalog: catalogs.Catalog
) -> None:
    """BECKN-005 30008 "Fulfillment unavailable": the BPP cannot find the fulfillment id sent by
    the BAP. Without any fulfillment the catalog's ONSITE one is taken."""
    order = order_of(settings)
    order["fulfillments"] = [{"id": "onsite"}]
    with pytest.raises(BecknError) as raised:
        documents.selection(catalog, order)
    assert_refused(
        raised.value, "30008", "message.order.fulfillments[0].id", repr(catalog.fulfillment_id)
    )
    del order["fulfillments"]
    assert documents.selection(catalog, order).fulfillment_id == catalog.fulfillment_id


def test_the_on_select_order_is_the_catalogs_quote_with_the_requested_details(
    settings: Settings, catalog: catalogs.Catalog
) -> None:
    """Guide v1.1 "on_select": the item with its tags, the ONSITE fulfillment and the quote with
    its breakup, as a valid core 1.1.0 on_select. The BAP's own price is not taken."""
    order = order_of(settings)
    order["items"][0]["tags"] = [requested(requested_load_kw="5")]
    order["quote"] = {"price": {"value": "1", "currency": "USD"}}
    quoted = documents.quoted(catalog, documents.selection(catalog, order))
    assert_valid_answer(settings, "select", {"order": quoted})
    product = catalog.products[0]
    assert quoted["fulfillments"] == [{"id": catalog.fulfillment_id, "type": "ONSITE"}]
    assert Decimal(quoted["quote"]["price"]["value"]) == product.total == Decimal("200")
    breakup = [
        (line["title"], Decimal(line["price"]["value"])) for line in quoted["quote"]["breakup"]
    ]
    assert breakup == [(line.title, line.amount) for line in product.price_breakup]
    assert quoted["items"][0]["tags"][-1] == {
        "descriptor": {"code": "requested_connection_details"},
        "list": [{"descriptor": {"code": "requested_load_kw"}, "value": "5"}],
    }


# site


def test_the_site_is_the_end_stop_and_the_customer_defaults_to_the_billing(
    settings: Settings, territory: Session
) -> None:
    """Guide v1.1 "init": consumer details in billing and fulfillments, the location and GPS of
    the connection in fulfillments->stops (the taxonomy's stop type END; the examples' "end")."""
    order = order_of(settings)
    order["fulfillments"][0]["stops"] = [
        {"type": "start", "location": {"address": "the depot"}},
        {"type": "END", "location": {"gps": INSIDE}},
    ]
    where = documents.site(territory, order)
    assert where.stop == {
        "type": "end",
        "location": {"address": "910 Pinecrest Blvd", "gps": INSIDE},
    }
    assert (where.address, where.gps) == ("910 Pinecrest Blvd", INSIDE)
    assert where.customer == {
        "person": {"name": "Jonathan Park"},
        "contact": {"phone": "+14155553333", "email": "jonathan.park@example.com"},
    }
    assert where.billing == order["billing"]


@pytest.mark.parametrize(
    "stops",
    [[], [{"type": "start", "location": {"address": "the depot"}}], [{"location": {}}]],
)
def test_a_site_needs_an_end_stop(
    stops: list[dict[str, Any]], settings: Settings, session: Session
) -> None:
    """Guide v1.1 "init": the connection's location is a fulfillment stop; without the `end`
    stop there is no site to connect (30000)."""
    order = order_of(settings)
    order["fulfillments"][0]["stops"] = stops
    with pytest.raises(BecknError) as raised:
        documents.site(session, order)
    assert_refused(raised.value, "30000", "message.order.fulfillments[0].stops", "'end'")


def test_billing_needs_an_email_or_a_phone(settings: Settings, session: Session) -> None:
    """Guide v1.1 "init" billing{name, email, phone, address}: core `Billing` requires none of
    them; the BPP needs a way to reach the customer, so one of email and phone (30000)."""
    order = order_of(settings)
    del order["billing"]["email"], order["billing"]["phone"]
    with pytest.raises(BecknError) as raised:
        documents.site(session, order)
    assert_refused(raised.value, "30000", "message.order.billing", "email or a phone")
    for contact in ({"email": "a@example.com"}, {"phone": "+14155550000"}):
        where = documents.site(session, {**order, "billing": {**order["billing"], **contact}})
        assert (where.email, where.phone) == (contact.get("email"), contact.get("phone"))


def test_a_site_outside_the_territory_is_30008(settings: Settings, territory: Session) -> None:
    """BECKN-005 30008 "Fulfillment unavailable" for a site we cannot connect: the examples' gps
    (its longitude's sign wrong) is in China; corrected, it is in San Francisco."""
    order = order_of(settings)
    stop = order["fulfillments"][0]["stops"][0]
    stop["location"]["gps"] = GUIDE_GPS
    with pytest.raises(BecknError) as raised:
        documents.site(territory, order)
    path = "message.order.fulfillments[0].stops.location.gps"
    assert_refused(raised.value, "30008", path, GUIDE_GPS, "outside our service territory")
    stop["location"]["gps"] = INSIDE
    assert documents.site(territory, order).gps == INSIDE


@pytest.mark.parametrize("gps", ["37.77;-122.42", "91,0", "37.77,-181", "San Francisco", ""])
def test_a_malformed_gps_is_30000(gps: str, settings: Settings, territory: Session) -> None:
    """core 1.1.0 `Gps`: "latitude,longitude" in decimal degrees within range; anything else is
    a malformed request, not a site outside the territory."""
    order = order_of(settings)
    order["fulfillments"][0]["stops"][0]["location"]["gps"] = gps
    with pytest.raises(BecknError) as raised:
        documents.site(territory, order)
    assert_refused(raised.value, "30000", "message.order.fulfillments[0].stops.location.gps")


# terms


def test_the_terms_ask_for_the_quote_and_carry_the_catalogs_cancellation_terms(
    settings: Settings, catalog: catalogs.Catalog, session: Session
) -> None:
    """Guide v1.1 "on_init": payments [{ON-FULFILLMENT, collected_by BPP, NOT-PAID, params
    {amount, currency}}] for the quoted total (the example's 150 against its quote of 200 taken
    for a slip); the Generic guide: the BPP decides the payment terms, so the BAP's are replaced.
    core `CancellationTerm`: one per fulfillment state, with its fee."""
    order = order_of(settings)
    order["payments"] = [{"type": "PRE-ORDER", "params": {"amount": "1", "currency": "USD"}}]
    document = documents.terms(
        catalog, documents.selection(catalog, order), documents.site(session, order)
    )
    assert_valid_answer(settings, "init", {"order": document})
    assert documents.total(document) == (Decimal("200.00"), "USD")
    assert document["payments"] == [
        {
            "type": "ON-FULFILLMENT",
            "collected_by": "BPP",
            "status": "NOT-PAID",
            "params": {"amount": document["quote"]["price"]["value"], "currency": "USD"},
        }
    ]
    assert document["cancellation_terms"] == [
        {
            "fulfillment_state": {"descriptor": {"code": "PENDING"}},
            "reason_required": False,
            "cancellation_fee": {"percentage": "0"},
        },
        {
            "fulfillment_state": {"descriptor": {"code": "IN_PROGRESS"}},
            "reason_required": True,
            "cancellation_fee": {"percentage": "25"},
        },
    ]
    fulfillment = document["fulfillments"][0]
    assert fulfillment["tracking"] is True and fulfillment["type"] == "ONSITE"
    assert fulfillment["contact"] == catalogs.support_contact(catalog)
    assert "xinput" not in document["items"][0]
    form = {
        "required": False,
        "form": {"url": "https://bpp.example.org/f", "mime_type": "text/html"},
    }
    with_form = documents.terms(
        catalog, documents.selection(catalog, order), documents.site(session, order), form
    )
    assert with_form["items"][0]["xinput"] == form


# rendered


def placed(session: Session, settings: Settings, catalog: catalogs.Catalog) -> ConnectionOrder:
    """A PENDING order whose document is the terms of `order_message`."""
    order = order_of(settings)
    document = documents.terms(
        catalog, documents.selection(catalog, order), documents.site(session, order)
    )
    total, currency = documents.total(document)
    taken, _ = orders.take(
        session,
        orders.NewOrder(
            channel="beckn",
            requester="bap.example.org",
            transaction_id=str(uuid.uuid4()),
            item_id=catalog.products[0].id,
            item_name=catalog.products[0].name,
            customer_name="Jonathan Park",
            email=None,
            phone="+14155553333",
            address="910 Pinecrest Blvd",
            gps=None,
            total=total,
            currency=currency,
            document=document,
            reply_to={},
        ),
    )
    return taken


PATHS: dict[str, tuple[str, ...]] = {
    orders.PENDING: (),
    orders.IN_PROGRESS: (orders.IN_PROGRESS,),
    orders.COMPLETED: (orders.IN_PROGRESS, orders.COMPLETED),
    orders.FAILED: (orders.FAILED,),
    orders.CANCELLED: (orders.CANCELLED,),
}
"""How the desk brings a new order to each connection-status."""


@pytest.mark.parametrize(
    ("status", "core"),
    [
        (orders.PENDING, "ACTIVE"),
        (orders.IN_PROGRESS, "ACTIVE"),
        (orders.COMPLETED, "COMPLETE"),
        (orders.FAILED, "CANCELLED"),
        (orders.CANCELLED, "CANCELLED"),
    ],
)
def test_each_connection_status_is_a_core_order_status_and_the_fulfillment_state(
    status: str, core: str, settings: Settings, catalog: catalogs.Catalog, session: Session
) -> None:
    """core 1.1.0 `Order.status` is ACTIVE, COMPLETE or CANCELLED; the guide's connection-status
    (taxonomy) is carried in `Fulfillment.state.descriptor.code`, which the BPP "must set ...
    whenever the state changes" (Fulfillment.yaml). Each rendering is a valid on_status."""
    order = placed(session, settings, catalog)
    for step in PATHS[status]:
        orders.advance(session, order, step, actor="staff:ana", reason="desk")
    shown = documents.rendered(order)
    assert_valid_answer(settings, "status", {"order": shown})
    assert (shown["id"], shown["status"]) == (order.id, core)
    state = shown["fulfillments"][0]["state"]
    assert state["descriptor"]["code"] == status
    assert state["descriptor"]["name"]
    assert contexts.parse_rfc3339(state["updated_at"]) == order.updated.replace(microsecond=0)
    assert all(
        group["descriptor"]["code"] != "connection_details" for group in shown["items"][0]["tags"]
    )


def test_an_earlier_change_is_shown_as_it_left_the_order(
    settings: Settings, catalog: catalogs.Catalog, session: Session
) -> None:
    """core `Fulfillment.state`: the BPP fires an unsolicited on_status whenever the state
    changes, so the announcement of an earlier change shows the order as that change left it
    (its status, its time, the details known then) even when it is delivered after a later one."""
    order = placed(session, settings, catalog)
    started = orders.advance(session, order, orders.IN_PROGRESS, actor="staff:ana")
    orders.advance(session, order, orders.COMPLETED, actor="staff:ana", details={"meter_id": "M-1"})
    shown = documents.rendered(order, orders.as_of(session, started))
    assert shown["status"] == "ACTIVE"
    state = shown["fulfillments"][0]["state"]
    assert state["descriptor"]["code"] == orders.IN_PROGRESS
    assert contexts.parse_rfc3339(state["updated_at"]) == started.at.replace(microsecond=0)
    assert all(
        group["descriptor"]["code"] != "connection_details" for group in shown["items"][0]["tags"]
    )
    now = documents.rendered(order)
    assert now["status"] == "COMPLETE"
    assert now["items"][0]["tags"][-1]["descriptor"]["code"] == "connection_details"


def test_connection_details_are_a_tag_group_once_recorded(
    settings: Settings, catalog: catalogs.Catalog, session: Session
) -> None:
    """Guide v1.1 on_status 4 ("Connection-established"): the item gains the tag group
    `connection_details` (consumer_number, meter_id, ...); the agreed document is not changed."""
    order = placed(session, settings, catalog)
    agreed = copy.deepcopy(order.document)
    orders.advance(session, order, orders.IN_PROGRESS, actor="staff:ana")
    orders.advance(
        session,
        order,
        orders.COMPLETED,
        actor="staff:ana",
        details={"meter_id": "M-1001", "consumer_number": "DGE-42"},
    )
    shown = documents.rendered(order)
    assert_valid_answer(settings, "status", {"order": shown})
    *kept, details = shown["items"][0]["tags"]
    assert kept == agreed["items"][0]["tags"]
    assert details == {
        "descriptor": {"code": "connection_details"},
        "display": True,
        "list": [
            {"descriptor": {"code": "meter_id"}, "value": "M-1001"},
            {"descriptor": {"code": "consumer_number"}, "value": "DGE-42"},
        ],
    }
    assert order.document == agreed


def test_a_cancelled_order_carries_its_cancellation_and_the_fee_as_its_quote(
    settings: Settings, catalog: catalogs.Catalog, session: Session
) -> None:
    """core `Cancellation` {time, cancelled_by CONSUMER|PROVIDER, reason (an `Option`)}; once
    cancelled, the quote is what is owed: the cancellation fee (core `Quotation`)."""
    order = placed(session, settings, catalog)
    orders.advance(
        session,
        order,
        orders.CANCELLED,
        actor="bap.example.org",
        reason="Changed my mind",
        announce=False,
        cancellation={
            "cancelled_by": "CONSUMER",
            "reason_id": "1",
            "reason": "Changed my mind",
            "fee": "50.00",
        },
    )
    shown = documents.rendered(order)
    assert_valid_answer(settings, "cancel", {"order": shown})
    assert shown["cancellation"] == {
        "cancelled_by": "CONSUMER",
        "time": shown["updated_at"],
        "reason": {"id": "1", "descriptor": {"name": "Changed my mind"}},
    }
    fee = {"value": "50.00", "currency": "USD"}
    assert shown["quote"] == {
        "price": fee,
        "breakup": [{"title": "Cancellation fee", "price": fee}],
    }
    assert shown["payments"] == order.document["payments"]


def test_a_cancellation_by_the_desk_is_by_the_provider_and_free(
    settings: Settings, catalog: catalogs.Catalog, session: Session
) -> None:
    """core `Cancellation.cancelled_by` PROVIDER when the utility ends the order; a FAILED order
    is CANCELLED in core terms but has no cancellation and keeps its quote."""
    order = placed(session, settings, catalog)
    orders.advance(session, order, orders.CANCELLED, actor="staff:ana", reason="duplicate")
    shown = documents.rendered(order)
    assert_valid_answer(settings, "status", {"order": shown})
    assert shown["cancellation"]["cancelled_by"] == "PROVIDER"
    assert shown["cancellation"]["reason"] == {"descriptor": {"name": "duplicate"}}
    assert Decimal(shown["quote"]["price"]["value"]) == 0

    failed = placed(session, settings, catalog)
    orders.advance(session, failed, orders.FAILED, actor="staff:ana", reason="no capacity")
    shown = documents.rendered(failed)
    assert shown["status"] == "CANCELLED" and "cancellation" not in shown
    assert shown["quote"] == failed.document["quote"]
