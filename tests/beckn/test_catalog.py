"""The connection catalog: loading and validating the configuration, and the core 1.1.0 objects
built from it, checked against transaction.yaml (DEG Connections guide v1.1 "on_search",
"on_select", "on_init", "Taxonomy and Layer 2 Configuration"). Search is in test_search.py."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gridshare.beckn import catalog as catalogs
from gridshare.beckn.catalog import Catalog, CatalogError, normalise
from gridshare.beckn.errors import BecknError
from gridshare.config import Settings
from tests.beckn import schema

EXAMPLES = Path(__file__).parent / "specs" / "connections_examples"
BUNDLED = json.loads(catalogs.DEFAULT_FILE.read_text(encoding="utf-8"))
ALL = [
    "residential-single-phase",
    "commercial-three-phase",
    "industrial-medium-voltage",
    "agricultural-pumping",
]


def example(name: str) -> dict[str, Any]:
    (path,) = EXAMPLES.glob(f"*/{name}")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@pytest.fixture
def catalog(settings: Settings) -> Catalog:
    return catalogs.load(settings)


def custom(tmp_path: Path, change: Callable[[dict[str, Any]], object], name: str = "c") -> Settings:
    """Settings naming a copy of the bundled catalog that `change` edited in place."""
    data = copy.deepcopy(BUNDLED)
    change(data)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return Settings(data_dir=tmp_path, base_url="http://testserver", beckn_catalog_file=path)


# -- loading -----------------------------------------------------------------------------------


def test_the_bundled_catalog(catalog: Catalog, settings: Settings) -> None:
    """The demo utility: its name, description and support URL from the settings, four USD
    products."""
    assert catalog.provider_id == "dge-connections"
    assert (catalog.name, catalog.long_desc) == (
        settings.utility_name,
        settings.utility_description,
    )
    assert (catalog.support.email, catalog.support.url) == (
        "new-connections@example.com",
        "http://testserver/support",
    )
    assert [p.id for p in catalog.products] == ALL
    assert {p.currency for p in catalog.products} == {"USD"}
    assert [p.property_type for p in catalog.products] == [
        "RESIDENTIAL",
        "COMMERCIAL",
        "INDUSTRIAL",
        "AGRICULTURAL",
    ]
    assert [p.total for p in catalog.products] == [
        Decimal("200.00"),
        Decimal("500.00"),
        Decimal("9000.00"),
        Decimal("600.00"),
    ]
    assert (catalog.category_code, catalog.fulfillment_type) == ("ELECTRICITY_CONNECTION", "ONSITE")


def test_the_bundled_catalog_ships_in_the_wheel() -> None:
    pyproject = tomllib.loads(
        (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert "beckn/catalog.json" in pyproject["tool"]["setuptools"]["package-data"]["gridshare"]


def test_the_file_overrides_the_settings(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data |= {"name": "Valley Power", "long_desc": "Power for the valley"}
        data["support"] |= {"email": "help@valley.example", "url": "https://valley.example/help"}

    catalog = catalogs.load(custom(tmp_path, change))
    assert (catalog.name, catalog.long_desc) == ("Valley Power", "Power for the valley")
    assert (catalog.support.email, catalog.support.url) == (
        "help@valley.example",
        "https://valley.example/help",
    )


def test_display_strings_and_spellings_are_normalised_on_load(tmp_path: Path) -> None:
    """The guide's examples and taxonomy spell the same codes differently; the file may use any."""

    def change(data: dict[str, Any]) -> None:
        data |= {
            "category_code": "electricity-connection",
            "fulfillment_type": "ON_SITE",
            "payment_type": "on_fulfillment",
            "payment_collected_by": "bpp",
        }
        data["products"][0] |= {
            "property_type": "Residential",
            "phase": "Single Phase",
            "user_types": ["Consumer", "producer"],
        }
        data["cancellation_terms"][1]["status"] = "In Progress"

    catalog = catalogs.load(custom(tmp_path, change))
    assert (catalog.category_code, catalog.fulfillment_type) == ("ELECTRICITY_CONNECTION", "ONSITE")
    assert (catalog.payment_type, catalog.payment_collected_by) == ("ON-FULFILLMENT", "BPP")
    first = catalog.products[0]
    assert (first.property_type, first.phase, first.user_types) == (
        "RESIDENTIAL",
        "SINGLE_PHASE",
        ("CONSUMER", "PRODUCER"),
    )
    assert catalog.cancellation_terms[1].status == "IN_PROGRESS"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or, with value ..., delete) the field at a dotted path such as products.0.phase."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        holder: Any = data
        for part in parents:
            holder = holder[int(part)] if part.isdigit() else holder[part]
        key: Any = int(last) if last.isdigit() else last
        if value is ...:
            del holder[key]
        else:
            holder[key] = value

    return change


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (_set("provider_id", ...), "provider_id", "Field required"),
        (_set("short_desc", "  "), "short_desc", "must not be blank"),
        (_set("products.1.property_type", "HOUSE"), "products[1].property_type", "RESIDENTIAL"),
        (_set("products.0.phase", "Two Phase"), "products[0].phase", "SINGLE_PHASE"),
        (_set("products.0.user_types", []), "products[0].user_types", "at least 1"),
        (_set("products.0.user_types", ["CONSUMER", "Consumer"]), "products[0]", "CONSUMER"),
        (
            _set("products.2.price_breakup.1.amount", "-1"),
            "products[2].price_breakup[1].amount",
            "greater than or equal to 0",
        ),
        (
            _set("products.2.price_breakup.1.amount", "a lot"),
            "products[2].price_breakup[1].amount",
            "decimal",
        ),
        (_set("products.0.price_breakup", []), "products[0].price_breakup", "at least 1"),
        (_set("products.0.currency", "usd"), "products[0].currency", "pattern"),
        (_set("products.0.min_load_kw", "30"), "products[0]", "above max_load_kw"),
        (_set("products.0.colour", "red"), "products[0].colour", "Unexpected keyword"),
        (_set("products.1.id", "residential-single-phase"), "(the file)", "product ids repeat"),
        (_set("products", []), "products", "at least 1"),
        (_set("category_code", "gas-connection"), "category_code", "ELECTRICITY_CONNECTION"),
        (_set("fulfillment_type", "DELIVERY"), "fulfillment_type", "ONSITE"),
        (_set("payment_type", "LATER"), "payment_type", "ON-FULFILLMENT"),
        (_set("support.email", ""), "support.email", "must not be blank"),
        (
            _set("cancellation_terms.0.fee", {"percentage": "5", "amount": "5"}),
            "cancellation_terms[0].fee",
            "either a percentage or an amount",
        ),
        (
            _set("cancellation_terms.0.fee", {"amount": "5"}),
            "cancellation_terms[0].fee",
            "needs its currency",
        ),
        (
            _set("cancellation_terms.0.fee", {"percentage": "101"}),
            "cancellation_terms[0].fee.percentage",
            "less than or equal to 100",
        ),
        (
            _set("cancellation_terms.0.fee", {"amount": "5", "currency": "EUR"}),
            "(the file)",
            "in EUR, but product 'residential-single-phase' is priced in USD",
        ),
        (_set("cancellation_terms.0.status", "DONE"), "cancellation_terms[0].status", "PENDING"),
        (_set("cancellation_terms.1.status", "PENDING"), "(the file)", "statuses repeat PENDING"),
        (_set("cancellation_reasons.1.id", "1"), "(the file)", "ids repeat 1"),
    ],
)
def test_a_broken_catalog_names_its_file_and_field(
    change: Callable[[dict[str, Any]], None], field: str, problem: str, tmp_path: Path
) -> None:
    settings = custom(tmp_path, change)
    with pytest.raises(CatalogError) as caught:
        catalogs.load(settings)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert message.startswith(f"Beckn catalog {settings.beckn_catalog_file}: ")
    assert f"{field}: " in message
    assert problem in message


