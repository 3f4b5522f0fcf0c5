"""Green Button XML import: every sample to exact blocks, idempotence, the link rules and their
weaker fallbacks, hardened parsing (XXE, billion laughs, truncation), all-or-nothing refusals,
--service-point onto the demo utility, UsageSummaries as Bill Sections, and the CLI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from greenbutton_objects import parse
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gridshare.cli import app
from gridshare.config import Settings
from gridshare.store.db import session_factory
from gridshare.store.tables.bills import BillCostDetail, BillLineItem, BillSection, BillUsageDetail
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility import codec
from gridshare.utility.imports.greenbutton import (
    GreenButtonRefused,
    GreenButtonReport,
    Problem,
    import_greenbutton,
)
from gridshare.utility.imports.greenbutton_records import numbers_for
from tests.demo.conftest import SmallDemo
from tests.demo.conftest import demo as demo  # the module's demo utility
from tests.espi.xml_checks import schema_errors

SAMPLES = Path(__file__).parents[2] / "espi" / "specs" / "samples"
FIFTEEN = SAMPLES / "openespi_test_usage_data_15min_electric.xml"
HOURLY = SAMPLES / "TestGBDataHourlyNineDaysBinnedDaily.xml"
GAS = SAMPLES / "GBA_sample_Gas_monthly_therms.xml"
OPOWER = SAMPLES / "opower_gas_billing_ngma_Service_1_2021-05-26_to_2024-04-25.xml"
TABLES = (
    "service_points",
    "meter_devices",
    "meter_installations",
    "channels",
    "usage_blocks",
    "bill_sections",
    "bill_usage_details",
    "bill_cost_details",
    "bill_line_items",
)
Key = tuple[str | None, str, str | None, str, int]
"""meter number, kind, direction, units, channel interval"""


# Reading back what was stored -----------------------------------------------------------------


def _readings(
    engine: Engine, meter: str | None = None
) -> dict[Key, dict[int, tuple[Decimal, str, int]]]:
    """Every stored reading (of one meter) by channel and start epoch: (value, quality, block
    interval)."""
    query = (
        select(MeterDevice.meter_number, Channel, UsageBlock)
        .join(Channel, Channel.meter_id == MeterDevice.id)
        .join(UsageBlock, UsageBlock.channel_id == Channel.id)
    )
    if meter is not None:
        query = query.where(MeterDevice.meter_number == meter)
    found: dict[Key, dict[int, tuple[Decimal, str, int]]] = {}
    with session_factory(engine)() as session:
        for number, channel, block in session.execute(query):
            key = (number, channel.kind, channel.direction, channel.units, channel.interval_seconds)
            values = codec.unpack_decimals(block.values)
            qualities = codec.unpack_quality(block.quality, block.count).tolist()
            start = int(block.start.timestamp())
            for index, value in enumerate(values):
                if value is not None:
                    at = start + index * block.interval_seconds
                    quality = codec.QUALITIES[qualities[index]]
                    found.setdefault(key, {})[at] = (value, quality, block.interval_seconds)
    return found


def _snapshot(engine: Engine) -> list[Any]:
    """Every row an import may touch, timestamps included."""
    with engine.connect() as connection:
        return [
            connection.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")).all()
            for table in TABLES
        ]


def _independent(path: Path, shift: int) -> dict[int, Decimal]:
    """The file's readings as greenbutton-objects (an independent parser) reads them:
    value * 10**(powerOfTenMultiplier + shift) by start epoch."""
    readings: dict[int, Decimal] = {}
    for point in parse.parse_feed(str(path)):
        for meter_reading in point.meterReadings:
            multiplier = meter_reading.readingType.powerOfTenMultiplier
            for block in meter_reading.intervalBlocks:
                for reading in block.intervalReadings:
                    start = int(reading.timePeriod.start.timestamp())
                    readings[start] = Decimal(reading._value).scaleb(multiplier + shift)
    return readings


def _values(stored: dict[int, tuple[Decimal, str, int]]) -> dict[int, Decimal]:
    return {start: value for start, (value, _, _) in stored.items()}


def _import(engine: Engine, settings: Settings, path: Path, **options: Any) -> GreenButtonReport:
    return import_greenbutton(engine, settings, path, **options)


def _refused(engine: Engine, settings: Settings, path: Path, **options: Any) -> list[Problem]:
    before = _snapshot(engine)
    with pytest.raises(GreenButtonRefused) as raised:
        _import(engine, settings, path, **options)
    assert _snapshot(engine) == before, "a refused file must change nothing"
    return [p for p in raised.value.problems if p.fatal]


def _elements(problems: list[Problem]) -> list[str]:
    return [p.element for p in problems]


# The samples -----------------------------------------------------------------------------------


def test_fifteen_minute_sample_stores_its_1340_readings_exactly(
    engine: Engine, settings: Settings
) -> None:
    report = _import(engine, settings, FIFTEEN)

    stored = _readings(engine)
    service_point, meter = numbers_for("urn:uuid:48c2a019-5598-4e16-b0f9-49e4ff27f5fb")
    key = (meter, "electric_usage", "forward", "kWh", 900)
    assert list(stored) == [key]
    assert len(stored[key]) == 1340
    assert _values(stored[key]) == _independent(FIFTEEN, -3)  # Wh -> kWh
    first = 1330578000  # 2012-03-01T05:00:00Z: value 282 Wh, quality 8 (estimated)
    assert stored[key][first] == (Decimal("0.282"), "estimated", 900)
    assert stored[key][first + 900][1] == "manual"  # quality 7 (manually edited)
    assert {q for _, q, _ in stored[key].values()} == {"valid", "estimated", "manual"}
    assert (report.usage.readings, report.usage.missing, report.usage.new_channels) == (1340, 0, 1)
    assert report.usage.days == 15  # Los Angeles days: 2012-02-29 to 2012-03-14
    with session_factory(engine)() as session:
        point = session.scalars(select(ServicePoint)).one()
        installed = session.scalars(select(MeterInstallation)).one()
    assert (point.servicepoint_number, point.types) == (service_point, ["electric"])
    assert installed.start == date(2012, 2, 29) and installed.end is None
    warned = {p.element for p in report.warnings}
    assert {"IntervalReading/cost", "ElectricPowerQualitySummary"} <= warned
    assert "ElectricPowerUsageSummary" in warned  # no contract serves the new service point


def test_hourly_sample_reads_absolute_hrefs_and_warns_of_the_capital_s(
    engine: Engine, settings: Settings
) -> None:
    report = _import(engine, settings, HOURLY)

    [(key, stored)] = _readings(engine).items()
    assert key[1:] == ("electric_usage", "forward", "kWh", 3600)
    assert len(stored) == 216
    assert _values(stored) == _independent(HOURLY, -3)
    [capital] = [p for p in report.warnings if p.element == "UsagePoint/ServiceDeliveryPoint"]
    assert capital.line == 70 and "serviceDeliveryPoint" in capital.expected


def test_monthly_gas_sample_stores_one_read_period_per_reading_in_therms(
    engine: Engine, settings: Settings
) -> None:
    _import(engine, settings, GAS)

    [(key, stored)] = _readings(engine).items()
    assert key[1:] == ("natural_gas_usage", None, "therm", 0)  # read periods
    assert _values(stored) == _independent(GAS, 0)
    assert len(stored) == 13
    assert stored[1301630400] == (Decimal("79.450"), "valid", 2592000)  # April 2011, 30 days
    assert stored[1304222400][2] == 2678400  # May 2011, 31 days: each block its own length


def test_reimporting_a_file_changes_nothing(engine: Engine, settings: Settings) -> None:
    for path in (FIFTEEN, GAS, OPOWER):
        _import(engine, settings, path)
    before = _snapshot(engine)

    again = [_import(engine, settings, path) for path in (FIFTEEN, GAS, OPOWER)]

    assert _snapshot(engine) == before
    assert [r.usage.blocks_written for r in again] == [0, 0, 0]
    assert [r.points.service_points_created for r in again] == [0, 0, 0]


def test_dry_run_counts_everything_and_writes_nothing(engine: Engine, settings: Settings) -> None:
    before = _snapshot(engine)
    report = _import(engine, settings, FIFTEEN, dry_run=True)
    assert _snapshot(engine) == before
    assert (report.usage.readings, report.usage.blocks_written) == (1340, 15)
    assert report.summary().startswith("Dry run, nothing was written.")


def test_opower_sample_imports_with_a_warning_for_each_departure(
    engine: Engine, settings: Settings
) -> None:
    """The real Opower file bends the link rules but every join is unambiguous: imported."""
    report = _import(engine, settings, OPOWER)

    [(key, stored)] = _readings(engine).items()
    assert key[1:] == ("natural_gas_usage", None, "therm", 0)
    assert _values(stored) == _independent(OPOWER, 0)
    assert len(stored) == 35
    assert stored[1621987200] == (Decimal("37.000"), "valid", 3024000)
    warnings = {(p.line, p.element): p for p in report.warnings}
    assert set(warnings) == {
        (8, "entry/updated"),
        (54, "IntervalBlock/interval/start"),
        (54, "IntervalReading/cost"),
        (54, "IntervalBlock"),
        (25, "MeterReading"),
        (8, "UsagePoint"),
    }
    assert warnings[(8, "entry/updated")].count == 4  # three date-only, one missing
    assert "a `related` link naming it" in warnings[(25, "MeterReading")].problem
    assert "links no LocalTimeParameters" in warnings[(8, "UsagePoint")].problem


# Crafted files ---------------------------------------------------------------------------------

BASE = "https://utility.example/espi/1_1/resource"
JUNE_1 = int(datetime(2024, 6, 1, 7, tzinfo=UTC).timestamp())  # local midnight in Los Angeles


@dataclass
class Reading:
    start: int
    value: int | None
    duration: int = 900
    quality: int | None = None


def _entry(
    tag: str, inner: str, self_href: str, up: str | None, *related: str, uid: str = ""
) -> str:
    """An Atom entry holding the ESPI resource `<tag>inner</tag>`."""
    links = [f'<link rel="self" href="{self_href}" type="espi-entry/{tag}"/>']
    links += [f'<link rel="up" href="{up}" type="espi-feed/{tag}"/>'] if up else []
    links += [f'<link rel="related" href="{h}" type="application/atom+xml"/>' for h in related]
    atom_id = f"<id>urn:uuid:{uid}</id>" if uid else ""
    return (
        f"<entry>{atom_id}{''.join(links)}<title>t</title>"
        f'<content><{tag} xmlns="http://naesb.org/espi">{inner}</{tag}></content>'
        "<published>2024-06-21T00:00:00Z</published><updated>2024-06-21T00:00:00Z</updated>"
        "</entry>"
    )


def usage_point(point: str = "UP1", kind: int = 0, uid: str = "", summaries: bool = True) -> str:
    own = f"{BASE}/Subscription/1/UsagePoint/{point}"
    related = [f"{own}/MeterReading", f"{BASE}/LocalTimeParameters/1"]
    related += [f"{own}/UsageSummary"] if summaries else []
    uid = uid or str(uuid.uuid5(uuid.NAMESPACE_URL, own))
    category = f"<ServiceCategory><kind>{kind}</kind></ServiceCategory>"
    collection = f"{BASE}/Subscription/1/UsagePoint"
    return _entry("UsagePoint", category, own, collection, *related, uid=uid)


def meter_reading(point: str = "UP1", reading: str = "MR1", reading_type: str = "RT1") -> str:
    own = f"{BASE}/Subscription/1/UsagePoint/{point}/MeterReading/{reading}"
    return _entry(
        "MeterReading",
        "",
        own,
        f"{BASE}/Subscription/1/UsagePoint/{point}/MeterReading",
        f"{own}/IntervalBlock",
        f"{BASE}/ReadingType/{reading_type}",
    )


def reading_type(name: str = "RT1", **codes: int) -> str:
    fields = {
        "accumulationBehaviour": 4,
        "commodity": 1,
        "flowDirection": 1,
        "intervalLength": 900,
        "kind": 12,
        "powerOfTenMultiplier": 0,
        "uom": 72,
    } | codes
    body = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items() if v is not None)
    own = f"{BASE}/ReadingType/{name}"
    return _entry("ReadingType", body, own, f"{BASE}/ReadingType")


def interval_block(
    readings: list[Reading], point: str = "UP1", reading: str = "MR1", up: bool = True
) -> str:
    collection = f"{BASE}/Subscription/1/UsagePoint/{point}/MeterReading/{reading}/IntervalBlock"
    body = "".join(
        "<IntervalReading>"
        + (f"<ReadingQuality><quality>{r.quality}</quality></ReadingQuality>" if r.quality else "")
        + f"<timePeriod><duration>{r.duration}</duration><start>{r.start}</start></timePeriod>"
        + (f"<value>{r.value}</value>" if r.value is not None else "")
        + "</IntervalReading>"
        for r in readings
    )
    first = readings[0].start
    interval = f"<interval><duration>{len(readings) * 900}</duration><start>{first}</start>"
    return _entry(
        "IntervalBlock",
        f"{interval}</interval>{body}",
        f"{collection}/{first}",
        collection if up else None,
    )


def usage_summary(start: int, duration: int, point: str = "UP1", **fields: str) -> str:
    own = f"{BASE}/Subscription/1/UsagePoint/{point}/UsageSummary"
    body = f"<billingPeriod><duration>{duration}</duration><start>{start}</start></billingPeriod>"
    body += "".join(
        fields.get(name, "")
        for name in (
            "billLastPeriod",
            "costAdditionalLastPeriod",
            "costAdditionalDetailLastPeriod",
            "currency",
            "overallConsumptionLastPeriod",
        )
    )
    body += f"<statusTimeStamp>{start + duration}</statusTimeStamp>"
    return _entry("UsageSummary", body, f"{own}/{start}", own)


def local_time() -> str:
    body = (
        "<dstEndRule>B40E2000</dstEndRule><dstOffset>3600</dstOffset>"
        "<dstStartRule>360E2000</dstStartRule><tzOffset>-28800</tzOffset>"
    )
    own = f"{BASE}/LocalTimeParameters/1"
    return _entry("LocalTimeParameters", body, own, own[:-2])


def feed(*entries: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<id>urn:uuid:6d8be83a-4b44-414c-b828-20809acf30d1</id><title>t</title>"
        f"<updated>2024-06-21T00:00:00Z</updated>"
        f'<link rel="self" href="{BASE}/Batch/1" type="espi-feed/Subscription"/>\n'
        + "\n".join(entries)
        + "\n</feed>\n"
    )


def _write(tmp_path: Path, document: str, name: str = "gb.xml") -> Path:
    path = tmp_path / name
    path.write_text(document, encoding="utf-8")
    return path


def _quarters(values: list[int | None], first: int = JUNE_1) -> list[Reading]:
    return [Reading(first + 900 * i, value) for i, value in enumerate(values)]


def _electric(tmp_path: Path, readings: list[Reading], **codes: int) -> Path:
    return _write(
        tmp_path,
        feed(
            usage_point(),
            local_time(),
            meter_reading(),
            reading_type(**codes),
            interval_block(readings),
        ),
    )


def test_multiplier_reverse_flow_missing_values_and_quality_codes(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    readings = _quarters([1250, None, 7, -3])
    readings[2].quality, readings[3].quality = 19, 13
    path = _electric(tmp_path, readings, powerOfTenMultiplier=-3, flowDirection=19)

    report = _import(engine, settings, path)

    [(key, stored)] = _readings(engine).items()
    assert key[1:] == ("electric_usage", "reverse", "kWh", 900)
    assert stored == {  # mWh -> kWh, received energy negative (CDS-WG3-01 §10.8.5.1.2)
        JUNE_1: (Decimal("-0.00125"), "valid", 900),
        JUNE_1 + 1800: (Decimal("-0.000007"), "revenue", 900),
        JUNE_1 + 2700: (Decimal("0.000003"), "website", 900),
    }
    assert (report.usage.readings, report.usage.missing) == (3, 1)
    assert report.warnings == ()


def test_a_schema_valid_file_imports_without_a_warning(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    document = feed(
        usage_point(summaries=False),
        local_time(),
        meter_reading(),
        reading_type(kind=12),
        interval_block(_quarters([1, None, 3])),
    )
    assert schema_errors(document.encode()) == []  # the ESPI and strict Atom 3.3 schemas

    report = _import(engine, settings, _write(tmp_path, document))

    assert report.warnings == ()
    assert (report.usage.readings, report.usage.missing) == (2, 1)
    kind_mismatch = _write(tmp_path, document.replace("<kind>12</kind>", "<kind>8</kind>"))
    [warning] = _import(engine, settings, kind_mismatch).warnings
    assert warning.element == "ReadingType/kind"


def test_entries_may_come_in_any_order(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        feed(
            interval_block(_quarters([5, 6])),
            reading_type(),
            meter_reading(),
            local_time(),
            usage_point(),
        ),
    )
    _import(engine, settings, path)
    [stored] = _readings(engine).values()
    assert _values(stored) == {JUNE_1: Decimal("0.005"), JUNE_1 + 900: Decimal("0.006")}


def test_two_usage_points_get_two_service_points_and_meters(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        feed(
            usage_point("A"),
            usage_point("B", kind=1),
            local_time(),
            meter_reading("A", reading_type="E"),
            meter_reading("B", reading_type="G"),
            reading_type("E"),
            reading_type("G", commodity=7, uom=169, flowDirection=None, intervalLength=3600),
            interval_block(_quarters([1]), point="A"),
            interval_block([Reading(JUNE_1, 2, 3600)], point="B"),
        ),
    )
    report = _import(engine, settings, path)
    kinds = {key[1:]: _values(stored) for key, stored in _readings(engine).items()}
    assert kinds == {
        ("electric_usage", "forward", "kWh", 900): {JUNE_1: Decimal("0.001")},
        ("natural_gas_usage", None, "therm", 3600): {JUNE_1: Decimal(2)},
    }
    assert report.points.service_points_created == report.points.meters_created == 2
    with session_factory(engine)() as session:
        types = sorted(session.scalars(select(ServicePoint.types)))
    assert types == [["electric"], ["natural_gas"]]


def test_repeated_reading_is_kept_once_and_a_conflicting_one_refused(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    same = _write(
        tmp_path,
        feed(
            usage_point(),
            local_time(),
            meter_reading(),
            reading_type(),
            interval_block(_quarters([1, 2])),
            interval_block(_quarters([2], JUNE_1 + 900)),
        ),
        "same.xml",
    )
    report = _import(engine, settings, same)
    assert [p.element for p in report.warnings] == ["IntervalReading"]
    assert report.usage.readings == 2

    conflict = _write(
        tmp_path,
        feed(
            usage_point(),
            local_time(),
            meter_reading(),
            reading_type(),
            interval_block(_quarters([1, 2])),
            interval_block(_quarters([3], JUNE_1 + 900)),
        ),
        "conflict.xml",
    )
    [problem] = _refused(engine, settings, conflict)
    assert problem.element == "IntervalReading"
    assert "second, different reading for 2024-06-01T07:15:00Z" in problem.problem


@pytest.mark.parametrize(
    ("codes", "field", "says"),
    [
        ({"uom": 73}, "ReadingType/uom", "uom 73 (VArh) is not a electric unit"),
        ({"flowDirection": 20}, "ReadingType/flowDirection", "flowDirection 20 has no CDS"),
        ({"accumulationBehaviour": 9}, "ReadingType/accumulationBehaviour", "(summation)"),
        ({"tou": 2}, "ReadingType/tou", "tou 2: its readings are one bucket"),
        ({"commodity": 8}, "ReadingType/commodity", "commodity 8 (propane) has no CDS"),
    ],
)
def test_a_reading_type_gridshare_does_not_keep_is_skipped_with_a_warning(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    codes: dict[str, int],
    field: str,
    says: str,
) -> None:
    report = _import(engine, settings, _electric(tmp_path, _quarters([1]), **codes))
    assert _readings(engine) == {}
    assert report.points.service_points_created == 1
    [skipped] = [p for p in report.warnings if p.element == field]
    assert says in skipped.problem and "not imported" in skipped.problem


def _usage(block: str, rt: str = "") -> str:
    """A file with one UsagePoint and MeterReading, the ReadingType `rt` and one block."""
    return feed(usage_point(), meter_reading(), rt or reading_type(), block)


ONE = _quarters([1])
UNPLACEABLE = [
    (
        "orphan-block",
        feed(
            usage_point(),
            meter_reading(reading="MR1"),
            meter_reading(reading="MR2"),
            reading_type(),
            interval_block(ONE, reading="MR3"),
        ),
        "IntervalBlock",
        "belongs to no MeterReading",
    ),
    ("no-uom", _usage(interval_block(ONE), reading_type(uom=None)), "ReadingType/uom", "no uom"),
    (
        "misaligned",
        _usage(interval_block([Reading(JUNE_1 + 60, 1)])),
        "IntervalReading/timePeriod/start",
        "not on a 900-second boundary of the local day in America/Los_Angeles",
    ),
    (
        "wrong-duration",
        _usage(interval_block([Reading(JUNE_1, 1, 3600)])),
        "IntervalReading/timePeriod/duration",
        "is 3600 s but meter",
    ),
    (
        "not-integer",
        _usage(interval_block(ONE).replace("<value>1<", "<value>1.5<")),
        "IntervalReading/value",
        "'1.5' is not an integer",
    ),
    (
        "too-fine",
        _usage(interval_block(_quarters([1])), reading_type(powerOfTenMultiplier=-12)),
        "IntervalReading/value",
        "more than 9 decimal places",
    ),
    (
        "value-too-large",
        _usage(interval_block(_quarters([2**64]))),
        "IntervalReading/value",
        f"{2**64} is too large to store exactly",
    ),
    (
        "start-out-of-range",
        _usage(interval_block([Reading(2**40, 1)])),
        "IntervalReading/timePeriod/start",
        f"{2**40} is not a time between 1900 and 2199",
    ),
    (
        "not-atom",
        "<feed><entry/></feed>",
        "<feed>",
        "is the root element (namespace none)",
    ),
    (
        "no-usage-point",
        feed(reading_type(), meter_reading(), interval_block(ONE)),
        "the feed",
        "has no UsagePoint entry",
    ),
]


@pytest.mark.parametrize(
    ("document", "element", "says"),
    [case[1:] for case in UNPLACEABLE],
    ids=[case[0] for case in UNPLACEABLE],
)
def test_what_cannot_be_placed_or_stored_exactly_refuses_the_file(
    engine: Engine, settings: Settings, tmp_path: Path, document: str, element: str, says: str
) -> None:
    problems = _refused(engine, settings, _write(tmp_path, document))
    assert element in _elements(problems)
    [problem] = [p for p in problems if p.element == element]
    assert says in problem.problem
    assert problem.line is not None or element == "the feed"


def test_a_truncated_file_is_refused_and_nothing_is_written(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    data = FIFTEEN.read_bytes()
    cut = _write(tmp_path, data[: len(data) * 2 // 3].decode("utf-8", "ignore"), "cut.xml")
    [problem] = _refused(engine, settings, cut)
    assert problem.element == "the XML" and "not well-formed" in problem.problem
    assert "cut short" in problem.expected
    assert _readings(engine) == {}


XXE = """<?xml version="1.0"?>
<!DOCTYPE feed [
  <!ENTITY secret SYSTEM "file:///etc/passwd">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&secret;</title></entry></feed>
"""
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE feed [\n <!ENTITY lol0 "lol">\n'
    + "".join(f' <!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">\n' for n in range(1, 10))
    + ']>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol9;</title></feed>\n'
)
EXTERNAL = (
    '<?xml version="1.0"?>\n<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
    '<feed xmlns="http://www.w3.org/2005/Atom"/>\n'
)


@pytest.mark.parametrize(
    ("document", "names"),
    [(XXE, "secret (external: file:///etc/passwd)"), (LAUGHS, "lol0, lol1"), (EXTERNAL, "")],
    ids=["xxe", "billion-laughs", "external-dtd"],
)
def test_a_doctype_is_refused_without_reading_or_expanding_it(
    engine: Engine, settings: Settings, tmp_path: Path, document: str, names: str
) -> None:
    [problem] = _refused(engine, settings, _write(tmp_path, document))
    assert (problem.line, problem.element) == (2, "<!DOCTYPE>")
    assert names in problem.problem
    assert "no DTD was loaded and no entity expanded" in problem.problem
    assert "root:" not in str(problem) and "lollollol" not in str(problem)


# Records: all or nothing, --service-point, summaries ------------------------------------------


def test_a_loader_refusal_rolls_back_the_records_written_before_it(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The gas channel is stored in therms; a file giving it in BTU is refused by the loader
    after the new service point was written in the same transaction: nothing is kept."""
    gas = reading_type("G", commodity=7, uom=169, flowDirection=None, intervalLength=3600)
    entries = [
        usage_point("G", kind=1, uid="11111111-1111-5111-8111-111111111111"),
        local_time(),
        meter_reading("G", reading_type="G"),
        gas,
        interval_block([Reading(JUNE_1, 2, 3600)], point="G"),
    ]
    _import(engine, settings, _write(tmp_path, feed(*entries), "therm.xml"))
    btu = [entry.replace("<uom>169</uom>", "<uom>132</uom>") for entry in entries]
    btu += [usage_point("NEW", uid="22222222-2222-5222-8222-222222222222")]
    [problem] = _refused(engine, settings, _write(tmp_path, feed(*btu), "btu.xml"))
    assert problem.element == "ReadingType/uom"
    assert "already recorded in therm, not Btu" in problem.problem


def test_service_point_maps_the_file_onto_a_demo_meter(demo: SmallDemo, tmp_path: Path) -> None:
    engine, settings = demo.engine, demo.settings
    number, meter, channel_id = _demo_point(engine, "electric")
    before = _count(engine, ServicePoint), _count(engine, MeterDevice)

    report = _import(engine, settings, FIFTEEN, service_point=number)

    assert (_count(engine, ServicePoint), _count(engine, MeterDevice)) == before
    assert report.usage.new_channels == 0
    [plan] = report.usage_points
    assert (plan.servicepoint_number, plan.meter_number, plan.existing) == (number, meter, True)
    stored = _readings(engine, meter)[(meter, "electric_usage", "forward", "kWh", 900)]
    in_2012 = {s: v for s, (v, _, _) in stored.items() if s < 1400000000}
    assert in_2012 == _independent(FIFTEEN, -3)
    with session_factory(engine)() as session:
        blocks = session.scalars(
            select(UsageBlock.channel_id).where(UsageBlock.start < datetime(2013, 1, 1, tzinfo=UTC))
        ).all()
    assert set(blocks) == {channel_id}
    assert "(--service-point)" in report.summary()
    [early] = [p for p in report.warnings if p.element == "UsagePoint"]
    assert f"readings start on 2012-02-29, before meter {meter} was installed" in early.problem


def test_service_point_refusals_name_the_option(demo: SmallDemo, tmp_path: Path) -> None:
    engine, settings = demo.engine, demo.settings
    gas_point, _, _ = _demo_point(engine, "natural_gas")
    electric, _, _ = _demo_point(engine, "electric")
    [unknown] = _refused(engine, settings, FIFTEEN, service_point="SP-NOPE")
    assert (unknown.line, unknown.element) == (None, "--service-point")
    [wrong] = _refused(engine, settings, FIFTEEN, service_point=gas_point)
    assert "measures electric but --service-point" in wrong.problem
    two = _write(tmp_path, feed(usage_point("A"), usage_point("B")))
    [second] = _refused(engine, settings, two, service_point=electric)
    assert "second UsagePoint" in second.problem


def test_a_usage_summary_becomes_a_bill_section_of_the_serving_contract(
    demo: SmallDemo, tmp_path: Path
) -> None:
    engine, settings = demo.engine, demo.settings
    number, _, _ = _demo_point(engine, "electric", open_contract=True)
    april = int(datetime(2025, 4, 1, 7, tzinfo=UTC).timestamp())  # after the demo's bills
    january = int(datetime(2025, 1, 1, 8, tzinfo=UTC).timestamp())  # the demo billed January
    item = (
        "<costAdditionalDetailLastPeriod><amount>125000</amount><note>Wildfire fund</note>"
        "<itemKind>4</itemKind></costAdditionalDetailLastPeriod>"
        "<costAdditionalDetailLastPeriod><amount>-5000000</amount><note>Payment</note>"
        "<itemKind>9</itemKind></costAdditionalDetailLastPeriod>"
    )
    consumption = (
        "<overallConsumptionLastPeriod><powerOfTenMultiplier>0</powerOfTenMultiplier>"
        "<uom>72</uom><value>412345</value></overallConsumptionLastPeriod>"
    )
    path = _write(
        tmp_path,
        feed(
            usage_point(),
            local_time(),
            usage_summary(
                april,
                30 * 86400,
                billLastPeriod="<billLastPeriod>15252000</billLastPeriod>",
                costAdditionalLastPeriod="<costAdditionalLastPeriod>125000</costAdditionalLastPeriod>",
                costAdditionalDetailLastPeriod=item,
                currency="<currency>840</currency>",
                overallConsumptionLastPeriod=consumption,
            ),
            usage_summary(january, 31 * 86400, billLastPeriod="<billLastPeriod>1</billLastPeriod>"),
        ),
    )  # fmt: skip

    report = _import(engine, settings, path, service_point=number)

    assert (report.summaries.written, len(report.summaries.skipped)) == (1, 1)
    assert "already has Bill Section" in report.summaries.skipped[0].problem
    with session_factory(engine)() as session:
        section = session.scalars(select(BillSection).where(BillSection.id.like("gbsec_%"))).one()
        costs = session.scalars(
            select(BillCostDetail).where(BillCostDetail.section_id == section.id)
        ).all()
        usage = session.scalars(
            select(BillUsageDetail).where(BillUsageDetail.section_id == section.id)
        ).one()
        items = session.scalars(
            select(BillLineItem).where(BillLineItem.section_id == section.id)
        ).all()
        link = session.scalars(
            select(ServicePointContract)
            .join(ServicePoint, ServicePoint.id == ServicePointContract.service_point_id)
            .where(ServicePoint.servicepoint_number == number, ServicePointContract.end.is_(None))
        ).one()
    assert section.contract_id == link.contract_id
    assert (section.start_date, section.end_date) == (date(2025, 4, 1), date(2025, 4, 30))
    assert section.currency == "USD" and section.statement_id is None
    assert "service_contract" in section.section_types and "electric" in section.section_types
    assert [(c.name, c.types, c.cost) for c in costs] == [
        ("Total charges", ["overall_total"], Decimal("152.52")),
        ("Additional charges", ["subtotal", "other"], Decimal("1.25")),
    ]
    assert (usage.types, usage.value, usage.units) == (
        ["electric_usage"],
        Decimal("412.345"),
        "kWh",
    )
    assert [(i.name, i.types, i.cost) for i in items] == [
        ("Wildfire fund", ["fixed_charge"], Decimal("1.25"))
    ]  # the payment (itemKind 9) is not a charge of the period

    before = _snapshot(engine)
    again = _import(engine, settings, path, service_point=number)
    assert (again.summaries.written, again.summaries.unchanged) == (0, 1)
    assert _snapshot(engine) == before  # fmt: skip


def _demo_point(
    engine: Engine, commodity: str, open_contract: bool = False
) -> tuple[str, str, int]:
    """A demo service point of `commodity` with one current meter: (number, meter, channel id
    of its first channel); with `open_contract`, one whose contract link has no end."""
    with Session(engine) as session:
        rows = session.execute(
            select(ServicePoint, MeterDevice, Channel)
            .join(MeterInstallation, MeterInstallation.service_point_id == ServicePoint.id)
            .join(MeterDevice, MeterDevice.id == MeterInstallation.meter_id)
            .join(Channel, Channel.meter_id == MeterDevice.id)
            .where(MeterInstallation.end.is_(None), Channel.interval_seconds > 0)
            .order_by(ServicePoint.servicepoint_number, Channel.id)
        ).all()
        for point, meter, channel in rows:
            if commodity not in point.types or channel.direction not in (None, "forward"):
                continue
            links = session.scalars(
                select(ServicePointContract).where(
                    ServicePointContract.service_point_id == point.id
                )
            ).all()
            if open_contract and not any(link.end is None for link in links):
                continue
            installs = session.scalars(
                select(MeterInstallation).where(MeterInstallation.service_point_id == point.id)
            ).all()
            if len(installs) == 1 and len(links) == 1:
                return point.servicepoint_number, meter.meter_number, channel.id
    raise LookupError(f"the demo has no simple {commodity} service point")


def _count(engine: Engine, table: Any) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(table)).all())


