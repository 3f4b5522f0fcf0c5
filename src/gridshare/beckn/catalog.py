"""The connection catalog a BPP offers (DEG Connections guide v1.1, "on_search", "on_select",
"on_init" and "Taxonomy and Layer 2 Configuration"), in core 1.1.0 terms (`Catalog`, `Provider`,
`Item`, `Price`, `Quotation`, `Payment`, `CancellationTerm`). The search over it is in `search`.

The catalog is configuration: `settings.beckn_catalog_file`, or the bundled `catalog.json` (the
demo utility's). It is validated when loaded; a broken file raises `CatalogError` (a ValueError)
naming the file and the field. Its shape is that of `Catalog` below, field for field. The
provider's `name` and `long_desc` default to `settings.utility_name` and `utility_description`,
the support `email` and `url` to `settings.support_email` and `settings.support`.

Codes:
- Taxonomy values are the guide's table codes (`RESIDENTIAL`, `SINGLE_PHASE`, `CONSUMER`, the
  connection-status codes); the examples' display strings ("Single Phase", "Residential") are
  accepted wherever a code is read, through `normalise`. What we send carries the codes.
- The category code is `ELECTRICITY_CONNECTION` (the taxonomy and the layer-2 file); the search
  example's "electricity-connection" normalises to it.
- The fulfillment type is sent as "ONSITE" (every example); the taxonomy's "ON_SITE" is accepted.
- Payment `type` and `status` use core 1.1.0's spellings ("ON-FULFILLMENT", "NOT-PAID"), not the
  taxonomy's ("PRE_ORDER", "NOT_PAID"), which are accepted in the file.
- Item tags follow the guide's codes: group `connection-type` with `property-type`, `phase`,
  `user_type` (the examples) and `voltage-level` (the v1.0 taxonomy), `min_load_kw` and
  `max_load_kw` (snake case like the guide's `requested_load_kw`); group `documentation` with
  `required-docs`. A tag holding several values joins them with ", ", as `required-docs` does.

Money is `Decimal` from the file (JSON numbers or strings) to the wire, where core 1.1.0 `Price`
values are decimal strings. A quote's total is the sum of the product's price breakup, and the
payment asks for that total. A percentage cancellation fee is rounded half up to the cent.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass

from gridshare.beckn.errors import ITEM_NOT_FOUND, PROVIDER_NOT_FOUND, BecknError
from gridshare.config import Settings

DEFAULT_FILE: Final = Path(__file__).with_name("catalog.json")

CENT: Final = Decimal("0.01")
NOT_PAID: Final = "NOT-PAID"

_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
_ALIASES: Final = {"ON_SITE": "ONSITE"}


def normalise(value: str) -> str:
    """A taxonomy code from a code or its display string: upper case, words joined by "_"
    ("Single Phase" -> "SINGLE_PHASE", "electricity-connection" -> "ELECTRICITY_CONNECTION");
    "ON_SITE" (the taxonomy's fulfillment type) -> "ONSITE" (the examples')."""
    code = _SEPARATORS.sub("_", value).strip("_").upper()
    return _ALIASES.get(code, code)


def _code(value: object) -> object:
    return normalise(value) if isinstance(value, str) else value


def _core_spelling(value: object) -> object:
    """Core 1.1.0 enums join words with "-" ("ON-FULFILLMENT")."""
    return normalise(value).replace("_", "-") if isinstance(value, str) else value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
PropertyType = Annotated[
    Literal["RESIDENTIAL", "COMMERCIAL", "INDUSTRIAL", "AGRICULTURAL"], BeforeValidator(_code)
]
Phase = Annotated[Literal["SINGLE_PHASE", "THREE_PHASE", "SPLIT_PHASE"], BeforeValidator(_code)]
UserType = Annotated[Literal["CONSUMER", "PRODUCER"], BeforeValidator(_code)]
ConnectionStatus = Annotated[
    Literal["PENDING", "IN_PROGRESS", "COMPLETED", "CANCELLED", "FAILED", "ON_HOLD"],
    BeforeValidator(_code),
]
PaymentType = Annotated[
    Literal["PRE-ORDER", "PRE-FULFILLMENT", "ON-FULFILLMENT", "POST-FULFILLMENT"],
    BeforeValidator(_core_spelling),
]

PROPERTY_TYPES: Final[tuple[str, ...]] = get_args(get_args(PropertyType)[0])
PHASES: Final[tuple[str, ...]] = get_args(get_args(Phase)[0])
USER_TYPES: Final[tuple[str, ...]] = get_args(get_args(UserType)[0])
CONNECTION_STATUSES: Final[tuple[str, ...]] = get_args(get_args(ConnectionStatus)[0])

_FILE = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_FILE)
class PriceComponent:
    """One line of a product's price breakup, e.g. "Connection Setup Fee"."""

    title: Text
    amount: Money


