"""Search: core 1.1.0 `Intent` matched against the connection catalog, answered with an
on_search message checked against transaction.yaml (DEG Connections guide v1.1 "search",
"on_search", "Taxonomy and Layer 2 Configuration")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare.beckn import catalog as catalogs
from gridshare.beckn.catalog import Catalog
from gridshare.beckn.context import callback_context
from gridshare.beckn.errors import BecknError
from gridshare.beckn.search import on_search
from gridshare.config import Settings
from gridshare.demo.territory import ELECTRIC_TERRITORY, TOWN, polygon
from gridshare.utility.coverage import save_entry
from tests.beckn import schema

EXAMPLES = Path(__file__).parent / "specs" / "connections_examples"
ALL = [
    "residential-single-phase",
    "commercial-three-phase",
    "industrial-medium-voltage",
    "agricultural-pumping",
]
DAVIS = f"{TOWN['Davis'].latitude},{TOWN['Davis'].longitude}"
SAN_FRANCISCO = "37.7749,-122.4194"


def example(name: str) -> dict[str, Any]:
    (path,) = EXAMPLES.glob(f"*/{name}")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@pytest.fixture
def catalog(settings: Settings) -> Catalog:
    return catalogs.load(settings)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@pytest.fixture
def territory(session: Session) -> Session:
    """The demo utility's electric service territory, as a coverage entry."""
    save_entry(
        session,
        entry_id="electric",
        entity_name="Demo Gas & Electric",
        entity_abbreviation="DG&E",
        country="US",
        name="DG&E electric service territory",
        type="geographic",
        role="authoritative",
        infrastructure_types=["distribution_utility"],
        commodity_types=["electricity"],
        capabilities=[],
        geojson=polygon(ELECTRIC_TERRITORY, "DG&E electric service territory"),
    )
    session.commit()
    return session


def on_search_body(settings: Settings, message: dict[str, Any]) -> dict[str, Any]:
    """A whole on_search callback answering the guide's search example (with UUID ids)."""
    request = example("search.json")["context"]
    request |= {
        "transaction_id": "0b7e3c1e-8f0e-4a47-9b53-6f2c3a0c9f11",
        "message_id": "5d0f5e47-2f0a-4c7a-93b4-51b8c1b2d7e0",
    }
    return {"context": callback_context(request, settings, "search"), "message": message}


def found(message: dict[str, Any]) -> list[str]:
    providers = message["catalog"]["providers"]
    assert len(providers) <= 1
    return [item["id"] for item in providers[0]["items"]] if providers else []


def search(catalog: Catalog, session: Session, settings: Settings, intent: object) -> list[str]:
    """The products `intent` finds, having checked the on_search against transaction.yaml."""
    message = on_search(catalog, session, intent)
    schema.assert_valid_message("on_search", on_search_body(settings, message))
    return found(message)


def refused(catalog: Catalog, session: Session, intent: object) -> BecknError:
    with pytest.raises(BecknError) as caught:
        on_search(catalog, session, intent)
    assert caught.value.code == "30000"
    return caught.value


def tags(*pairs: tuple[str, str], group: str = "filters") -> list[dict[str, Any]]:
    return [
        {
            "descriptor": {"code": group},
            "list": [{"descriptor": {"code": code}, "value": value} for code, value in pairs],
        }
    ]


def stops(*gps: str) -> dict[str, Any]:
    return {"stops": [{"type": "end", "location": {"gps": point}} for point in gps]}


def test_the_guide_search_example_finds_every_product(
    catalog: Catalog, session: Session, settings: Settings
) -> None:
    """Connections guide v1.1 "search": free text "Request for a new electricity connection"
    and category code "electricity-connection"; the answer is a valid on_search."""
    intent = example("search.json")["message"]["intent"]
    message = on_search(catalog, session, intent)
    schema.assert_valid_message("on_search", on_search_body(settings, message))
    assert found(message) == ALL
    (provider,) = message["catalog"]["providers"]
    assert provider["id"] == "dge-connections"
    assert provider["descriptor"]["name"] == settings.utility_name
    assert provider["categories"] == [
        {
            "id": "electricity-connection",
            "descriptor": {"code": "ELECTRICITY_CONNECTION", "name": "Electricity Connection"},
        }
    ]
    assert provider["fulfillments"] == [{"id": "1", "type": "ONSITE"}]
    assert provider["locations"][0]["id"] == "dge-electric-territory"
    assert provider["items"][1] == catalogs.item_json(catalog, catalog.products[1])


