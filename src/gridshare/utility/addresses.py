"""Address matching for the `addresses` preselection field (CDS-WG3-01 §7.1.13.1).

Every address that can be matched (an Account's `account_address`, a Service Contract's
`contract_address`, a Service Point's `servicepoint_address`, an Aggregation's `addresses`) is
Typical or Atypical, and is compared as its Normalized Address. One locale: United States, address
segment separator `", "`; a normalized Typical Address reads
`{street address}, {city}, {state}, {zip code}, {country}` with whatever of those segments the
stored address has.

**Typical or Atypical.** An address is split into segments at commas and line breaks. It is
Typical when its first segment, or its second after one leading name segment (`"Acme Co."`), is a
street line: a house number (`123`, `123A`, `12-34`), an optional directional, a street name, a
street suffix from the table below (abbreviated or in full, optional trailing period), an optional
directional, and an optional unit (`#234`, `Apt 4`, `Suite 100`). Everything else is Atypical:
`"123 Broadway"` (no suffix), PO boxes, and `"12 mi North on FM 5555"`.

**Abbreviations.** `ABBREVIATIONS` lists the USPS street suffixes, directionals and secondary-unit
designators commonly written in short (and `#`, which the spec's own example expands to `Unit`).
They are expanded only where the street line parse puts them: the suffix, the directionals next to
the house number or after the suffix, the unit designator (in the street line or as the whole
segment right after it). So `"St. Louis"`, `"E St"` and `"FM 5555"` keep their words.

**Normalizing.** A Typical Address loses its name segment, has its abbreviations expanded, is
lowercased, has its segment breaks (line breaks and commas, however spaced) joined with `", "`,
its whitespace runs collapsed to one space and its ends trimmed. An Atypical Address, and every
Input Address a Client sends, is only lowercased, line breaks to spaces, whitespace collapsed,
trimmed. So the input `"123 Main Street Unit 234, Anytown, CA"` matches the stored
`"123 Main St #234, Anytown, CA"`, while the input `"123 Main St, Anytown, CA"` does not: the
spec puts expanding abbreviations on the Client.

**Matching.** An input matches the one resource whose Normalized Address equals it exactly; an
input equal to none, or to two or more, matches nothing. A blank address (nothing left after
normalizing) never matches.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from typing import Final, TypeVar

K = TypeVar("K", bound=Hashable)

STREET_SUFFIXES: Final[Mapping[str, str]] = {
    "ave": "avenue",
    "blvd": "boulevard",
    "cir": "circle",
    "ct": "court",
    "dr": "drive",
    "hwy": "highway",
    "ln": "lane",
    "pkwy": "parkway",
    "pl": "place",
    "rd": "road",
    "sq": "square",
    "st": "street",
    "ter": "terrace",
    "trl": "trail",
}
"""USPS street suffixes (Publication 28, Appendix C1) commonly abbreviated."""

DIRECTIONALS: Final[Mapping[str, str]] = {
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "ne": "northeast",
    "nw": "northwest",
    "se": "southeast",
    "sw": "southwest",
}
"""USPS directionals, before or after the street name."""

UNIT_DESIGNATORS: Final[Mapping[str, str]] = {
    "#": "unit",
    "apt": "apartment",
    "bldg": "building",
    "fl": "floor",
    "rm": "room",
    "ste": "suite",
}
"""USPS secondary-unit designators (Publication 28, Appendix C2) commonly abbreviated; `#` is
expanded to `unit` as in the §7.1.13.1 example (`"St. #234"` to `"Street Unit 234"`)."""

ABBREVIATIONS: Final[Mapping[str, str]] = {**STREET_SUFFIXES, **DIRECTIONALS, **UNIT_DESIGNATORS}
"""Every postal abbreviation expanded in a Typical Address, lowercase, to its full name."""

SEGMENT_SEPARATOR: Final = ", "


def _words(table: Mapping[str, str]) -> str:
    """A regex alternation of the table's abbreviations and full names, longest first."""
    words = sorted({*table, *table.values()} - {"#"}, key=len, reverse=True)
    return "|".join(re.escape(word) for word in words)