@dataclass(frozen=True, config=_FILE)
class Product:
    """A connection product: a Beckn `Item`."""

    id: Text
    name: Text
    short_desc: Text
    property_type: PropertyType
    phase: Phase
    voltage_level: Text
    min_load_kw: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    max_load_kw: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
    user_types: Annotated[tuple[UserType, ...], Field(min_length=1)]
    price_breakup: Annotated[tuple[PriceComponent, ...], Field(min_length=1)]
    currency: Currency
    required_documents: tuple[Text, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Product:
        if self.min_load_kw > self.max_load_kw:
            raise ValueError(
                f"product {self.id!r}: min_load_kw {self.min_load_kw} is above max_load_kw "
                f"{self.max_load_kw}"
            )
        _unique(f"product {self.id!r} user_types", self.user_types)
        return self

    @property
    def total(self) -> Decimal:
        """The quoted price: the sum of the breakup."""
        return sum((line.amount for line in self.price_breakup), Decimal(0))


@dataclass(frozen=True, config=_FILE)
class Fee:
    """A cancellation fee: a `percentage` of the quote total, or a fixed `amount` in `currency`."""

    percentage: Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    amount: Money | None = None
    currency: Currency | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Fee:
        if (self.percentage is None) == (self.amount is None):
            raise ValueError("a fee is either a percentage or an amount (with its currency)")
        if (self.amount is None) != (self.currency is None):
            raise ValueError("a fee amount needs its currency, and only an amount has one")
        return self


@dataclass(frozen=True, config=_FILE)
class CancellationTerm:
    """Whether and at what fee an order can be cancelled while its connection-status is
    `status`. A status without a term cannot be cancelled."""

    status: ConnectionStatus
    fee: Fee
    reason_required: bool = False


@dataclass(frozen=True, config=_FILE)
class CancellationReason:
    id: Text
    description: Text


@dataclass(frozen=True, config=_FILE)
class ServiceArea:
    """The provider's one `Location`: the territory where it connects (see `territory`)."""

    id: Text
    name: Text
    state: Text | None = None
    country: Text | None = None


@dataclass(frozen=True, config=_FILE)
class Support:
    """How to reach the provider about a connection."""

    email: Text
    url: Text
    phone: Text | None = None


@dataclass(frozen=True, config=_FILE)
class Catalog:
    """A BPP's one provider and its connection products, terms and support."""

    provider_id: Text
    name: Text
    short_desc: Text
    long_desc: Text
    category_id: Text
    category_code: Annotated[Literal["ELECTRICITY_CONNECTION"], BeforeValidator(_code)]
    category_name: Text
    fulfillment_id: Text
    fulfillment_type: Annotated[Literal["ONSITE"], BeforeValidator(_code)]
    payment_type: PaymentType
    payment_collected_by: Annotated[Literal["BAP", "BPP"], BeforeValidator(_code)]
    service_area: ServiceArea
    support: Support
    cancellation_terms: tuple[CancellationTerm, ...]
    cancellation_reasons: tuple[CancellationReason, ...]
    products: Annotated[tuple[Product, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        _unique("product ids", [p.id for p in self.products])
        _unique("cancellation_terms statuses", [t.status for t in self.cancellation_terms])
        _unique("cancellation_reasons ids", [r.id for r in self.cancellation_reasons])
        for term in self.cancellation_terms:
            if term.fee.currency is None:
                continue
            for product in self.products:
                if product.currency != term.fee.currency:
                    raise ValueError(
                        f"the {term.status} cancellation fee is in {term.fee.currency}, but "
                        f"product {product.id!r} is priced in {product.currency}"
                    )
        return self


class CatalogError(ValueError):
    """The catalog file is missing, unreadable or breaks a rule; the message says where."""


def load(settings: Settings) -> Catalog:
    """The catalog in `settings.beckn_catalog_file`, or the bundled one (read once per process
    and file); CatalogError (a ValueError) naming the file and field if it is not valid."""
    defaults = (
        ("name", settings.utility_name),
        ("long_desc", settings.utility_description),
        ("email", settings.support_email),
        ("url", settings.support),
    )
    return _load((settings.beckn_catalog_file or DEFAULT_FILE).resolve(), defaults)


@lru_cache(maxsize=8)
def _load(path: Path, defaults: tuple[tuple[str, str], ...]) -> Catalog:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as error:
        raise CatalogError(f"Beckn catalog {path}: cannot read it ({error})") from error
    except ValueError as error:
        raise CatalogError(f"Beckn catalog {path}: not valid JSON ({error})") from error
    values = dict(defaults)
    if isinstance(data, dict):
        data = {"name": values["name"], "long_desc": values["long_desc"], **data}
        if isinstance(data.get("support"), dict):
            data["support"] = {"email": values["email"], "url": values["url"], **data["support"]}
    try:
        return TypeAdapter(Catalog).validate_python(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{_location(problem['loc'])}: {problem['msg']}" for problem in error.errors()
        )
        raise CatalogError(f"Beckn catalog {path}: {problems}") from None


def _location(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a JSON path: products[1].price_breakup[0].amount."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path.lstrip(".") or "(the file)"


def _unique(what: str, values: Iterable[str]) -> None:
    repeated = sorted(value for value, count in Counter(values).items() if count > 1)
    if repeated:
        raise ValueError(f"{what} repeat {', '.join(repeated)}")


def product(catalog: Catalog, provider_id: str | None, item_id: str | None) -> Product:
    """The product `item_id` of provider `provider_id` (None: not checked), as an order names
    them; BecknError 30001 for another provider, 30004 for an unknown or missing item."""
    if provider_id is not None and provider_id != catalog.provider_id:
        raise BecknError(
            PROVIDER_NOT_FOUND,
            f"provider {provider_id!r} is not offered here; this BPP's provider is "
            f"{catalog.provider_id!r}",
            "message.order.provider.id",
        )
    for candidate in catalog.products:
        if candidate.id == item_id:
            return candidate
    known = ", ".join(p.id for p in catalog.products)
    problem = "is required" if item_id is None else f"{item_id!r} is not one of our products"
    raise BecknError(
        ITEM_NOT_FOUND, f"item id {problem}; products are {known}", "message.order.items[0].id"
    )


def provider_json(catalog: Catalog) -> dict[str, Any]:
    """Core `Provider`: id and descriptor (the on_select and on_init examples)."""
    return {
        "id": catalog.provider_id,
        "descriptor": {
            "name": catalog.name,
            "short_desc": catalog.short_desc,
            "long_desc": catalog.long_desc,
        },
    }


def _money(value: Decimal) -> str:
    """A core `DecimalValue`: plain notation, never an exponent."""
    return format(value, "f")


def _price(value: Decimal, currency: str) -> dict[str, str]:
    return {"value": _money(value), "currency": currency}


def _tag(code: str, name: str, value: str) -> dict[str, Any]:
    return {"descriptor": {"code": code, "name": name}, "value": value}


def item_json(catalog: Catalog, product: Product) -> dict[str, Any]:
    """Core `Item` as in the on_search example: descriptor, price, the ids of its category,
    location and fulfillment, and the `connection-type` and `documentation` tag groups."""
    total = _money(product.total)
    connection = [
        _tag("property-type", "Property type", product.property_type),
        _tag("phase", "Phase", product.phase),
        _tag("voltage-level", "Voltage level", product.voltage_level),
        _tag("min_load_kw", "Minimum load (kW)", _money(product.min_load_kw)),
        _tag("max_load_kw", "Maximum load (kW)", _money(product.max_load_kw)),
        _tag("user_type", "User type", ", ".join(product.user_types)),
    ]
    groups = [
        {"descriptor": {"code": "connection-type", "name": "Connection type"}, "list": connection}
    ]
    if product.required_documents:
        documents = _tag(
            "required-docs", "Required documents", ", ".join(product.required_documents)
        )
        groups.append(
            {"descriptor": {"code": "documentation", "name": "Documentation"}, "list": [documents]}
        )
    return {
        "id": product.id,
        "descriptor": {"name": product.name, "short_desc": product.short_desc},
        "price": {"value": total, "estimated_value": total, "currency": product.currency},
        "category_ids": [catalog.category_id],
        "location_ids": [catalog.service_area.id],
        "fulfillment_ids": [catalog.fulfillment_id],
        "tags": groups,
    }


def quote(product: Product) -> dict[str, Any]:
    """Core `Quotation`: the total and its breakup (the on_select example)."""
    return {
        "price": _price(product.total, product.currency),
        "breakup": [
            {"title": line.title, "price": _price(line.amount, product.currency)}
            for line in product.price_breakup
        ],
    }


def payment_terms(catalog: Catalog, product: Product) -> dict[str, Any]:
    """Core `Payment` (the on_init example), asking for the quote's total: the example's 150
    against its quote of 200 is taken for a slip."""
    return {
        "type": catalog.payment_type,
        "collected_by": catalog.payment_collected_by,
        "status": NOT_PAID,
        "params": {"amount": _money(product.total), "currency": product.currency},
    }


def support_contact(catalog: Catalog) -> dict[str, str]:
    """The support `phone`, `email` and `url` (a core `Contact`, and a `Support` for
    on_support)."""
    support = catalog.support
    contact = {"phone": support.phone} if support.phone else {}
    return contact | {"email": support.email, "url": support.url}


def cancellation_terms_json(catalog: Catalog) -> list[dict[str, Any]]:
    """Core `CancellationTerm`s: one per connection-status in which an order can be cancelled."""
    terms = []
    for term in catalog.cancellation_terms:
        fee: dict[str, Any]
        if term.fee.amount is not None and term.fee.currency is not None:
            fee = {"amount": _price(term.fee.amount, term.fee.currency)}
        else:
            fee = {"percentage": _money(term.fee.percentage or Decimal(0))}
        terms.append(
            {
                "fulfillment_state": {"descriptor": {"code": term.status}},
                "reason_required": term.reason_required,
                "cancellation_fee": fee,
            }
        )
    return terms


def cancellation_term(catalog: Catalog, status: str) -> CancellationTerm | None:
    """The term for connection-status `status` (a code or its display string); None when an
    order in that status cannot be cancelled. ValueError for a status outside the taxonomy."""
    code = normalise(status)
    if code not in CONNECTION_STATUSES:
        raise ValueError(
            f"{status!r} is not a connection-status ({', '.join(CONNECTION_STATUSES)})"
        )
    return next((term for term in catalog.cancellation_terms if term.status == code), None)


def cancellation_fee(catalog: Catalog, product: Product, status: str) -> Decimal | None:
    """The fee, in the product's currency, for cancelling an order of `product` in `status`:
    None when it cannot be cancelled, Decimal("0") when it is free."""
    term = cancellation_term(catalog, status)
    if term is None:
        return None
    if term.fee.amount is not None:
        return term.fee.amount
    percentage = term.fee.percentage or Decimal(0)
    return (product.total * percentage / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def cancellation_reason(catalog: Catalog, reason_id: str) -> str | None:
    """The description of cancellation reason `reason_id`, or None if there is none."""
    return next((r.description for r in catalog.cancellation_reasons if r.id == reason_id), None)