def test_no_intent_lists_everything(catalog: Catalog, session: Session, settings: Settings) -> None:
    assert search(catalog, session, settings, None) == ALL
    assert search(catalog, session, settings, {}) == ALL


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ({"descriptor": {"code": "electricity-connection"}}, ALL),
        ({"descriptor": {"code": "ELECTRICITY_CONNECTION"}}, ALL),
        ({"descriptor": {"code": "gas-connection"}}, []),
        ({"id": "electricity-connection"}, ALL),
        ({"id": "ELECTRICITY_CONNECTION"}, ALL),
        ({"id": "1"}, []),
    ],
)
def test_category(
    category: dict[str, Any],
    expected: list[str],
    catalog: Catalog,
    session: Session,
    settings: Settings,
) -> None:
    assert search(catalog, session, settings, {"category": category}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Request for a new electricity connection", ALL),
        ("commercial", ["commercial-three-phase"]),
        ("Commercial connections", ["commercial-three-phase"]),
        ("three phase", ALL[1:]),
        ("residential three phase", []),
        ("12 kV", ["industrial-medium-voltage"]),
        ("power for my farm", ["agricultural-pumping"]),
        ("a connection for my home", ["residential-single-phase"]),
        ("something else entirely", ALL),
        ("", ALL),
    ],
)
def test_free_text(
    text: str, expected: list[str], catalog: Catalog, session: Session, settings: Settings
) -> None:
    """Words the catalog uses must all be in a product; other words are ignored."""
    intent = {"descriptor": {"name": text}}
    assert search(catalog, session, settings, intent) == expected


def test_free_text_of_the_item(catalog: Catalog, session: Session, settings: Settings) -> None:
    intent = {"descriptor": {"name": "three phase"}, "item": {"descriptor": {"name": "farm"}}}
    assert search(catalog, session, settings, intent) == ["agricultural-pumping"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([("property-type", "Residential")], ["residential-single-phase"]),
        ([("property-type", "COMMERCIAL")], ["commercial-three-phase"]),
        ([("phase", "Single Phase")], ["residential-single-phase"]),
        ([("connection-phase", "THREE_PHASE")], ALL[1:]),
        ([("phase", "Split Phase")], []),
        ([("phase", "Single Phase, Three Phase")], ALL),
        ([("user_type", "Producer")], ALL[:3]),
        ([("user-type", "Consumer")], ALL),
        ([("requested_load_kw", "2")], ["residential-single-phase"]),
        ([("requested_load_kw", "20")], [*ALL[:2], ALL[3]]),
        ([("requested_load_kw", "300")], ALL[1:2] + ALL[3:]),
        ([("load_kw", "750")], ["industrial-medium-voltage"]),
        ([("requested_load_kw", "400"), ("phase", "Three Phase")], ["commercial-three-phase"]),
        ([("estimated_monthly_consumption_kwh", "300")], ALL),
    ],
)
def test_tag_filters(
    filters: list[tuple[str, str]],
    expected: list[str],
    catalog: Catalog,
    session: Session,
    settings: Settings,
) -> None:
    """Guide v1.1 "search": "filters like load or connection phase can be passed in
    message->intent->tags", as codes or as the examples' display strings."""
    assert search(catalog, session, settings, {"tags": tags(*filters)}) == expected


def test_item_tags_filter_too(catalog: Catalog, session: Session, settings: Settings) -> None:
    intent = {
        "tags": tags(("phase", "Three Phase")),
        "item": {"tags": tags(("property-type", "Industrial"), group="connection-type")},
    }
    assert search(catalog, session, settings, intent) == ["industrial-medium-voltage"]


def test_provider_and_item_ids(catalog: Catalog, session: Session, settings: Settings) -> None:
    assert search(catalog, session, settings, {"provider": {"id": "dge-connections"}}) == ALL
    assert search(catalog, session, settings, {"provider": {"id": "sf_electric_authority"}}) == []
    intent = {"item": {"id": "agricultural-pumping"}}
    assert search(catalog, session, settings, intent) == ["agricultural-pumping"]
    assert search(catalog, session, settings, {"item": {"id": "new-resi-connection"}}) == []


