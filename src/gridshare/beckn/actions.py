"""What the BPP does for each Beckn action (core 1.1.0 transaction and meta APIs; DEG Connections
guide v1.1 for search through status; the DEG siblings for cancel, update and support): each handler
takes a validated request and returns the `message` of its `on_{action}` callback, making the
change the request asks for in the caller's transaction.

A handler raises `BecknError`: with code 30000 the request is malformed and is refused with a
NACK (nothing is kept but the audit record); with any other code it is acknowledged and the
callback carries the error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from gridshare.beckn import catalog as catalogs
from gridshare.beckn import documents_form
from gridshare.beckn import order_document as documents
from gridshare.beckn import search as searching
from gridshare.beckn.context import RequestContext
from gridshare.beckn.errors import (
    CANCELLATION_NOT_POSSIBLE,
    INVALID_CANCELLATION_REASON,
    INVALID_RATING_VALUE,
    INVALID_REQUEST,
    INVALID_UPDATE_TARGET,
    ORDER_NOT_FOUND,
    RATED_ENTITY_NOT_FOUND,
    UPDATE_NOT_POSSIBLE,
    BecknError,
)
from gridshare.config import Settings
from gridshare.store.tables.orders import ConnectionOrder
from gridshare.utility import orders

CHANNEL: Final = "beckn"
UPDATE_TARGETS: Final = ("billing", "fulfillment")
"""What an update may change (while the order is PENDING): the customer's billing and contact."""
RATING_CATEGORIES: Final = ("Order", "Fulfillment", "Provider", "Item", "Agent", "Support")
RATING_VALUES: Final = ("1", "2", "3", "4", "5")
"""Ratings are whole stars, 1 to 5 (BECKN-008 leaves the scale to the network)."""


@dataclass(frozen=True)
class Request:
    """A validated request, with what its handler needs."""

    session: Session
    settings: Settings
    catalog: catalogs.Catalog
    context: RequestContext
    message: Mapping[str, Any]


Handler = Callable[[Request], dict[str, Any]]


def search(request: Request) -> dict[str, Any]:
    return searching.on_search(request.catalog, request.session, request.message.get("intent", {}))


def select(request: Request) -> dict[str, Any]:
    chosen = documents.selection(request.catalog, documents.order_of(request.message))
    return {"order": documents.quoted(request.catalog, chosen)}


def init(request: Request) -> dict[str, Any]:
    order = documents.order_of(request.message)
    chosen = documents.selection(request.catalog, order)
    where = documents.site(request.session, order)
    form = documents_form.xinput(request.session, request.settings, request.context, chosen.product)
    return {"order": documents.terms(request.catalog, chosen, where, form)}


def confirm(request: Request) -> dict[str, Any]:
    """Take the order (once per transaction: a confirm repeated in the same transaction answers
    with the order already taken)."""
    order = documents.order_of(request.message)
    chosen = documents.selection(request.catalog, order)
    where = documents.site(request.session, order)
    submitted = documents_form.submission(request.session, request.context, order)
    form = documents_form.xinput(
        request.session, request.settings, request.context, chosen.product, submitted
    )
    document = documents.terms(request.catalog, chosen, where, form)
    total, currency = documents.total(document)
    context = request.context
    reply_to = {
        key: context.raw[key]
        for key in ("domain", "location", "bap_id", "bap_uri", "transaction_id", "ttl")
        if key in context.raw
    }
    taken, _ = orders.take(
        request.session,
        orders.NewOrder(
            channel=CHANNEL,
            requester=context.bap_id,
            transaction_id=context.transaction_id,
            item_id=chosen.product.id,
            item_name=chosen.product.name,
            customer_name=where.name,
            email=where.email,
            phone=where.phone,
            address=where.address,
            gps=where.gps,
            total=total,
            currency=currency,
            document=document,
            reply_to={"context": reply_to},
            submission_id=submitted,
        ),
    )
    return {"order": documents.rendered(taken)}


def status(request: Request) -> dict[str, Any]:
    return {"order": documents.rendered(_order(request))}


