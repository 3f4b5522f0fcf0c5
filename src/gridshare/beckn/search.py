"""Search over the connection catalog: core 1.1.0 `Intent` (the `search` request's
`message.intent`) matched against the products of `catalog`, answered with the `on_search`
message (DEG Connections guide v1.1, "search" and "on_search").

An intent narrows the products by each criterion it states; one it does not state does not
narrow.
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

import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy.orm import Session

from gridshare.beckn.catalog import (
    PHASES,
    PROPERTY_TYPES,
    USER_TYPES,
    Catalog,
    Product,
    ServiceArea,
    item_json,
    normalise,
    provider_json,
)
from gridshare.beckn.errors import INVALID_REQUEST, BecknError
from gridshare.beckn.territory import in_territory, parse_gps

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
