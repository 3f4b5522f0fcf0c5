"""The connection catalog a BPP offers (DEG Connections guide v1.1, "search", "on_search",
"on_select", "on_init" and "Taxonomy and Layer 2 Configuration"), in core 1.1.0 terms
(`Catalog`, `Provider`, `Item`, `Price`, `Quotation`, `Payment`, `CancellationTerm`), and the
search over it.

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

Search (`on_search`): an intent narrows the products by each criterion it states; one it does not
state does not narrow.
- provider: `intent.provider.id` must be ours.
- category: `intent.category.descriptor.code` must normalise to `ELECTRICITY_CONNECTION`, and
  `intent.category.id` must be our category's id or code.
- item: `intent.item.id` names one product.
- free text (`intent.descriptor.name`, `intent.item.descriptor.name`): the words of the text
  that the catalog uses (in product ids, names, short descriptions, taxonomy values, voltage
  levels and the category name), less function words and request words ("for", "my",
  "please", "need", "new", ...), must all occur in a product's words. Words are lower-cased
  letters and digits, with a plural "s" dropped. Words no product uses cannot tell products
  apart and are ignored, so "Request for a new electricity connection" finds every product,
  "commercial" the commercial one, and "residential three phase" none.
- tags (`intent.tags`, `intent.item.tags`, any group): `property-type`, `phase` (or
  `connection-phase`) and `user_type` (or `user-type`) take taxonomy codes or their display
  strings, several separated by commas (any of them matches); `requested_load_kw` (or `load_kw`)
  a load that must lie in the product's range. An unknown value is refused (30000, naming the
  accepted ones); tags with other codes are ignored.
- location: every `gps` of `intent.fulfillment.stops[*].location` (and of `intent.location`, which
  the guide's text names though core 1.1.0 has no such field) must lie in the electric service
  territory (`territory`). A location without `gps` does not narrow.
A malformed intent raises BecknError 30000 naming the field.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
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
from sqlalchemy.orm import Session

from gridshare.beckn.errors import (
    INVALID_REQUEST,
    ITEM_NOT_FOUND,
    PROVIDER_NOT_FOUND,
    BecknError,
)
from gridshare.beckn.territory import in_territory, parse_gps
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


# -- search ------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_FUNCTION_WORDS: Final = frozenset(
    (
        *("a", "an", "the", "this", "that", "it", "its", "is", "are", "be"),
        *("for", "of", "to", "in", "on", "at", "by", "with", "from", "and", "or"),
        *("i", "me", "my", "we", "us", "our", "you", "your"),
        *("please", "need", "want", "looking", "request", "apply", "get", "new"),
    )
)
"""Words that say nothing about which product is wanted ("Request for a new ...")."""
Match = Callable[[Product], bool]


def on_search(catalog: Catalog, session: Session, intent: object) -> dict[str, Any]:
    """The on_search `message`: our provider with the products the intent matches, or no
    provider when none does. BecknError 30000 for a malformed intent."""
    matches, points = _criteria(catalog, intent)
    found = [p for p in catalog.products if all(match(p) for match in matches)]
    if found and not all(in_territory(session, lat, lon) for lat, lon in points):
        found = []
    providers = []
    if found:
        providers.append(
            provider_json(catalog)
            | {
                "categories": [
                    {
                        "id": catalog.category_id,
                        "descriptor": {
                            "code": catalog.category_code,
                            "name": catalog.category_name,
                        },
                    }
                ],
                "locations": [_location_json(catalog.service_area)],
                "fulfillments": [{"id": catalog.fulfillment_id, "type": catalog.fulfillment_type}],
                "items": [item_json(catalog, p) for p in found],
            }
        )
    return {"catalog": {"descriptor": {"name": catalog.name}, "providers": providers}}


def _location_json(area: ServiceArea) -> dict[str, Any]:
    location: dict[str, Any] = {"id": area.id, "descriptor": {"name": area.name}}
    if area.state:
        location["state"] = {"code": area.state}
    if area.country:
        location["country"] = {"code": area.country}
    return location


def _criteria(catalog: Catalog, intent: object) -> tuple[list[Match], list[tuple[float, float]]]:
    """What the intent asks of a product, and the GPS points that must be in the territory."""
    base = "message.intent"
    body = _object(intent, base)
    matches: list[Match] = []
    provider_id = _string(
        _object(body.get("provider"), f"{base}.provider").get("id"), f"{base}.provider.id"
    )
    if provider_id is not None:
        ours = provider_id == catalog.provider_id
        matches.append(lambda _: ours)
    matches.extend(
        _category(catalog, _object(body.get("category"), f"{base}.category"), f"{base}.category")
    )
    item = _object(body.get("item"), f"{base}.item")
    item_id = _string(item.get("id"), f"{base}.item.id")
    if item_id is not None:
        matches.append(lambda p: p.id == item_id)
    texts = [
        _string(
            _object(holder.get("descriptor"), f"{path}.descriptor").get("name"),
            f"{path}.descriptor.name",
        )
        for holder, path in ((body, base), (item, f"{base}.item"))
    ]
    matches.extend(_text_match(catalog, " ".join(t for t in texts if t)))
    for holder, path in ((body, base), (item, f"{base}.item")):
        matches.extend(_tag_matches(holder.get("tags"), f"{path}.tags"))
    return matches, list(_points(body, base))


def _category(catalog: Catalog, category: Mapping[str, Any], path: str) -> Iterator[Match]:
    descriptor = _object(category.get("descriptor"), f"{path}.descriptor")
    code = _string(descriptor.get("code"), f"{path}.descriptor.code")
    if code is not None:
        ours = normalise(code) == catalog.category_code
        yield lambda _: ours
    category_id = _string(category.get("id"), f"{path}.id")
    if category_id is not None:
        ours_by_id = (
            category_id == catalog.category_id or normalise(category_id) == catalog.category_code
        )
        yield lambda _: ours_by_id


def _words(text: str) -> set[str]:
    return {
        word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
        for word in _WORD.findall(text.lower())
        if word not in _FUNCTION_WORDS
    }


def _product_words(catalog: Catalog, product: Product) -> set[str]:
    return _words(
        " ".join(
            (
                product.id,
                product.name,
                product.short_desc,
                product.property_type,
                product.phase,
                product.voltage_level,
                *product.user_types,
                catalog.category_name,
            )
        ).replace("_", " ")
    )


def _text_match(catalog: Catalog, text: str) -> Iterator[Match]:
    if not text.strip():
        return
    known = {p.id: _product_words(catalog, p) for p in catalog.products}
    vocabulary = set().union(*known.values())
    wanted = _words(text) & vocabulary
    if wanted:
        yield lambda p: wanted <= known[p.id]


_TAG_FILTERS: Final[Mapping[str, str]] = {
    "PROPERTY_TYPE": "property_type",
    "PHASE": "phase",
    "CONNECTION_PHASE": "phase",
    "USER_TYPE": "user_types",
    "REQUESTED_LOAD_KW": "load",
    "LOAD_KW": "load",
}
_ALLOWED: Final[Mapping[str, tuple[str, ...]]] = {
    "property_type": PROPERTY_TYPES,
    "phase": PHASES,
    "user_types": USER_TYPES,
}


def _tag_matches(groups: object, path: str) -> Iterator[Match]:
    for g, group in enumerate(_array(groups, path)):
        group_path = f"{path}[{g}]"
        tags = _array(_object(group, group_path).get("list"), f"{group_path}.list")
        for t, tag in enumerate(tags):
            tag_path = f"{group_path}.list[{t}]"
            body = _object(tag, tag_path)
            descriptor = _object(body.get("descriptor"), f"{tag_path}.descriptor")
            code = _string(descriptor.get("code"), f"{tag_path}.descriptor.code")
            value = _string(body.get("value"), f"{tag_path}.value")
            field = _TAG_FILTERS.get(normalise(code)) if code is not None else None
            if field is not None and value is not None:
                yield _tag_match(field, value, f"{tag_path}.value")


def _tag_match(field: str, value: str, path: str) -> Match:
    if field == "load":
        try:
            load = Decimal(value.strip())
        except InvalidOperation:
            load = Decimal("NaN")
        if not load.is_finite():
            raise _malformed(path, f'must be a load in kW such as "5", not {value!r}')
        return lambda p: p.min_load_kw <= load <= p.max_load_kw
    allowed = _ALLOWED[field]
    wanted = {normalise(part) for part in value.split(",")}
    unknown = sorted(wanted - set(allowed))
    if unknown:
        raise _malformed(
            path, f"has {', '.join(unknown)}, which is not one of {', '.join(allowed)}"
        )
    if field == "user_types":
        return lambda p: bool(wanted & set(p.user_types))
    return lambda p: getattr(p, field) in wanted


def _points(body: Mapping[str, Any], base: str) -> Iterator[tuple[float, float]]:
    fulfillment = _object(body.get("fulfillment"), f"{base}.fulfillment")
    located = [
        (stop, f"{base}.fulfillment.stops[{s}]")
        for s, stop in enumerate(_array(fulfillment.get("stops"), f"{base}.fulfillment.stops"))
    ]
    located = [(_object(stop, path).get("location"), f"{path}.location") for stop, path in located]
    located.append((body.get("location"), f"{base}.location"))
    for location, path in located:
        gps = _string(_object(location, path).get("gps"), f"{path}.gps")
        if gps is not None:
            try:
                yield parse_gps(gps)
            except ValueError as error:
                raise _malformed(f"{path}.gps", str(error)) from None


def _object(value: object, path: str) -> Mapping[str, Any]:
    """An object of the intent, or {} when it is absent."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _malformed(path, "must be an object")
    return value


def _array(value: object, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed(path, "must be an array")
    return value


def _string(value: object, path: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _malformed(path, "must be a string")
    return value


def _malformed(path: str, problem: str) -> BecknError:
    return BecknError(INVALID_REQUEST, f"{path} {problem}", path)