def test_an_unreadable_catalog(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    settings = Settings(data_dir=tmp_path, beckn_catalog_file=missing)
    with pytest.raises(CatalogError, match=f"Beckn catalog {missing}: cannot read it"):
        catalogs.load(settings)
    broken = tmp_path / "broken.json"
    broken.write_text("{products: []}", encoding="utf-8")
    settings = Settings(data_dir=tmp_path, beckn_catalog_file=broken)
    with pytest.raises(CatalogError, match=f"Beckn catalog {broken}: not valid JSON"):
        catalogs.load(settings)
    listed = tmp_path / "listed.json"
    listed.write_text("[]", encoding="utf-8")
    settings = Settings(data_dir=tmp_path, beckn_catalog_file=listed)
    with pytest.raises(CatalogError, match=r"listed.json: \(the file\): "):
        catalogs.load(settings)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("Single Phase", "SINGLE_PHASE"),
        ("single-phase", "SINGLE_PHASE"),
        ("SINGLE_PHASE", "SINGLE_PHASE"),
        ("electricity-connection", "ELECTRICITY_CONNECTION"),
        ("  Three  Phase ", "THREE_PHASE"),
        ("ONSITE", "ONSITE"),
        ("ON_SITE", "ONSITE"),
        ("On Site", "ONSITE"),
        ("user_type", "USER_TYPE"),
        ("user-type", "USER_TYPE"),
        ("In Progress", "IN_PROGRESS"),
    ],
)
def test_normalise(value: str, code: str) -> None:
    """Taxonomy codes vs the examples' display strings (guide v1.1 "Taxonomy" table)."""
    assert normalise(value) == code