def cancel(request: Request) -> dict[str, Any]:
    """Cancel by the order's cancellation terms (core `CancellationTerm`): free or for a fee
    while it is PENDING or IN_PROGRESS, with a reason where the term requires one; not once it
    is final."""
    order = _order(request, lock=True)
    reason_id = request.message.get("cancellation_reason_id")
    if reason_id is not None and not isinstance(reason_id, str):
        raise _invalid("message.cancellation_reason_id", "must be a string")
    reason = catalogs.cancellation_reason(request.catalog, reason_id) if reason_id else None
    if reason_id and reason is None:
        known = ", ".join(r.id for r in request.catalog.cancellation_reasons)
        raise BecknError(
            INVALID_CANCELLATION_REASON,
            f"cancellation reason {reason_id!r} is unknown; reasons are {known}",
            "message.cancellation_reason_id",
        )
    product = catalogs.product(request.catalog, None, order.item_id)
    fee = catalogs.cancellation_fee(request.catalog, product, order.status)
    term = catalogs.cancellation_term(request.catalog, order.status)
    if fee is None or term is None or order.status not in (orders.PENDING, orders.IN_PROGRESS):
        raise BecknError(
            CANCELLATION_NOT_POSSIBLE,
            f"order {order.id} is {order.status}: its cancellation terms do not allow cancelling",
            "message.order_id",
        )
    if term.reason_required and reason is None:
        known = ", ".join(r.id for r in request.catalog.cancellation_reasons)
        raise BecknError(
            INVALID_CANCELLATION_REASON,
            f"cancelling an order that is {order.status} needs a reason: give "
            f"cancellation_reason_id, one of {known} (get_cancellation_reasons lists them)",
            "message.cancellation_reason_id",
        )
    orders.advance(
        request.session,
        order,
        orders.CANCELLED,
        actor=request.context.bap_id,
        reason=reason,
        announce=False,
        cancellation={
            "cancelled_by": "CONSUMER",
            "reason_id": reason_id,
            "reason": reason,
            "fee": str(fee),
        },
    )
    return {"order": documents.rendered(order)}


def update(request: Request) -> dict[str, Any]:
    """Change the billing details or the customer and site of a PENDING order: the fields sent
    replace the agreed ones, the others stay."""
    order_id = documents.order_of(request.message).get("id")
    order = _order_id(request, order_id, "message.order.id", lock=True)
    targets = _update_targets(request.message.get("update_target"))
    if order.status != orders.PENDING:
        raise BecknError(
            UPDATE_NOT_POSSIBLE,
            f"order {order.id} is {order.status}: only a PENDING order can be changed",
            "message.order.id",
        )
    where = documents.site(request.session, _proposed(order, request.message, targets))
    document = dict(order.document)
    contact: dict[str, str | None] = {}
    if "billing" in targets:
        document["billing"] = where.billing
        contact |= {"customer_name": where.name, "email": where.email, "phone": where.phone}
    if "fulfillment" in targets:
        fulfillment = {**document["fulfillments"][0], "customer": where.customer}
        fulfillment["stops"] = [where.stop]
        document["fulfillments"] = [fulfillment]
        contact |= {"address": where.address, "gps": where.gps}
    orders.amend(
        request.session,
        order,
        actor=request.context.bap_id,
        what=", ".join(targets),
        document=document,
        contact=contact,
    )
    return {"order": documents.rendered(order)}


def track(request: Request) -> dict[str, Any]:
    """Tracking is active while the connection work is in progress; there is no live feed."""
    order = _order(request)
    active = order.status == orders.IN_PROGRESS
    return {"tracking": {"id": order.id, "status": "active" if active else "inactive"}}


def rating(request: Request) -> dict[str, Any]:
    """Keep each rating of the order placed in this transaction."""
    ratings = request.message.get("ratings")
    if not isinstance(ratings, list) or not ratings:
        raise _invalid("message.ratings", "must be a non-empty array of ratings")
    order = orders.find_in_transaction(
        request.session, CHANNEL, request.context.bap_id, request.context.transaction_id
    )
    for index, given in enumerate(ratings):
        path = f"message.ratings[{index}]"
        if not isinstance(given, Mapping):
            raise _invalid(path, "must be an object")
        category, target, value = (given.get(k) for k in ("rating_category", "id", "value"))
        if category not in RATING_CATEGORIES:
            raise _invalid(f"{path}.rating_category", f"must be one of {RATING_CATEGORIES}")
        if value not in RATING_VALUES:
            raise BecknError(
                INVALID_RATING_VALUE,
                f"rating value {value!r} is not a whole number of stars from 1 to 5",
                f"{path}.value",
            )
        if order is None or not isinstance(target, str) or not target:
            raise BecknError(
                RATED_ENTITY_NOT_FOUND,
                "there is no order in this transaction to rate: rate within the transaction "
                "that confirmed it",
                f"{path}.id",
            )
        orders.rate(request.session, order, str(category), target, str(value))
    return {}


