"""The request messages (gridshare.beckn.client_messages): one for every BPP action, each the
DEG Connections guide v1.1 example where the guide has one (tests/beckn/specs)."""

from __future__ import annotations

from typing import Any

import pytest

from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.client_messages import (
    Billing,
    confirm_order,
    init_order,
    rating_message,
    search_message,
    select_order,
    status_message,
)
from gridshare.beckn.context import BPP_ACTIONS
from tests.beckn.client_examples import example, messages


def test_there_is_a_message_for_every_bpp_action() -> None:
    assert set(messages()) == BPP_ACTIONS


def test_a_bad_gps_point_load_or_rating_category_is_refused() -> None:
    with pytest.raises(ClientError, match="not a GPS point"):
        search_message(point="37.7,-200")
    with pytest.raises(ClientError, match="non-negative decimal"):
        select_order("p", "i", load_kw="five")
    with pytest.raises(ClientError, match="rating category"):
        rating_message("Meter", "order-1", "5")


TAXONOMY = {"Consumer": "CONSUMER", "ONSITE": "ON_SITE", "end": "END"}
"""The examples' display strings and the guide's taxonomy codes we send (specs/README.md)."""


def to_taxonomy(document: Any) -> Any:
    if isinstance(document, dict):
        return {key: to_taxonomy(value) for key, value in document.items()}
    if isinstance(document, list):
        return [to_taxonomy(value) for value in document]
    return TAXONOMY.get(document, document) if isinstance(document, str) else document


def test_the_messages_are_the_connections_guides_examples() -> None:
    """Connections guide v1.1, "select", "init", "confirm", "status": select's
    `requested_connection_details`, init's billing with the fulfillment's customer and end stop,
    confirm repeating init with on_init's payments. Only taxonomy spellings differ."""
    selected = example("select/select.json")["message"]["order"]
    assert select_order(
        "sf_electric_authority", "new-resi-connection", load_kw="5", monthly_kwh="300"
    ) == to_taxonomy(selected)

    initialised = example("init/init.json")["message"]["order"]
    offered = example("select/on_select.json")["message"]["order"]["fulfillments"][0]
    built = init_order(
        to_taxonomy(selected),
        Billing(**initialised["billing"]),
        point="37.774921,122.419424",
        fulfillment=to_taxonomy(offered),
    )
    assert built == to_taxonomy(initialised)

    on_init = example("init/on_init.json")["message"]["order"]
    confirmed = confirm_order(initialised, on_init["payments"])
    assert confirmed == example("confirm/confirm.json")["message"]["order"]

    status = example("status/status.json")["message"]
    assert status_message("conn-order-001") == status

    search = example("search/search.json")["message"]
    text = search["intent"]["descriptor"]["name"]
    assert search_message(text, "electricity-connection") == search


def test_init_uses_the_selected_fulfillment_when_on_select_offered_none() -> None:
    selected = select_order("p", "i")
    built = init_order(selected, Billing(name="A", address="1 Main St"))
    assert built["fulfillments"] == [
        {
            "id": "1",
            "type": "ON_SITE",
            "customer": {"person": {"name": "A"}},
            "stops": [{"type": "END", "location": {"address": "1 Main St"}}],
        }
    ]
    assert built["billing"] == {"name": "A", "address": "1 Main St"}
