"""Reading a Green Button file as a stream of ESPI resources (NAESB REQ.21 ESPI; DIGEST §2, §3, §9).

The file is an Atom feed (RFC 4287) whose entries each hold one ESPI resource. lxml reads it
hardened: no DTD is loaded, no entity is expanded and no network is used, and libxml2's size
limits stay on (no `huge_tree`); a document with a DOCTYPE, the only place an ENTITY can be
declared, is refused before its first entry is read. Entries are handled one at a time and then
dropped, so a 22 MB file never sits in memory as a tree; an IntervalBlock's readings go into flat
arrays (`BlockEntry`). What is wrong is collected as `Problem`s naming the line, the element, what
is wrong and what was expected; each is a warning (the file is imported) or fatal (it is refused).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lxml import etree

ATOM: Final = "http://www.w3.org/2005/Atom"
ESPI: Final = "http://naesb.org/espi"
CUSTOMER: Final = "http://naesb.org/espi/customer"

FEED: Final = f"{{{ATOM}}}feed"
ENTRY: Final = f"{{{ATOM}}}entry"
_ID = f"{{{ATOM}}}id"
_LINK = f"{{{ATOM}}}link"
_TITLE = f"{{{ATOM}}}title"
_CONTENT = f"{{{ATOM}}}content"
_UPDATED = f"{{{ATOM}}}updated"


def _espi(name: str) -> str:
    return f"{{{ESPI}}}{name}"


_READING = _espi("IntervalReading")
_VALUE = _espi("value")
_TIME_PERIOD = _espi("timePeriod")
_START = _espi("start")
_DURATION = _espi("duration")
_READING_QUALITY = _espi("ReadingQuality")
_QUALITY = _espi("quality")
_COST = _espi("cost")
_BUCKETS = frozenset((_espi("tou"), _espi("consumptionTier"), _espi("cpp")))

NO_TIME: Final = -(2**63)
"""Marks a reading without a timePeriod start or duration in `BlockEntry` arrays."""
EARLIEST: Final = -2208988800
"""1900-01-01T00:00:00Z: reading times are refused before it (as the CSV import does)."""
LATEST: Final = 7258118399
"""2199-12-31T23:59:59Z."""
LONGEST: Final = 2**32 - 1
"""The longest duration, UInt32 seconds."""
VALUE_LIMIT: Final = 2**63 - 1
"""Values must stay below this in magnitude (the codec's int64)."""
NO_QUALITY: Final = -1
"""Marks a reading without a ReadingQuality in `BlockEntry.qualities`."""
PROGRESS_ENTRIES = 64
_DATETIME = re.compile(
    r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?\s*"
).fullmatch
USED_CODES: Final = frozenset(
    {
        "accumulationBehaviour",
        "commodity",
        "consumptionTier",
        "cpp",
        "defaultQuality",
        "flowDirection",
        "intervalLength",
        "kind",
        "powerOfTenMultiplier",
        "tou",
        "uom",
    }
)
"""The ReadingType fields the import reads (greenbutton_channels)."""
NOT_IMPORTED: Final = {
    "ElectricPowerQualitySummary": "gridshare keeps no power quality data",
    "ApplicationInformation": "it describes a third party's registration, not usage",
    "Authorization": "it describes an authorization, not usage",
    "ProgramIdMappings": "it maps program ids, not usage",
    "ServiceStatus": "it is a server status, not usage",
    "BatchList": "it lists URIs to fetch, not usage",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the file: where, what, and what was expected instead."""

    line: int | None
    element: str
    problem: str
    expected: str
    fatal: bool
    count: int = 1
    """How many times the file has it (the first is at `line`)."""

    def __str__(self) -> str:
        where = f"line {self.line}, {self.element}" if self.line else self.element
        more = f" ({self.count - 1:,} more like it)" if self.count > 1 else ""
        expected = f"; {self.expected}" if self.expected else ""
        return f"{where}: {self.problem}{expected}{more}"


class Problems:
    """The problems found so far, repeated ones counted under their first occurrence."""

    def __init__(self) -> None:
        self._found: dict[object, Problem] = {}

    def warn(
        self, line: int | None, element: str, problem: str, expected: str, key: object = None
    ) -> None:
        """Record a problem the file is imported with; `key` groups repeats of one kind."""
        self._add(Problem(line, element, problem, expected, fatal=False), key)

    def refuse(
        self, line: int | None, element: str, problem: str, expected: str, key: object = None
    ) -> None:
        """Record a problem that stops the file from being imported."""
        self._add(Problem(line, element, problem, expected, fatal=True), key)

    def _add(self, problem: Problem, key: object) -> None:
        key = (problem.element, problem.problem, problem.fatal) if key is None else key
        first = self._found.get(key)
        if first is None:
            self._found[key] = problem
        else:
            self._found[key] = Problem(
                first.line,
                first.element,
                first.problem,
                first.expected,
                first.fatal,
                first.count + problem.count,
            )

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self._found.values() if p.fatal]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self._found.values() if not p.fatal]


@dataclass(frozen=True, slots=True)
class Links:
    """An entry's Atom links: `self` (its own URL), `up` (its collection), `related`."""

    self_href: str | None
    up: str | None
    related: tuple[str, ...]


@dataclass(slots=True, eq=False)
class Entry:
    line: int
    atom_id: str | None
    title: str
    links: Links

    def named(self) -> str:
        """How messages name the entry: its self link, else its Atom id, else its line."""
        return self.links.self_href or self.atom_id or f"the entry at line {self.line}"


@dataclass(slots=True, eq=False)
class UsagePointEntry(Entry):
    service_kind: int | None


@dataclass(slots=True, eq=False)
class ReadingTypeEntry(Entry):
    codes: dict[str, int]
    """Its integer fields by element name (uom, powerOfTenMultiplier, flowDirection, ...)."""


@dataclass(slots=True, eq=False)
class MeterReadingEntry(Entry):
    reading_type: ReadingTypeEntry | None
    """A ReadingType nested in the MeterReading (which the schema does not allow)."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """A SummaryMeasurement: `value * 10**multiplier` in `uom`."""

    line: int
    multiplier: int
    uom: int | None
    value: int | None


@dataclass(frozen=True, slots=True)
class LineItem:
    line: int
    amount: int | None
    note: str
    item_kind: int | None
    measurement: Measurement | None
    unit_cost: int | None
    period: tuple[int, int] | None
    """(start, duration) in epoch seconds."""


@dataclass(slots=True, eq=False)
class SummaryEntry(Entry):
    name: str
    """UsageSummary or ElectricPowerUsageSummary."""
    period: tuple[int, int] | None
    bill_last_period: int | None
    cost_additional: int | None
    line_items: list[LineItem]
    currency: int | None
    consumption: Measurement | None
    peak_demand: Measurement | None
    commodity: int | None


@dataclass(slots=True, eq=False)
class LocalTimeEntry(Entry):
    tz_offset: int | None


@dataclass(slots=True, eq=False)
class BlockEntry(Entry):
    """An IntervalBlock's readings in flat arrays, one item per IntervalReading."""

    interval_start: int | None
    starts: array[int] = field(default_factory=lambda: array("q"))
    durations: array[int] = field(default_factory=lambda: array("q"))
    values: array[int] = field(default_factory=lambda: array("q"))
    given: bytearray = field(default_factory=bytearray)
    """1 where the reading has a value."""
    qualities: array[int] = field(default_factory=lambda: array("h"))
    lines: array[int] = field(default_factory=lambda: array("I"))


class _Refused(Exception):
    """Stops reading: the document must not be read any further."""


class FeedReader:
    """Reads a file's entries and hands each ESPI resource to `handle`."""

    def __init__(
        self,
        problems: Problems,
        handle: Callable[[Entry], None],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.problems = problems
        self.handle = handle
        self.progress = progress
        self.entries = 0

    def read(self, path: Path) -> None:
        """Read the file at `path`; problems go to `problems`, resources to `handle`."""
        with path.open("rb") as source:
            context = etree.iterparse(
                source,
                events=("start", "end"),
                tag=(FEED, ENTRY),
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=False,
                remove_comments=True,
                remove_pis=True,
            )
            checked = False
            try:
                for event, element in context:
                    if not checked:
                        checked = True
                        self._check_prolog(element, path)
                    if event == "end" and element.tag == ENTRY:
                        self._entry(element)
                        _drop(element)
                        self.entries += 1
                        if self.progress is not None and not self.entries % PROGRESS_ENTRIES:
                            self.progress(source.tell())
            except _Refused:
                return
            except etree.XMLSyntaxError as error:
                self.problems.refuse(
                    error.lineno,
                    "the XML",
                    f"is not well-formed ({error.msg})",
                    "a complete, well-formed XML document; if the file was cut short (a "
                    "download or copy that stopped), get it again",
                )
                return
            root = context.root
            if not checked:
                self._check_prolog(root, path)
            if root.tag != FEED:
                self.problems.refuse(
                    line_of(root),
                    f"<{etree.QName(root).localname}>",
                    f"is the root element (namespace {etree.QName(root).namespace or 'none'})",
                    f"a Green Button file: an Atom <feed> (namespace {ATOM}) of ESPI entries",
                )

    def _check_prolog(self, element: etree._Element, path: Path) -> None:
        """Refuse a DOCTYPE (and so any ENTITY) before anything of the document is used."""
        docinfo = element.getroottree().docinfo
        doctype: str = getattr(docinfo, "doctype", "")
        dtd: Any = docinfo.internalDTD  # lxml-stubs lack DTD.iterentities
        if not doctype and dtd is None:
            return
        entities = [] if dtd is None else [_describe_entity(e) for e in dtd.iterentities()]
        declares = f" declaring {len(entities)} ENTITY: {', '.join(entities)}" if entities else ""
        self.problems.refuse(
            _doctype_line(path),
            "<!DOCTYPE>",
            f"the document has a DOCTYPE{declares}; no DTD was loaded and no entity expanded",
            "no DOCTYPE: Green Button files have none, and gridshare reads no DTD and expands no "
            "entity (they can read local files or exhaust memory); remove the declaration",
        )
        raise _Refused

    def _entry(self, entry: etree._Element) -> None:
        line = line_of(entry)
        links = self._links(entry)
        atom_id = (entry.findtext(_ID) or "").strip() or None
        title = (entry.findtext(_TITLE) or "").strip()
        updated = entry.findtext(_UPDATED)
        if updated is None or not _DATETIME(updated):
            shown = "is missing" if updated is None else f"is {updated.strip()!r}"
            self.problems.warn(
                line,
                "entry/updated",
                f"{shown} (not used by the import)",
                "an xs:dateTime such as 2024-06-21T00:00:00Z (RFC 4287 §4.2.15)",
                key="updated",
            )
        content = entry.find(_CONTENT)
        resources = [] if content is None else [c for c in content if isinstance(c.tag, str)]
        if not resources:
            self.problems.warn(
                line,
                "entry",
                f"{links.self_href or atom_id or 'an entry'} has no resource in <content>; skipped",
                "one ESPI resource inside <content>",
                key="empty",
            )
            return
        if len(resources) > 1:
            self.problems.warn(
                line,
                "entry/content",
                f"holds {len(resources)} elements; only the first was read",
                "exactly one ESPI resource per entry",
                key="several",
            )
        resource = resources[0]
        name = etree.QName(resource)
        base = Entry(line, atom_id, title, links)
        if name.namespace == ESPI:
            reader = self._readers.get(name.localname)
            if reader is not None:
                reader(self, base, resource)
                return
        self._not_imported(resource, name)

    def _not_imported(self, resource: etree._Element, name: etree.QName) -> None:
        if name.namespace == CUSTOMER:
            why = "retail customer data (customer.xsd) is not imported by this command"
        elif name.namespace != ESPI:
            why = f"it is not an ESPI resource (namespace {name.namespace or 'none'})"
        else:
            why = NOT_IMPORTED.get(name.localname, "it is not an ESPI usage resource")
        self.problems.warn(
            line_of(resource),
            name.localname,
            f"not imported: {why}",
            "nothing to do if the file's usage imported as expected",
            key=("not imported", name.text),
        )

    def _links(self, entry: etree._Element) -> Links:
        self_href = up = None
        related: list[str] = []
        for link in entry.iterchildren(_LINK):
            href = (link.get("href") or "").strip()
            rel = link.get("rel", "alternate")
            if not href:
                self.problems.warn(
                    line_of(link),
                    "link",
                    f"rel={rel!r} has no href; ignored",
                    "every Atom link has an href",
                    key="href",
                )
            elif rel == "self":
                self_href = href
            elif rel == "up":
                up = href
            elif rel == "related":
                related.append(href)
        return Links(self_href, up, tuple(related))

    def _number(self, element: etree._Element | None, path: str) -> int | None:
        """The integer an element holds (None when absent); anything else is fatal."""
        if element is None:
            return None
        text = (element.text or "").strip()
        try:
            return int(text)
        except ValueError:
            self.problems.refuse(
                line_of(element),
                path,
                f"{text!r} is not an integer",
                "a whole number (ESPI quantities are integers scaled by powerOfTenMultiplier; "
                "times are epoch seconds)",
            )
            return None

    def _usage_point(self, base: Entry, resource: etree._Element) -> None:
        kind = self._number(
            resource.find(f"{_espi('ServiceCategory')}/{_espi('kind')}"),
            "UsagePoint/ServiceCategory/kind",
        )
        capital = resource.find(_espi("ServiceDeliveryPoint"))
        if capital is not None:
            self.problems.warn(
                line_of(capital),
                "UsagePoint/ServiceDeliveryPoint",
                "is spelled with a capital S (old samples' spelling; the import does not use it)",
                "serviceDeliveryPoint, as espi.xsd spells it",
                key="ServiceDeliveryPoint",
            )
        self.handle(UsagePointEntry(*_fields(base), service_kind=kind))

    def _meter_reading(self, base: Entry, resource: etree._Element) -> None:
        nested = resource.find(_espi("ReadingType"))
        reading_type = None
        if nested is not None:
            self.problems.warn(
                line_of(nested),
                "MeterReading/ReadingType",
                "the ReadingType is nested in the MeterReading; it was read from there",
                "a ReadingType entry of its own that the MeterReading links `related`",
                key="nested",
            )
            inner = Entry(line_of(nested) or base.line, None, "", Links(None, None, ()))
            reading_type = ReadingTypeEntry(*_fields(inner), codes=self._codes(nested))
        self.handle(MeterReadingEntry(*_fields(base), reading_type=reading_type))

    def _reading_type(self, base: Entry, resource: etree._Element) -> None:
        self.handle(ReadingTypeEntry(*_fields(base), codes=self._codes(resource)))

    def _codes(self, resource: etree._Element) -> dict[str, int]:
        """A ReadingType's integer fields; one the import uses must be an integer."""
        codes: dict[str, int] = {}
        for child in resource:
            if isinstance(child.tag, str) and len(child) == 0:
                name = etree.QName(child).localname
                path = f"ReadingType/{name}"
                number = self._number(child, path) if name in USED_CODES else _soft(child)
                if number is not None:
                    codes[name] = number
                elif name not in USED_CODES:
                    self._ignored(child, path)
        return codes

    def _ignored(self, element: etree._Element, path: str) -> None:
        self.problems.warn(
            line_of(element),
            path,
            f"{(element.text or '').strip()!r} is not an integer (the import does not use it)",
            "a whole number, as espi.xsd defines it",
        )

    def _local_time(self, base: Entry, resource: etree._Element) -> None:
        offset = resource.find(_espi("tzOffset"))
        tz_offset = None if offset is None else _soft(offset)
        if offset is not None and tz_offset is None:
            self._ignored(offset, "LocalTimeParameters/tzOffset")
        self.handle(LocalTimeEntry(*_fields(base), tz_offset=tz_offset))

    def _summary(self, base: Entry, resource: etree._Element) -> None:
        name = etree.QName(resource).localname

        def number(tag: str) -> int | None:
            return self._number(resource.find(_espi(tag)), f"{name}/{tag}")

        self.handle(
            SummaryEntry(
                *_fields(base),
                name=name,
                period=self._period(resource.find(_espi("billingPeriod")), f"{name}/billingPeriod"),
                bill_last_period=number("billLastPeriod"),
                cost_additional=number("costAdditionalLastPeriod"),
                line_items=[
                    self._line_item(item, name)
                    for item in resource.iterchildren(_espi("costAdditionalDetailLastPeriod"))
                ],
                currency=number("currency"),
                consumption=self._measurement(resource, name, "overallConsumptionLastPeriod"),
                peak_demand=self._measurement(resource, name, "peakDemand"),
                commodity=number("commodity"),
            )
        )

    def _period(self, element: etree._Element | None, path: str) -> tuple[int, int] | None:
        if element is None:
            return None
        start = self._number(element.find(_START), f"{path}/start")
        duration = self._number(element.find(_DURATION), f"{path}/duration")
        return None if start is None or duration is None else (start, duration)

    def _measurement(self, parent: etree._Element, name: str, tag: str) -> Measurement | None:
        element = parent.find(_espi(tag))
        if element is None:
            return None
        path = f"{name}/{tag}"
        return Measurement(
            line_of(element),
            self._number(
                element.find(_espi("powerOfTenMultiplier")), f"{path}/powerOfTenMultiplier"
            )
            or 0,
            self._number(element.find(_espi("uom")), f"{path}/uom"),
            self._number(element.find(_espi("value")), f"{path}/value"),
        )

    def _line_item(self, item: etree._Element, name: str) -> LineItem:
        path = f"{name}/costAdditionalDetailLastPeriod"
        return LineItem(
            line_of(item),
            self._number(item.find(_espi("amount")), f"{path}/amount"),
            (item.findtext(_espi("note")) or "").strip(),
            self._number(item.find(_espi("itemKind")), f"{path}/itemKind"),
            self._measurement(item, path, "measurement"),
            self._number(item.find(_espi("unitCost")), f"{path}/unitCost"),
            self._period(item.find(_espi("itemPeriod")), f"{path}/itemPeriod"),
        )

    def _interval_block(self, base: Entry, resource: etree._Element) -> None:
        interval = resource.find(_espi("interval"))
        start = None if interval is None else interval.find(_START)
        interval_start = None if start is None else _soft(start)
        if start is not None and interval_start is None:
            self._ignored(start, "IntervalBlock/interval/start")
        block = BlockEntry(*_fields(base), interval_start=interval_start)
        starts, durations, values = block.starts, block.durations, block.values
        given, qualities, lines = block.given, block.qualities, block.lines
        costs = buckets = 0
        for reading in resource.iterchildren(_READING):
            begin = length = value = None
            marked = None
            for child in reading:
                tag = child.tag
                if tag == _VALUE:
                    value = child.text
                elif tag == _TIME_PERIOD:
                    for part in child:
                        if part.tag == _START:
                            begin = part.text
                        elif part.tag == _DURATION:
                            length = part.text
                elif tag == _READING_QUALITY:
                    marked = child if marked is None else marked
                elif tag == _COST:
                    costs += 1
                elif tag in _BUCKETS:
                    buckets += 1
            numbers: tuple[int, int, int | None]
            try:
                numbers = (
                    NO_TIME if begin is None else int(begin),
                    NO_TIME if length is None else int(length),
                    0 if value is None else int(value),
                )
            except ValueError:
                numbers = self._reading_numbers(reading)
                value = None if numbers[2] is None else value
            if (
                not (EARLIEST <= numbers[0] <= LATEST or numbers[0] == NO_TIME)
                or not (0 < numbers[1] <= LONGEST or numbers[1] == NO_TIME)
                or not (-VALUE_LIMIT < (numbers[2] or 0) < VALUE_LIMIT)
            ):
                numbers = self._out_of_range(reading, numbers)
                value = None if numbers[2] is None else value
            starts.append(numbers[0])
            durations.append(numbers[1])
            values.append(numbers[2] or 0)
            given.append(value is not None)
            qualities.append(
                NO_QUALITY
                if marked is None
                else self._reading_int(marked.find(_QUALITY), "ReadingQuality/quality", NO_QUALITY)
            )
            lines.append(line_of(reading))
        first = starts[0] if starts else NO_TIME
        if block.interval_start not in (None, first) and first != NO_TIME:
            self.problems.warn(
                base.line,
                "IntervalBlock/interval/start",
                f"is {block.interval_start} but the block's first reading starts at {first} (each "
                "reading's own start was used)",
                "interval/start equal to the first reading's timePeriod/start (DIGEST §3)",
                key="interval start",
            )
        if costs:
            self.problems.warn(
                base.line,
                "IntervalReading/cost",
                "interval costs are not imported (the readings are)",
                "nothing to do: gridshare prices usage from the contract's rate plan",
                key="cost",
            )
        if buckets:
            self.problems.warn(
                base.line,
                "IntervalReading/tou",
                "a reading's tou, consumptionTier or cpp bucket is not imported (its value is)",
                "nothing to do: gridshare applies time-of-use and tiers from rate plans",
                key="buckets",
            )
        self.handle(block)

    def _reading_numbers(self, reading: etree._Element) -> tuple[int, int, int | None]:
        """A reading's start, duration and value when one is not an integer (refused)."""
        period = reading.find(_TIME_PERIOD)
        start = self._reading_int(
            None if period is None else period.find(_START), "timePeriod/start", NO_TIME
        )
        duration = self._reading_int(
            None if period is None else period.find(_DURATION), "timePeriod/duration", NO_TIME
        )
        return start, duration, self._number(reading.find(_VALUE), "IntervalReading/value")

    def _out_of_range(
        self, reading: etree._Element, numbers: tuple[int, int, int | None]
    ) -> tuple[int, int, int | None]:
        """Refuse the numbers of a reading that no time or value can be; the rest kept."""
        start, duration, value = numbers
        line = line_of(reading)
        if not EARLIEST <= start <= LATEST and start != NO_TIME:
            self.problems.refuse(
                line,
                "IntervalReading/timePeriod/start",
                f"{start} is not a time between 1900 and 2199",
                "epoch seconds (UTC), such as 1330578000 for 2012-03-01T05:00:00Z",
                key="start range",
            )
            start = NO_TIME
        if not 0 < duration <= LONGEST and duration != NO_TIME:
            self.problems.refuse(
                line,
                "IntervalReading/timePeriod/duration",
                f"{duration} is not a positive number of seconds (UInt32)",
                "the reading's length in seconds, such as 900 or 3600",
                key="duration range",
            )
            duration = NO_TIME
        if value is not None and not -VALUE_LIMIT < value < VALUE_LIMIT:
            self.problems.refuse(
                line,
                "IntervalReading/value",
                f"{value} is too large to store exactly",
                "an Int48 value scaled by the ReadingType's powerOfTenMultiplier",
                key="value range",
            )
            value = None
        return start, duration, value

    def _reading_int(self, element: etree._Element | None, path: str, default: int) -> int:
        number = self._number(element, f"IntervalReading/{path}")
        return default if number is None else number

    _readers: Final[dict[str, Callable[[FeedReader, Entry, etree._Element], None]]] = {
        "UsagePoint": _usage_point,
        "MeterReading": _meter_reading,
        "ReadingType": _reading_type,
        "IntervalBlock": _interval_block,
        "UsageSummary": _summary,
        "ElectricPowerUsageSummary": _summary,
        "LocalTimeParameters": _local_time,
    }


def _soft(element: etree._Element) -> int | None:
    """The integer an element holds, or None."""
    try:
        return int((element.text or "").strip())
    except ValueError:
        return None


def line_of(element: etree._Element) -> int:
    """The line an element starts on (lxml-stubs leave `sourceline` untyped)."""
    line: int | None = getattr(element, "sourceline", None)
    return line or 0


def _fields(base: Entry) -> tuple[int, str | None, str, Links]:
    return base.line, base.atom_id, base.title, base.links


def _drop(element: etree._Element) -> None:
    """Free a handled entry and the siblings before it."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _describe_entity(entity: Any) -> str:
    """An ENTITY declaration by name (and the file or URL it would read), never its expansion."""
    system = entity.system_url
    return f"{entity.name} (external: {system})" if system else str(entity.name)


def _doctype_line(path: Path) -> int | None:
    """The line of the DOCTYPE declaration (it comes before the root element)."""
    for number, line in zip(range(1, 10_000), _lines(path), strict=False):
        if b"<!DOCTYPE" in line:
            return number
    return None


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        yield from source