# -- the objects -------------------------------------------------------------------------------


def test_product_lookup(catalog: Catalog) -> None:
    """BECKN-005: 30001 provider not found, 30004 item not found."""
    chosen = catalogs.product(catalog, "dge-connections", "commercial-three-phase")
    assert chosen.name == "Commercial Electricity Connection"
    assert catalogs.product(catalog, None, "commercial-three-phase") == chosen
    with pytest.raises(BecknError) as caught:
        catalogs.product(catalog, "sf_electric_authority", "commercial-three-phase")
    assert (caught.value.code, caught.value.path) == ("30001", "message.order.provider.id")
    assert "'dge-connections'" in caught.value.message
    for item_id in ("new-resi-connection", None):
        with pytest.raises(BecknError) as caught:
            catalogs.product(catalog, "dge-connections", item_id)
        assert (caught.value.code, caught.value.path) == ("30004", "message.order.items[0].id")
        assert "residential-single-phase, commercial-three-phase" in caught.value.message


def test_item_json(catalog: Catalog) -> None:
    """The on_search example's Item, with taxonomy codes as tag values."""
    item = catalogs.item_json(catalog, catalog.products[0])
    assert item["id"] == "residential-single-phase"
    assert item["descriptor"]["name"] == "Residential Electricity Connection"
    assert item["price"] == {"value": "200.00", "estimated_value": "200.00", "currency": "USD"}
    assert (item["category_ids"], item["location_ids"], item["fulfillment_ids"]) == (
        ["electricity-connection"],
        ["dge-electric-territory"],
        ["1"],
    )
    connection, documentation = item["tags"]
    assert connection["descriptor"]["code"] == "connection-type"
    assert {t["descriptor"]["code"]: t["value"] for t in connection["list"]} == {
        "property-type": "RESIDENTIAL",
        "phase": "SINGLE_PHASE",
        "voltage-level": "120/240 V",
        "min_load_kw": "0",
        "max_load_kw": "25",
        "user_type": "CONSUMER, PRODUCER",
    }
    assert documentation["descriptor"]["code"] == "documentation"
    assert documentation["list"] == [
        {
            "descriptor": {"code": "required-docs", "name": "Required documents"},
            "value": "ID proof, Ownership certificate or lease, Wiring diagram",
        }
    ]


def test_quote_total_is_the_exact_sum_of_the_breakup(tmp_path: Path) -> None:
    """DESIGN rule 7: Decimal end to end (a JSON number 0.10 plus "0.20" is 0.30, not
    0.30000000000000004); core 1.1.0 Price values are decimal strings, never exponents."""

    def change(data: dict[str, Any]) -> None:
        data["products"][0]["price_breakup"] = [
            {"title": "Connection Setup Fee", "amount": "NUMBER"},
            {"title": "Meter Installation", "amount": "0.20"},
            {"title": "Permit", "amount": "1E+2"},
        ]

    settings = custom(tmp_path, change)
    assert settings.beckn_catalog_file is not None
    text = settings.beckn_catalog_file.read_text(encoding="utf-8")
    settings.beckn_catalog_file.write_text(text.replace('"NUMBER"', "0.10"), encoding="utf-8")
    catalog = catalogs.load(settings)
    assert catalogs.quote(catalog.products[0]) == {
        "price": {"value": "100.30", "currency": "USD"},
        "breakup": [
            {"title": "Connection Setup Fee", "price": {"value": "0.10", "currency": "USD"}},
            {"title": "Meter Installation", "price": {"value": "0.20", "currency": "USD"}},
            {"title": "Permit", "price": {"value": "100", "currency": "USD"}},
        ],
    }


