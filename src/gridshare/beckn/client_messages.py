"""The messages of the BAP's requests, as the DEG Connections guide v1.1 examples have them:
search's `intent`, select's order with its `connection-type` and `requested_connection_details`
tag groups, init's billing and the fulfillment's customer and end stop, confirm repeating init
with the payments the BPP offered in on_init, and the order-id messages of status, cancel,
update, track, rating and support. Taxonomy values are the guide's table (`CONSUMER`, `ON_SITE`,
`END`, `ELECTRICITY_CONNECTION`); GPS points are core 1.1.0 `Gps`."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from gridshare.beckn.client_errors import ClientError

CONNECTION_CATEGORY: Final = "ELECTRICITY_CONNECTION"
USER_TYPE: Final = "CONSUMER"
FULFILLMENT_ID: Final = "1"
FULFILLMENT_TYPE: Final = "ON_SITE"
END_STOP: Final = "END"
RATING_CATEGORIES: Final = ("Item", "Order", "Fulfillment", "Provider", "Agent", "Support")

_GPS = re.compile(
    r"[-+]?([1-8]?\d(\.\d+)?|90(\.0+)?),\s*[-+]?(180(\.0+)?|((1[0-7]\d)|([1-9]?\d))(\.\d+)?)",
    re.ASCII,
)
"""core 1.1.0 `Gps`: "lat,lon"."""
_DECIMAL = re.compile(r"\d+(\.\d+)?", re.ASCII)


def gps(text: str) -> str:
    """A "lat,lon" point as core 1.1.0 `Gps` has it; ClientError otherwise."""
    value = text.strip()
    if not _GPS.fullmatch(value):
        raise ClientError(f'{text!r} is not a GPS point: give "lat,lon" such as 37.7749,-122.4194')
    return value


def search_message(
    text: str | None = None, category: str | None = CONNECTION_CATEGORY, point: str | None = None
) -> dict[str, Any]:
    """search's `intent`: free text in its descriptor, the category code, and a point to search
    around as the fulfillment's first stop (the v1.0 guide's place for it)."""
    intent: dict[str, Any] = {}
    if text:
        intent["descriptor"] = {"name": text}
    if category:
        intent["category"] = {"descriptor": {"code": category}}
    if point:
        intent["fulfillment"] = {"stops": [{"location": {"gps": gps(point)}}]}
    return {"intent": intent}


def select_order(
    provider_id: str,
    item_id: str,
    *,
    load_kw: str | None = None,
    monthly_kwh: str | None = None,
    user_type: str = USER_TYPE,
    fulfillment_id: str = FULFILLMENT_ID,
) -> dict[str, Any]:
    """select's order: the item with its `connection-type` and `requested_connection_details`
    tag groups (decimal strings, as in the guide's example)."""
    details = {
        "requested_load_kw": _decimal(load_kw, "the requested load (kW)"),
        "estimated_monthly_consumption_kwh": _decimal(monthly_kwh, "the monthly consumption"),
    }
    tags = [_tag_group("connection-type", {"user_type": user_type})]
    requested = {code: value for code, value in details.items() if value is not None}
    if requested:
        tags.append(_tag_group("requested_connection_details", requested))
    return {
        "provider": {"id": provider_id},
        "items": [{"id": item_id, "tags": tags}],
        "fulfillments": [{"id": fulfillment_id}],
    }


@dataclass(frozen=True)
class Billing:
    """Who pays and is visited: init's `billing` and the fulfillment's customer."""

    name: str
    address: str
    email: str | None = None
    phone: str | None = None

    def billing(self) -> dict[str, str]:
        fields = {"name": self.name, "email": self.email, "phone": self.phone}
        return {k: v for k, v in fields.items() if v} | {"address": self.address}

    def contact(self) -> dict[str, str]:
        return {k: v for k, v in (("phone", self.phone), ("email", self.email)) if v}


def init_order(
    selected: Mapping[str, Any],
    billing: Billing,
    *,
    point: str | None = None,
    fulfillment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """init's order: the selected provider and items, `billing`, and the fulfillment (the one the
    BPP answered in on_select, else the selected one, typed ON_SITE) with its customer and the
    site as its end stop."""
    chosen = dict(fulfillment or selected["fulfillments"][0])
    location: dict[str, str] = {"address": billing.address}
    if point:
        location["gps"] = gps(point)
    customer: dict[str, Any] = {"person": {"name": billing.name}}
    if billing.contact():
        customer["contact"] = billing.contact()
    return {
        "provider": copy.deepcopy(selected["provider"]),
        "items": copy.deepcopy(selected["items"]),
        "billing": billing.billing(),
        "fulfillments": [
            {
                "id": chosen.get("id", FULFILLMENT_ID),
                "type": chosen.get("type", FULFILLMENT_TYPE),
                "customer": customer,
                "stops": [{"type": END_STOP, "location": location}],
            }
        ],
    }


def confirm_order(initialised: Mapping[str, Any], payments: Iterable[Any]) -> dict[str, Any]:
    """confirm's order: init's, repeated, with the payments the BPP offered in on_init."""
    order = copy.deepcopy(dict(initialised))
    order["payments"] = copy.deepcopy(list(payments))
    return order


def status_message(order_id: str) -> dict[str, Any]:
    return {"order_id": order_id}


def cancel_message(
    order_id: str, reason_id: str | None = None, description: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"order_id": order_id}
    if reason_id:
        message["cancellation_reason_id"] = reason_id
    if description:
        message["descriptor"] = {"short_desc": description}
    return message


def update_message(order_id: str, target: str, order: Mapping[str, Any]) -> dict[str, Any]:
    """update's `update_target` (e.g. "billing") and the order's changed parts."""
    return {"update_target": target, "order": {**order, "id": order_id}}


def track_message(order_id: str, callback_url: str | None = None) -> dict[str, Any]:
    message = {"order_id": order_id}
    if callback_url:
        message["callback_url"] = callback_url
    return message


def rating_message(category: str, rated_id: str, value: str) -> dict[str, Any]:
    if category not in RATING_CATEGORIES:
        raise ClientError(f"rating category {category!r} is not one of {RATING_CATEGORIES}")
    return {"ratings": [{"rating_category": category, "id": rated_id, "value": value}]}


def support_message(ref_id: str, callback_phone: str | None = None) -> dict[str, Any]:
    support = {"ref_id": ref_id}
    if callback_phone:
        support["callback_phone"] = callback_phone
    return {"support": support}


def _tag_group(code: str, values: Mapping[str, str]) -> dict[str, Any]:
    return {
        "descriptor": {"code": code},
        "list": [{"descriptor": {"code": name}, "value": value} for name, value in values.items()],
    }


def _decimal(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not _DECIMAL.fullmatch(value.strip()):
        raise ClientError(f"{what} must be a non-negative decimal number, not {value!r}")
    return value.strip()