_DIRECTIONAL = rf"(?:{_words(DIRECTIONALS)})\.?"
_UNIT = rf"(?P<designator>\#|(?:{_words(UNIT_DESIGNATORS)})\.?(?:\s*\#)?)\s*(?P<unit>\w[\w-]*)"
_STREET_LINE: Final = re.compile(
    rf"""
    (?P<number>\d+(?:-\d+)?[a-z]?)
    (?:\s+(?P<predirectional>{_DIRECTIONAL}))?
    \s+(?P<name>.+?)
    \s+(?P<suffix>(?:{_words(STREET_SUFFIXES)})\.?)
    (?:\s+(?P<postdirectional>{_DIRECTIONAL}))?
    (?:(?:\s+|(?=\#)){_UNIT})?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_UNIT_SEGMENT: Final = re.compile(_UNIT, re.IGNORECASE)
_SEGMENT_BREAK: Final = re.compile(r"\s*[,\r\n][\s,]*")
_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")


def normalize_input(value: str) -> str:
    """An Input Address (a value of the `addresses` preselection field) normalized with the
    Atypical steps: lowercase, line breaks to single spaces, duplicate whitespace removed,
    stripped."""
    return " ".join(_LINE_BREAK.sub(" ", value.lower()).split())


def normalize_stored(value: str) -> str:
    """A stored address (account/contract/service point/aggregation address) normalized: Typical
    addresses with the Typical steps, others with the Atypical steps."""
    segments = _segments(value)
    street = _street_line(segments)
    if street is None:
        return normalize_input(value)
    index, line = street
    # Name removal: the segments before the street line go.
    segments = segments[index:]
    segments[0] = _expand_street_line(line)
    if len(segments) > 1 and (unit := _UNIT_SEGMENT.fullmatch(segments[1])):
        segments[1] = _expand_unit(unit)
    # The spec's example turns "234\n Anytown" into "234, anytown": a segment break is replaced by
    # the separator ", " with the spaces around it absorbed, then whitespace is collapsed.
    return " ".join(SEGMENT_SEPARATOR.join(segments).lower().split())


def is_typical(value: str) -> bool:
    """Whether an address is Typical (usable in common mapping services, US locale): its first
    segment, or its second after a name segment, is a street line (house number, street name,
    street suffix, optional directionals and unit); see the module docstring."""
    return _street_line(_segments(value)) is not None


def match_addresses(inputs: Iterable[str], stored: Mapping[K, str | None]) -> set[K]:
    """The keys whose stored address matches an input.

    Each input is normalized (Atypical steps) and compared exactly with every stored address's
    Normalized Address; an input equal to exactly one of them matches that key, an input equal to
    none or to two or more (insufficiently unique) matches nothing. `None` and blank addresses
    never match. `stored` holds only the resources available to this scope and Client.
    """
    by_address: dict[str, list[K]] = {}
    for key, address in stored.items():
        if address is not None and (normalized := normalize_stored(address)):
            by_address.setdefault(normalized, []).append(key)
    matched: set[K] = set()
    for value in inputs:
        keys = by_address.get(normalize_input(value), [])
        if len(keys) == 1:
            matched.add(keys[0])
    return matched


def _segments(value: str) -> list[str]:
    """The address's non-blank segments, split at commas and line breaks, trimmed."""
    return [segment for segment in _SEGMENT_BREAK.split(value.strip()) if segment]


def _street_line(segments: list[str]) -> tuple[int, re.Match[str]] | None:
    """Where the street line is (0, or 1 after a name segment) and its parse; None if Atypical."""
    for index, segment in enumerate(segments[:2]):
        if line := _STREET_LINE.fullmatch(segment):
            return index, line
    return None


def _full(word: str) -> str:
    """An abbreviation's full name, a trailing period dropped; full names stay."""
    word = word.rstrip(".")
    return ABBREVIATIONS.get(word.lower(), word)


def _expand_street_line(line: re.Match[str]) -> str:
    parts = [line["number"]]
    if line["predirectional"]:
        parts.append(_full(line["predirectional"]))
    parts += [line["name"], _full(line["suffix"])]
    if line["postdirectional"]:
        parts.append(_full(line["postdirectional"]))
    if line["designator"]:
        parts.append(_expand_unit(line))
    return " ".join(parts)


def _expand_unit(unit: re.Match[str]) -> str:
    """`#234`, `Apt #4` or `Ste. 100` as `unit 234`, `apartment 4` or `suite 100`."""
    designator = unit["designator"].replace("#", "").strip() or "#"
    return f"{_full(designator)} {unit['unit']}"