def test_location_inside_the_territory(
    catalog: Catalog, territory: Session, settings: Settings
) -> None:
    """A site in the electric service territory (coverage entries, CDS-WG1-01 §4.3) finds the
    products; one outside, or any of several stops outside, finds none."""
    assert search(catalog, territory, settings, {"fulfillment": stops(DAVIS)}) == ALL
    assert search(catalog, territory, settings, {"fulfillment": stops(SAN_FRANCISCO)}) == []
    assert search(catalog, territory, settings, {"fulfillment": stops(DAVIS, SAN_FRANCISCO)}) == []
    example_site = "37.774921,122.419424"  # the guide's init example (longitude sign lost)
    assert search(catalog, territory, settings, {"fulfillment": stops(example_site)}) == []
    assert search(catalog, territory, settings, {"location": {"gps": DAVIS}}) == ALL
    assert search(catalog, territory, settings, {"location": {"gps": SAN_FRANCISCO}}) == []
    intent = {"descriptor": {"name": "farm"}, "fulfillment": stops(DAVIS)}
    assert search(catalog, territory, settings, intent) == ["agricultural-pumping"]


def test_location_without_gps_does_not_narrow(
    catalog: Catalog, territory: Session, settings: Settings
) -> None:
    fulfillment = {
        "stops": [{"location": {"address": "1 Main St, Davis, CA", "area_code": "95616"}}]
    }
    assert search(catalog, territory, settings, {"fulfillment": fulfillment}) == ALL


def test_without_a_territory_no_location_is_served(
    catalog: Catalog, session: Session, settings: Settings
) -> None:
    assert search(catalog, session, settings, {"fulfillment": stops(DAVIS)}) == []
    assert search(catalog, session, settings, {}) == ALL


@pytest.mark.parametrize(
    ("intent", "path", "problem"),
    [
        ("electricity", "message.intent", "must be an object"),
        ({"descriptor": "new connection"}, "message.intent.descriptor", "must be an object"),
        ({"descriptor": {"name": 5}}, "message.intent.descriptor.name", "must be a string"),
        (
            {"item": {"descriptor": {"name": ["a"]}}},
            "message.intent.item.descriptor.name",
            "string",
        ),
        ({"category": {"id": 1}}, "message.intent.category.id", "must be a string"),
        ({"provider": []}, "message.intent.provider", "must be an object"),
        ({"tags": {}}, "message.intent.tags", "must be an array"),
        ({"tags": [{"list": [3]}]}, "message.intent.tags[0].list[0]", "must be an object"),
        (
            {"tags": tags(("property-type", "Apartment"))},
            "message.intent.tags[0].list[0].value",
            "has APARTMENT, which is not one of RESIDENTIAL, COMMERCIAL",
        ),
        (
            {"item": {"tags": tags(("phase", "Two Phase"))}},
            "message.intent.item.tags[0].list[0].value",
            "not one of SINGLE_PHASE, THREE_PHASE, SPLIT_PHASE",
        ),
        (
            {"tags": tags(("requested_load_kw", "lots"))},
            "message.intent.tags[0].list[0].value",
            'must be a load in kW such as "5"',
        ),
        (
            {"fulfillment": stops("38.5449;-121.7405")},
            "message.intent.fulfillment.stops[0].location.gps",
            "is not a GPS position",
        ),
        (
            {"fulfillment": {"stops": [{"location": "Davis"}]}},
            "message.intent.fulfillment.stops[0].location",
            "must be an object",
        ),
        ({"fulfillment": {"stops": "Davis"}}, "message.intent.fulfillment.stops", "an array"),
        ({"location": {"gps": 38.5}}, "message.intent.location.gps", "must be a string"),
    ],
)
def test_a_malformed_intent_is_refused(
    intent: object, path: str, problem: str, catalog: Catalog, session: Session
) -> None:
    """BECKN-005 30000 (invalid request), naming the field."""
    error = refused(catalog, session, intent)
    assert error.path == path
    assert error.message.startswith(f"{path} ")
    assert problem in error.message
