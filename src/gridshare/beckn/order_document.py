"""The Beckn `Order` of a connection order, as the DEG Connections guide v1.1 builds it up
("select" through "on_status"), in core 1.1.0 terms (`Order`, `Item`, `Fulfillment`, `Billing`,
`Quotation`, `Payment`, `CancellationTerm`, `Cancellation`).

- select -> `quoted`: the provider, the item with the requested connection details, the ONSITE
  fulfillment and the quote with its price breakup.
- init -> `terms`: adds billing, the customer and the site (the fulfillment's `end` stop), the
  support contact, the payment terms and the cancellation terms.
- confirm -> `terms` again, kept as the order's document; `rendered` is that document with the
  order's id, status, fulfillment state (the connection-status), cancellation and the connection
  details the desk recorded.

Prices come from our catalog, never from the request: a BAP's own quote or payment terms are
replaced by ours (the Generic guide: the BPP decides the payment terms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy.orm import Session

from gridshare.beckn import catalog as catalogs
from gridshare.beckn import territory
from gridshare.beckn.errors import FULFILLMENT_UNAVAILABLE, INVALID_REQUEST, BecknError
from gridshare.store.tables.orders import ConnectionOrder
from gridshare.timefmt import rfc3339
from gridshare.utility import orders

REQUESTED: Final = "requested_connection_details"
"""The select's item tag group (the guide's example)."""
REQUESTED_CODES: Final = ("requested_load_kw", "estimated_monthly_consumption_kwh")
DETAILS: Final = "connection_details"
"""The item tag group of a completed connection (the guide's on_status-4)."""
ORDER_STATUS: Final[Mapping[str, str]] = {
    orders.PENDING: "ACTIVE",
    orders.IN_PROGRESS: "ACTIVE",
    orders.COMPLETED: "COMPLETE",
    orders.FAILED: "CANCELLED",
    orders.CANCELLED: "CANCELLED",
}
"""core 1.1.0 `Order.status` of each connection-status (FAILED: the provider ended it)."""
STATE_NAMES: Final[Mapping[str, str]] = {
    orders.PENDING: "Order received, awaiting review",
    orders.IN_PROGRESS: "Connection work in progress",
    orders.COMPLETED: "Connection established",
    orders.FAILED: "Connection could not be made",
    orders.CANCELLED: "Order cancelled",
}
TEXT_MAX: Final = 500


@dataclass(frozen=True)
class Selection:
    """The product a select (or init, confirm) asks for, and the details it states."""

    product: catalogs.Product
    fulfillment_id: str
    requested: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class Site:
    """Who the connection is for and where (init, confirm)."""

    billing: dict[str, str]
    customer: dict[str, Any]
    stop: dict[str, Any]
    name: str
    email: str | None
    phone: str | None
    address: str
    gps: str | None


def order_of(message: Mapping[str, Any]) -> Mapping[str, Any]:
    """`message.order`, which select, init, confirm and update need."""
    return _object(message.get("order"), "message.order")


def selection(catalog: catalogs.Catalog, order: Mapping[str, Any]) -> Selection:
    """The product of the order's single item and its requested connection details."""
    provider = order.get("provider")
    provider_id = _object(provider, "message.order.provider").get("id") if provider else None
    items = _array(order.get("items"), "message.order.items")
    if len(items) != 1:
        raise _invalid(
            "message.order.items", "must hold exactly one item: one connection per order"
        )
    item = _object(items[0], "message.order.items[0]")
    product = catalogs.product(
        catalog,
        provider_id if isinstance(provider_id, str) else None,
        item.get("id") if isinstance(item.get("id"), str) else None,
    )
    return Selection(product, _fulfillment_id(catalog, order), _requested(product, item))


def quoted(catalog: catalogs.Catalog, chosen: Selection) -> dict[str, Any]:
    """The on_select order."""
    return {
        "provider": catalogs.provider_json(catalog),
        "items": [_item(catalog, chosen)],
        "fulfillments": [{"id": chosen.fulfillment_id, "type": catalog.fulfillment_type}],
        "quote": catalogs.quote(chosen.product),
    }


def site(session: Session, order: Mapping[str, Any]) -> Site:
    """Billing, customer and site of an init or confirm; BecknError 30008 for a site outside
    the service territory."""
    billing = _object(order.get("billing"), "message.order.billing")
    name = _text(billing, "name", "message.order.billing")
    address = _text(billing, "address", "message.order.billing")
    email = _optional(billing, "email", "message.order.billing")
    phone = _optional(billing, "phone", "message.order.billing")
    if email is None and phone is None:
        raise _invalid("message.order.billing", "needs an email or a phone to reach the customer")
    fulfillments = _array(order.get("fulfillments"), "message.order.fulfillments")
    fulfillment = _object(fulfillments[0], "message.order.fulfillments[0]") if fulfillments else {}
    path = "message.order.fulfillments[0]"
    customer = _object(fulfillment.get("customer", {}), f"{path}.customer")
    stops = _array(fulfillment.get("stops", []), f"{path}.stops")
    end = next(
        (
            _object(stop, f"{path}.stops")
            for stop in stops
            if isinstance(stop, Mapping) and str(stop.get("type", "")).lower() == "end"
        ),
        None,
    )
    if end is None:
        raise _invalid(f"{path}.stops", "needs the site as a stop of type 'end' with a location")
    location = _object(end.get("location"), f"{path}.stops.location")
    gps = _optional(location, "gps", f"{path}.stops.location")
    site_address = _optional(location, "address", f"{path}.stops.location") or address
    if gps is not None:
        try:
            lat, lon = territory.parse_gps(gps)
        except ValueError as error:
            raise _invalid(f"{path}.stops.location.gps", str(error)) from error
        if not territory.in_territory(session, lat, lon):
            raise BecknError(
                FULFILLMENT_UNAVAILABLE,
                f"the site at {gps} is outside our service territory",
                f"{path}.stops.location.gps",
            )
    kept_billing = {"name": name, "address": address}
    kept_billing |= {k: v for k, v in (("email", email), ("phone", phone)) if v is not None}
    stop: dict[str, Any] = {"type": "end", "location": {"address": site_address}}
    if gps is not None:
        stop["location"]["gps"] = gps
    return Site(
        billing=kept_billing,
        customer=_customer(customer, name, email, phone),
        stop=stop,
        name=name,
        email=email,
        phone=phone,
        address=site_address,
        gps=gps,
    )


def terms(
    catalog: catalogs.Catalog,
    chosen: Selection,
    where: Site,
    xinput: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The on_init order (and the document a confirm agrees to), with the item's documents
    form (`xinput`) if it has one."""
    fulfillment = {
        "id": chosen.fulfillment_id,
        "type": catalog.fulfillment_type,
        "tracking": True,
        "customer": where.customer,
        "stops": [where.stop],
        "contact": catalogs.support_contact(catalog),
    }
    item = _item(catalog, chosen)
    if xinput is not None:
        item["xinput"] = xinput
    return {
        "provider": catalogs.provider_json(catalog),
        "items": [item],
        "billing": where.billing,
        "fulfillments": [fulfillment],
        "quote": catalogs.quote(chosen.product),
        "payments": [catalogs.payment_terms(catalog, chosen.product)],
        "cancellation_terms": catalogs.cancellation_terms_json(catalog),
    }


def total(document: Mapping[str, Any]) -> tuple[Decimal, str]:
    """The quoted price of an order document."""
    price = document["quote"]["price"]
    return Decimal(price["value"]), str(price["currency"])


def rendered(order: ConnectionOrder, moment: orders.Moment | None = None) -> dict[str, Any]:
    """The order as the requester sees it: its document with id, status and state, as it is now
    or as an earlier change (`moment`, for the announcement of that change) left it."""
    status = moment.status if moment else order.status
    updated = moment.at if moment else order.updated
    details = moment.details if moment else order.details
    document = dict(order.document)
    fulfillments = [dict(f) for f in document["fulfillments"]]
    fulfillments[0]["state"] = {
        "descriptor": {"code": status, "name": STATE_NAMES[status]},
        "updated_at": rfc3339(updated),
    }
    items = [dict(i) for i in document["items"]]
    if details:
        items[0]["tags"] = [
            *items[0].get("tags", []),
            {
                "descriptor": {"code": DETAILS},
                "display": True,
                "list": [
                    {"descriptor": {"code": code}, "value": value}
                    for code, value in details.items()
                ],
            },
        ]
    result: dict[str, Any] = {
        "id": order.id,
        "status": ORDER_STATUS[status],
        **document,
        "items": items,
        "fulfillments": fulfillments,
        "created_at": rfc3339(order.created),
        "updated_at": rfc3339(updated),
    }
    if status == orders.CANCELLED and order.cancellation:
        result["cancellation"] = _cancellation(order.cancellation)
        fee = Decimal(order.cancellation.get("fee") or "0")
        currency = document["quote"]["price"]["currency"]
        price = {"value": str(fee), "currency": currency}
        result["quote"] = {
            "price": price,
            "breakup": [{"title": "Cancellation fee", "price": price}],
        }
    return result


def _cancellation(kept: Mapping[str, Any]) -> dict[str, Any]:
    cancellation: dict[str, Any] = {"cancelled_by": kept.get("cancelled_by", "PROVIDER")}
    if kept.get("time"):
        cancellation["time"] = rfc3339(datetime.fromisoformat(kept["time"]))
    reason: dict[str, Any] = {}
    if kept.get("reason_id"):
        reason["id"] = kept["reason_id"]
    if kept.get("reason"):
        reason["descriptor"] = {"name": kept["reason"]}
    if reason:
        cancellation["reason"] = reason
    return cancellation


def _item(catalog: catalogs.Catalog, chosen: Selection) -> dict[str, Any]:
    item = catalogs.item_json(catalog, chosen.product)
    if chosen.requested:
        item["tags"] = [
            *item.get("tags", []),
            {
                "descriptor": {"code": REQUESTED},
                "list": [
                    {"descriptor": {"code": code}, "value": str(value)}
                    for code, value in chosen.requested
                ],
            },
        ]
    return item


def _requested(
    product: catalogs.Product, item: Mapping[str, Any]
) -> tuple[tuple[str, Decimal], ...]:
    """The item's requested_connection_details, as numbers; the load within the product's."""
    found: dict[str, Decimal] = {}
    for group in _array(item.get("tags", []), "message.order.items[0].tags"):
        if not isinstance(group, Mapping) or _code(group) != REQUESTED:
            continue
        for tag in _array(group.get("list", []), f"message.order.items[0].tags.{REQUESTED}"):
            code = _code(tag) if isinstance(tag, Mapping) else None
            if code not in REQUESTED_CODES:
                continue
            path = f"message.order.items[0].tags.{REQUESTED}.{code}"
            found[code] = _number(tag.get("value"), path)
    load = found.get("requested_load_kw")
    if load is not None and not product.min_load_kw <= load <= product.max_load_kw:
        raise _invalid(
            f"message.order.items[0].tags.{REQUESTED}.requested_load_kw",
            f"{load} kW is outside {product.id}'s range of {product.min_load_kw} to "
            f"{product.max_load_kw} kW: choose another product",
        )
    return tuple((code, found[code]) for code in REQUESTED_CODES if code in found)


def _fulfillment_id(catalog: catalogs.Catalog, order: Mapping[str, Any]) -> str:
    fulfillments = _array(order.get("fulfillments", []), "message.order.fulfillments")
    if not fulfillments:
        return catalog.fulfillment_id
    wanted = _object(fulfillments[0], "message.order.fulfillments[0]").get("id")
    if wanted is not None and wanted != catalog.fulfillment_id:
        raise BecknError(
            FULFILLMENT_UNAVAILABLE,
            f"fulfillment {wanted!r} is not offered; use {catalog.fulfillment_id!r} (on-site)",
            "message.order.fulfillments[0].id",
        )
    return catalog.fulfillment_id


def _customer(
    given: Mapping[str, Any], name: str, email: str | None, phone: str | None
) -> dict[str, Any]:
    """The fulfillment's customer: the person and contact given, else the billing's."""
    person = given.get("person")
    contact = given.get("contact")
    person_name = person.get("name") if isinstance(person, Mapping) else None
    if not isinstance(person_name, str) or not person_name.strip():
        person_name = name
    reach: dict[str, str] = {}
    for key, fallback in (("phone", phone), ("email", email)):
        value = contact.get(key, fallback) if isinstance(contact, Mapping) else fallback
        if isinstance(value, str) and value:
            reach[key] = value[:TEXT_MAX]
    return {"person": {"name": person_name[:TEXT_MAX]}, "contact": reach}


def _code(tagged: Mapping[str, Any]) -> str | None:
    descriptor = tagged.get("descriptor")
    code = descriptor.get("code") if isinstance(descriptor, Mapping) else None
    return code if isinstance(code, str) else None


def _number(value: Any, path: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _invalid(path, f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise _invalid(path, f"{value!r} must be a number of zero or more")
    return number


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _invalid(path, "must be an object")
    return value


def _array(value: Any, path: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise _invalid(path, "must be an array")
    return value


def _text(holder: Mapping[str, Any], name: str, path: str) -> str:
    value = _optional(holder, name, path)
    if value is None:
        raise _invalid(f"{path}.{name}", "is required")
    return value


def _optional(holder: Mapping[str, Any], name: str, path: str) -> str | None:
    value = holder.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{path}.{name}", "must be a non-empty string")
    if len(value) > TEXT_MAX:
        raise _invalid(f"{path}.{name}", f"is longer than {TEXT_MAX} characters")
    return value.strip()


def _invalid(path: str, problem: str) -> BecknError:
    return BecknError(INVALID_REQUEST, f"{path} {problem}", path)