# The command -----------------------------------------------------------------------------------


@pytest.fixture
def cli(database_url: str, tmp_path: Path, engine: Engine) -> Iterator[dict[str, str]]:
    yield {
        "GRIDSHARE_DATABASE_URL": database_url,
        "GRIDSHARE_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "300",
    }


def test_cli_prints_the_summary_on_stdout_and_warnings_on_stderr(
    cli: dict[str, str], engine: Engine
) -> None:
    result = CliRunner().invoke(app, ["import", "greenbutton", str(OPOWER)], env=cli)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Imported 35 readings (0 missing) for 1 channel (1 new)")
    assert "not linked to any customer" in result.stdout
    assert "warning line 25, MeterReading:" in result.stderr
    assert "warning line" not in result.stdout and result.stdout.endswith("6 warnings.\n")


def test_cli_refuses_a_bad_file_with_every_problem_and_exit_1(
    cli: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    path = _write(tmp_path, XXE)
    result = CliRunner().invoke(app, ["import", "greenbutton", str(path)], env=cli)
    assert result.exit_code == 1
    assert "Nothing was imported." in result.stderr
    assert "refused line 2, <!DOCTYPE>:" in result.stderr
    assert result.stdout == ""
    assert _snapshot(engine) == [[] for _ in TABLES]


def test_cli_dry_run_and_service_point_options(cli: dict[str, str], engine: Engine) -> None:
    result = CliRunner().invoke(app, ["import", "greenbutton", "--dry-run", str(FIFTEEN)], env=cli)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Dry run, nothing was written. It would import 1,340")
    assert _snapshot(engine) == [[] for _ in TABLES]
    missing = CliRunner().invoke(
        app, ["import", "greenbutton", "--service-point", "SP-0", str(FIFTEEN)], env=cli
    )
    assert missing.exit_code == 1
    assert "refused --service-point: no service point has the number 'SP-0'" in missing.stderr


def test_a_day_the_loader_cannot_split_names_the_reading(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """7200-second intervals do not divide the 25-hour day when DST ends."""
    fall = int(datetime(2024, 11, 3, 7, tzinfo=UTC).timestamp())
    path = _electric(tmp_path, [Reading(fall, 1, 7200)], intervalLength=7200)
    [problem] = _refused(engine, settings, path)
    assert problem.element == "ReadingType/intervalLength"
    assert "7200 seconds do not divide the local day 2024-11-03" in problem.problem


def test_readings_before_the_first_day_move_the_installation_start(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _import(engine, settings, _electric(tmp_path, _quarters([1])))
    earlier = JUNE_1 - 86400 * 3
    _import(engine, settings, _electric(tmp_path, _quarters([2], earlier)))
    with session_factory(engine)() as session:
        installed = session.scalars(select(MeterInstallation)).one()
    assert installed.start == date(2024, 5, 29)
    assert len(next(iter(_readings(engine).values()))) == 2