def support(request: Request) -> dict[str, Any]:
    """Our support contact, for the order named in `ref_id` if there is one."""
    asked = request.message.get("support", {})
    if not isinstance(asked, Mapping):
        raise _invalid("message.support", "must be an object")
    answer = {**catalogs.support_contact(request.catalog)}
    ref_id = asked.get("ref_id")
    if ref_id is not None:
        answer["ref_id"] = _order_id(request, ref_id, "message.support.ref_id").id
    return {"support": answer}


def get_cancellation_reasons(request: Request) -> dict[str, Any]:
    """The catalog's cancellation reasons (meta API), as core `Option`s."""
    reasons = [
        {"id": reason.id, "descriptor": {"name": reason.description}}
        for reason in request.catalog.cancellation_reasons
    ]
    return {"cancellation_reasons": reasons}


def get_rating_categories(request: Request) -> dict[str, Any]:
    """The rating categories we take (meta API). meta.yaml makes `return_reasons` required in
    this answer too (a slip in core 1.1.0), so an empty list is sent with it."""
    return {"rating_categories": list(RATING_CATEGORIES), "return_reasons": []}


def get_return_reasons(request: Request) -> dict[str, Any]:
    """A connection is not returned: no return reasons (meta API)."""
    return {"return_reasons": []}


HANDLERS: Final[Mapping[str, Handler]] = {
    "search": search,
    "select": select,
    "init": init,
    "confirm": confirm,
    "status": status,
    "cancel": cancel,
    "update": update,
    "track": track,
    "rating": rating,
    "support": support,
    "get_cancellation_reasons": get_cancellation_reasons,
    "get_rating_categories": get_rating_categories,
    "get_return_reasons": get_return_reasons,
}


def _order(request: Request, lock: bool = False) -> ConnectionOrder:
    return _order_id(request, request.message.get("order_id"), "message.order_id", lock)


def _order_id(request: Request, order_id: object, path: str, lock: bool = False) -> ConnectionOrder:
    if not isinstance(order_id, str) or not order_id:
        raise _invalid(path, "is required: the id on_confirm gave the order")
    order = orders.find(request.session, order_id, requester=request.context.bap_id, lock=lock)
    if order is None or order.channel != CHANNEL:
        raise BecknError(ORDER_NOT_FOUND, f"there is no order {order_id!r} of yours", path)
    return order


def _proposed(
    order: ConnectionOrder, message: Mapping[str, Any], targets: tuple[str, ...]
) -> dict[str, Any]:
    """The order's billing and fulfillment with the update's changes laid over them."""
    given = documents.order_of(message)
    billing = dict(order.document["billing"])
    fulfillment = dict(order.document["fulfillments"][0])
    if "billing" in targets:
        changes = given.get("billing")
        if not isinstance(changes, Mapping):
            raise _invalid("message.order.billing", "must be an object: the billing to change")
        billing |= changes
    if "fulfillment" in targets:
        changed = given.get("fulfillments")
        if not isinstance(changed, list) or not changed or not isinstance(changed[0], Mapping):
            raise _invalid("message.order.fulfillments", "must hold the fulfillment to change")
        fulfillment |= {k: v for k, v in changed[0].items() if k in ("customer", "stops")}
    return {"billing": billing, "fulfillments": [fulfillment]}


def _update_targets(value: object) -> tuple[str, ...]:
    parts = value.split(",") if isinstance(value, str) else []
    targets = tuple(dict.fromkeys(part.strip() for part in parts if part.strip()))
    if not targets:
        raise _invalid("message.update_target", "is required, e.g. 'billing' or 'fulfillment'")
    unknown = [t for t in targets if t not in UPDATE_TARGETS]
    if unknown:
        raise BecknError(
            INVALID_UPDATE_TARGET,
            f"cannot update {', '.join(unknown)}; an order's {' and '.join(UPDATE_TARGETS)} "
            "can be updated",
            "message.update_target",
        )
    return targets


def _invalid(path: str, problem: str) -> BecknError:
    return BecknError(INVALID_REQUEST, f"{path} {problem}", path)