def test_payment_terms_ask_for_the_quote_total(catalog: Catalog) -> None:
    """The on_init example's Payment in core 1.1.0 spellings; its amount is the quote's total
    (the example's 150 against a quote of 200 is not followed)."""
    product = catalog.products[0]
    assert catalogs.payment_terms(catalog, product) == {
        "type": "ON-FULFILLMENT",
        "collected_by": "BPP",
        "status": "NOT-PAID",
        "params": {"amount": "200.00", "currency": "USD"},
    }
    assert catalogs.quote(product)["price"]["value"] == "200.00"


def test_cancellation_fees(catalog: Catalog) -> None:
    """PENDING free, IN_PROGRESS 25 % of the total, never once COMPLETED, FAILED or CANCELLED."""
    industrial = catalogs.product(catalog, None, "industrial-medium-voltage")
    assert catalogs.cancellation_fee(catalog, industrial, "PENDING") == Decimal("0")
    assert catalogs.cancellation_fee(catalog, industrial, "IN_PROGRESS") == Decimal("2250.00")
    assert catalogs.cancellation_fee(catalog, industrial, "In Progress") == Decimal("2250.00")
    for final in ("COMPLETED", "FAILED", "CANCELLED", "ON_HOLD"):
        assert catalogs.cancellation_fee(catalog, industrial, final) is None
    with pytest.raises(ValueError, match="'DONE' is not a connection-status"):
        catalogs.cancellation_fee(catalog, industrial, "DONE")


def test_cancellation_fee_rounding_and_fixed_amounts(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["products"][0]["price_breakup"] = [{"title": "Setup", "amount": "199.99"}]
        data["cancellation_terms"] = [
            {"status": "PENDING", "fee": {"percentage": "12.5"}},
            {"status": "ON_HOLD", "fee": {"amount": "35", "currency": "USD"}},
        ]

    catalog = catalogs.load(custom(tmp_path, change))
    product = catalog.products[0]
    assert catalogs.cancellation_fee(catalog, product, "PENDING") == Decimal("25.00")  # 24.99875
    assert catalogs.cancellation_fee(catalog, product, "ON_HOLD") == Decimal("35")
    assert catalogs.cancellation_fee(catalog, product, "IN_PROGRESS") is None
    assert catalogs.cancellation_terms_json(catalog) == [
        {
            "fulfillment_state": {"descriptor": {"code": "PENDING"}},
            "reason_required": False,
            "cancellation_fee": {"percentage": "12.5"},
        },
        {
            "fulfillment_state": {"descriptor": {"code": "ON_HOLD"}},
            "reason_required": False,
            "cancellation_fee": {"amount": {"value": "35", "currency": "USD"}},
        },
    ]


def test_cancellation_reasons(catalog: Catalog) -> None:
    assert catalogs.cancellation_reason(catalog, "1") == "Changed my mind"
    assert catalogs.cancellation_reason(catalog, "99") is None
    assert [r.id for r in catalog.cancellation_reasons] == ["1", "2", "3", "4", "5", "6"]


def test_order_objects_are_valid_core_messages(catalog: Catalog, settings: Settings) -> None:
    """Provider, Item, Quotation, Payment, CancellationTerm and the support Contact, in an
    on_init order as the guide's example builds it, against transaction.yaml."""
    product = catalog.products[1]
    body = example("on_init.json")
    body["context"] |= {
        "transaction_id": "0b7e3c1e-8f0e-4a47-9b53-6f2c3a0c9f11",
        "message_id": "5d0f5e47-2f0a-4c7a-93b4-51b8c1b2d7e0",
    }
    order = body["message"]["order"]
    del order["items"][0]["xinput"]  # its head/index/headings are core 1.2, not 1.1.0
    order |= {
        "provider": catalogs.provider_json(catalog),
        "items": [catalogs.item_json(catalog, product)],
        "quote": catalogs.quote(product),
        "payments": [catalogs.payment_terms(catalog, product)],
        "cancellation_terms": catalogs.cancellation_terms_json(catalog),
    }
    order["fulfillments"][0]["contact"] = catalogs.support_contact(catalog)
    schema.assert_valid_message("on_init", body)
    assert catalogs.support_contact(catalog) == {
        "phone": "+15305550142",
        "email": "new-connections@example.com",
        "url": "http://testserver/support",
    }
