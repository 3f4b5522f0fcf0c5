"""CSV usage import: exact blocks per local day, merge and idempotence, all-or-nothing refusals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update
from typer.testing import CliRunner

from gridshare.cli import app
from gridshare.config import Settings
from gridshare.store.db import session_factory, transaction
from gridshare.store.jsontext import loads
from gridshare.store.tables.meters import MeterDevice
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility import codec
from gridshare.utility.imports.csv_usage import (
    COLUMNS,
    UsageImportError,
    UsageImportReport,
    import_usage_csv,
)
from gridshare.utility.usage import BlockRow, day_start, ensure_channel, write_blocks
from gridshare.utility.usage_read import values_json

HEADER = ",".join(COLUMNS)
JUNE_1 = datetime(2024, 6, 1, 7, tzinfo=UTC)  # local midnight in Los Angeles (PDT)


def _meters(engine: Engine, *numbers: str) -> None:
    with transaction(session_factory(engine)) as session:
        for number in numbers:
            session.add(MeterDevice(id=f"id-{number}", meter_number=number, types=[]))


def _csv(tmp_path: Path, lines: Sequence[str], name: str = "usage.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _row(
    start: datetime | str,
    value: str,
    *,
    meter: str = "A1",
    kind: str = "electric_usage",
    direction: str = "net",
    units: str = "kWh",
    seconds: int | str = 900,
    quality: str = "",
) -> str:
    stamp = start if isinstance(start, str) else start.isoformat().replace("+00:00", "Z")
    return f"{meter},{kind},{direction},{units},{stamp},{seconds},{value},{quality}"


def _quarter(n: int, day: datetime = JUNE_1) -> datetime:
    return day + timedelta(minutes=15 * n)


def _import(engine: Engine, settings: Settings, path: Path) -> UsageImportReport:
    return import_usage_csv(engine, settings, path)


def _blocks(engine: Engine) -> dict[tuple[str | None, str, str | None, str, int, datetime], Any]:
    """Every stored block, decoded, by meter number, kind, direction, units, interval, start."""
    query = (
        select(MeterDevice.meter_number, Channel, UsageBlock)
        .join(Channel, Channel.meter_id == MeterDevice.id)
        .join(UsageBlock, UsageBlock.channel_id == Channel.id)
    )
    found: dict[tuple[str | None, str, str | None, str, int, datetime], Any] = {}
    with session_factory(engine)() as session:
        for number, channel, block in session.execute(query):
            key = (
                number,
                channel.kind,
                channel.direction,
                channel.units,
                channel.interval_seconds,
                block.start,
            )
            quality = codec.unpack_quality(block.quality, block.count).tolist()
            found[key] = (block.count, codec.unpack_decimals(block.values), quality)
    return found


def _snapshot(engine: Engine) -> list[Any]:
    """Everything an import may touch, down to the bytes and timestamps."""
    with engine.connect() as connection:
        return [
            connection.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")).all()
            for table in ("channels", "usage_blocks", "meter_devices")
        ]


def test_import_creates_channels_and_blocks_with_exact_values(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _meters(engine, "A1", "G7")
    path = _csv(
        tmp_path,
        [
            HEADER,
            _row(_quarter(0), "1.250"),
            _row("2024-06-01T00:15:00-07:00", "-0.5", quality="estimated"),
            _row("2024-06-01T07:30:00z", ""),
            _row(_quarter(4), "123456.000001", quality="revenue"),
            _row(
                _quarter(0),
                "2",
                meter="G7",
                kind="natural_gas_usage",
                direction="",
                units="therm",
                seconds=3600,
            ),
            _row(
                _quarter(96),
                "7",
                meter="G7",
                kind="natural_gas_usage",
                direction="",
                units="therm",
                seconds=3600,
            ),
        ],
    )
    report = _import(engine, settings, path)

    assert (report.rows, report.readings, report.missing) == (6, 5, 1)
    assert (report.channels, report.new_channels) == (2, 2)
    assert (report.blocks_written, report.blocks_unchanged, report.days) == (3, 0, 2)
    assert (report.first_day, report.last_day) == (date(2024, 6, 1), date(2024, 6, 2))
    assert "Imported 6 rows" in report.summary()
    electric = ("A1", "electric_usage", "net", "kWh", 900, JUNE_1)
    gas = ("G7", "natural_gas_usage", None, "therm", 3600, JUNE_1)
    gas_next = (*gas[:5], JUNE_1 + timedelta(days=1))
    assert _blocks(engine) == {
        electric: (
            5,
            [Decimal("1.25"), Decimal("-0.5"), None, None, Decimal("123456.000001")],
            [0, 4, 0, 0, 3],
        ),
        gas: (1, [Decimal(2)], [0]),
        gas_next: (1, [Decimal(7)], [0]),
    }


def test_blocks_hold_the_canonical_packing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _meters(engine, "A1")
    values = ["0.100", "2", "", "3.25"]
    path = _csv(tmp_path, [HEADER] + [_row(_quarter(i), v) for i, v in enumerate(values)])
    _import(engine, settings, path)
    with session_factory(engine)() as session:
        stored = session.scalars(select(UsageBlock)).one()
    expected = [Decimal(v) if v else None for v in values]
    assert stored.values == codec.pack_decimals(expected)
    assert stored.quality is None


def test_every_plain_decimal_form_is_read_exactly(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _meters(engine, "A1")
    forms = {
        "5.": "5",
        ".5": "0.5",
        "-.25": "-0.25",
        "+7": "7",
        "0012.3400": "12.34",
        "1.000000000000": "1",
        "+.0": "0",
        "-0.000": "0",
        ".00": "0",
        "123456789.123456789": "123456789.123456789",
    }
    path = _csv(tmp_path, [HEADER] + [_row(_quarter(i), v) for i, v in enumerate(forms)])
    _import(engine, settings, path)
    with session_factory(engine)() as session:
        stored = session.scalars(select(UsageBlock)).one()
    expected: list[Decimal | None] = [Decimal(v) for v in forms.values()]
    assert codec.unpack_decimals(stored.values) == expected
    assert stored.values == codec.pack_decimals(expected)


def test_reimporting_the_same_file_changes_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _meters(engine, "A1")
    path = _csv(
        tmp_path,
        [HEADER] + [_row(_quarter(i), f"{i}.5", quality="raw") for i in range(0, 200, 3)],
    )
    first = _import(engine, settings, path)
    before = _snapshot(engine)
    again = _import(engine, settings, path)
    assert _snapshot(engine) == before
    assert (again.blocks_written, again.blocks_unchanged) == (0, first.blocks_written)
    assert again.new_channels == 0


def test_new_readings_overlay_stored_ones_and_the_rest_are_kept(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _meters(engine, "A1")
    old = [_row(_quarter(i), f"{i}.125", quality="raw") for i in range(10)]
    other_day = [_row(_quarter(i + 96), "9") for i in range(3)]
    _import(engine, settings, _csv(tmp_path, [HEADER, *old, *other_day], "old.csv"))
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    with transaction(session_factory(engine)) as session:
        session.execute(update(UsageBlock).values(created=long_ago, modified=long_ago))

    new = [_row(_quarter(i), f"{i * 10}", quality="revenue") for i in range(5, 15)]
    report = _import(
        engine, settings, _csv(tmp_path, [HEADER, _row(_quarter(2), ""), *new], "new.csv")
    )

    assert (report.blocks_written, report.new_channels) == (1, 0)
    blocks = _blocks(engine)
    count, values, quality = blocks[("A1", "electric_usage", "net", "kWh", 900, JUNE_1)]
    assert count == 15
    assert values == [
        Decimal("0.125"),
        Decimal("1.125"),
        None,
        Decimal("3.125"),
        Decimal("4.125"),
        *(Decimal(i * 10) for i in range(5, 15)),
    ]
    assert quality == [1, 1, 0, 1, 1] + [3] * 10
    next_day = ("A1", "electric_usage", "net", "kWh", 900, JUNE_1 + timedelta(days=1))
    assert blocks[next_day] == (3, [Decimal(9)] * 3, [0] * 3)
    with session_factory(engine)() as session:
        stamps = {b.start: (b.created, b.modified) for b in session.scalars(select(UsageBlock))}
    assert stamps[JUNE_1][0] == long_ago < stamps[JUNE_1][1]
    assert stamps[next_day[-1]] == (long_ago, long_ago)


@pytest.mark.parametrize(
    ("day", "local_offsets", "intervals"),
    [
        (date(2024, 3, 10), ("-08:00", "-07:00"), 92),
        (date(2024, 11, 3), ("-07:00", "-08:00"), 100),
        (date(2024, 11, 4), ("-08:00", "-08:00"), 96),
    ],
)
def test_a_block_is_one_local_day_across_dst(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    day: date,
    local_offsets: tuple[str, str],
    intervals: int,
) -> None:
    _meters(engine, "A1")
    start = day_start(day, settings.tz)
    lines = [HEADER]
    for i in range(intervals):
        local = (start + timedelta(minutes=15 * i)).astimezone(settings.tz)
        lines.append(_row(local.isoformat(), str(i)))
    assert {line.split(",")[4][-6:] for line in lines[1:]} == set(local_offsets)
    report = _import(engine, settings, _csv(tmp_path, lines))
    assert (report.days, report.first_day) == (1, day)
    assert _blocks(engine) == {
        ("A1", "electric_usage", "net", "kWh", 900, start): (
            intervals,
            [Decimal(i) for i in range(intervals)],
            [0] * intervals,
        )
    }


def test_progress_reports_bytes_read_up_to_the_file_size(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _meters(engine, "A1")
    path = _csv(tmp_path, [HEADER, _row(_quarter(0), "1")])
    seen: list[int] = []
    import_usage_csv(engine, settings, path, progress=seen.append)
    assert seen
    assert seen == sorted(seen)
    assert seen[-1] == path.stat().st_size


Q5 = _quarter(5)
GOOD = [
    _row(_quarter(0), "1.5"),
    _row(_quarter(1), "2"),
    _row(_quarter(96), "3", meter="B2"),
    _row(_quarter(0), "4", meter="B2", kind="water_usage", direction="", units="gal"),
]
"""Rows that would create channels and blocks, so a partial write would show."""

BAD_ROWS: list[tuple[str, str, str | None, str]] = [
    # (case, a row that follows GOOD on line 6, the field named, what the message says)
    ("field-count", "A1,electric_usage,net,kWh", None, "has 4 fields"),
    ("unknown-meter", _row(Q5, "1", meter="Z9"), "meter_number", "no meter has the number 'Z9'"),
    ("empty-meter", _row(Q5, "1", meter=""), "meter_number", "is empty"),
    ("unknown-kind", _row(Q5, "1", kind="steam"), "kind", "'steam' is not a usage kind"),
    (
        "direction-for-gas",
        _row(Q5, "1", kind="natural_gas_usage", units="therm"),
        "direction",
        "natural_gas_usage has no direction",
    ),
    ("unknown-direction", _row(Q5, "1", direction="both"), "direction", "'both' is not a dir"),
    ("units-of-another-kind", _row(Q5, "1", units="therm"), "units", "not a unit of electric"),
    ("units-differ-in-file", _row(Q5, "1", units="Wh"), "units", "in kWh on line 2 but in Wh"),
    (
        "units-differ-from-stored",
        _row(Q5, "1", meter="B2", direction="", units="MWh"),
        "units",
        "already recorded in kWh, not MWh",
    ),
    ("interval-text", _row(Q5, "1", seconds="15m"), "interval_seconds", "'15m' is not a whole"),
    ("interval-zero", _row(Q5, "1", seconds=0), "interval_seconds", "'0' is not a whole"),
    (
        "interval-not-dividing-the-day",
        _row("2024-03-10T00:00:00-08:00", "1", seconds=86400),
        "interval_seconds",
        "86400 seconds do not divide the local day 2024-03-10",
    ),
    ("timestamp-garbage", _row("yesterday", "1"), "interval_start", "not an RFC 3339 timestamp"),
    ("timestamp-no-offset", _row("2024-06-01T00:00:00", "1"), "interval_start", "a UTC offset"),
    ("timestamp-impossible", _row("2024-02-30T00:00:00Z", "1"), "interval_start", "not a valid"),
    (
        "timestamp-misaligned",
        _row("2024-06-01T00:07:00-07:00", "1"),
        "interval_start",
        "not on a 900-second boundary",
    ),
    ("timestamp-fraction", _row("2024-06-01T07:15:00.5Z", "1"), "interval_start", "a fraction"),
    ("timestamp-year", _row("0001-01-01T00:00:00Z", "1"), "interval_start", "outside the years"),
    (
        "duplicate-reading",
        _row("2024-06-01T00:15:00-07:00", "5"),
        "interval_start",
        "already has a reading at 2024-06-01T00:15:00-07:00 on line 3",
    ),
    ("value-text", _row(Q5, "abc"), "value", "'abc' is not a decimal number"),
    ("value-exponent", _row(Q5, "1e3"), "value", "'1e3' is not a decimal number"),
    ("value-sign-only", _row(Q5, "-"), "value", "'-' is not a decimal number"),
    ("value-space", _row(Q5, " 1"), "value", "' 1' is not a decimal number"),
    ("value-underscore", _row(Q5, "1_000"), "value", "'1_000' is not a decimal number"),
    ("value-ten-places", _row(Q5, "0.0000000001"), "value", "more than 9 decimal places"),
    ("value-too-large", _row(Q5, "9223372036854775807"), "value", "too large to store exactly"),
    (
        "value-too-large-beside-decimals",
        _row(Q5, "922337203685477581"),
        "value",
        "too large to store beside readings with 1 decimal places on the same day (line 2)",
    ),
    ("unknown-quality", _row(Q5, "1", quality="good"), "quality", "'good' is not a reading qu"),
    ("bad-quoting", 'A1,"electric"_usage,net,kWh,x,900,1,', None, "is not well-formed CSV"),
]
BAD_FILES: list[tuple[str, list[str], int, str | None, str]] = [
    ("unknown-column", [HEADER + ",note"], 1, None, "unknown columns 'note'"),
    ("missing-column", [HEADER.replace(",quality", "")], 1, None, "missing columns 'quality'"),
    ("repeated-column", [HEADER + ",value"], 1, None, "repeated columns 'value'"),
    ("empty-file", [], 1, None, "the file is empty"),
    *((case, [HEADER, *GOOD, row], 6, field, says) for case, row, field, says in BAD_ROWS),
]


def test_a_bad_file_names_line_and_field_and_changes_nothing(
    engine: Engine, settings: Settings, tmp_path: Path, subtests: pytest.Subtests
) -> None:
    _meters(engine, "A1", "B2")
    stored = [_row(_quarter(9), "0.1"), _row(_quarter(0), "8", meter="B2", direction="")]
    _import(engine, settings, _csv(tmp_path, [HEADER, *stored], "stored.csv"))
    before = _snapshot(engine)
    for case, lines, line, field, says in BAD_FILES:
        with subtests.test(case):
            path = tmp_path / f"{case}.csv"
            path.write_text("".join(f"{item}\n" for item in lines), encoding="utf-8")

            with pytest.raises(UsageImportError) as raised:
                _import(engine, settings, path)

            error = raised.value
            assert (error.line, error.field) == (line, field)
            where = f"line {line}, field {field}:" if field else f"line {line}:"
            assert str(error).startswith(where)
            assert says in str(error)
            assert _snapshot(engine) == before


def test_a_file_that_is_not_utf8_names_the_line(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _meters(engine, "A1")
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{HEADER}\n{_row(_quarter(0), '1')}\nA1,\xe9lectric\n".encode("latin-1"))
    with pytest.raises(UsageImportError, match=r"^line 3: is not UTF-8 text"):
        _import(engine, settings, path)
    assert _blocks(engine) == {}


def test_a_byte_order_mark_and_blank_lines_are_accepted(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _meters(engine, "A1")
    path = tmp_path / "excel.csv"
    path.write_text(f"\ufeff{HEADER}\r\n\r\n{_row(_quarter(0), '1')}\r\n", encoding="utf-8")
    assert _import(engine, settings, path).rows == 1


def _cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "GRIDSHARE_DATABASE_URL": database_url,
        "GRIDSHARE_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "300",
    }


def test_cli_imports_a_file_and_prints_the_summary(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    _meters(engine, "A1")
    path = _csv(tmp_path, [HEADER, _row(_quarter(0), "1"), _row(_quarter(1), "")])
    result = CliRunner().invoke(
        app, ["import", "usage", str(path)], env=_cli_env(database_url, tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert "Imported 2 rows (1 with a value, 1 missing) for 1 channel (1 new)" in result.output
    assert len(_blocks(engine)) == 1


def test_cli_refuses_a_bad_file_and_says_nothing_was_imported(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    _meters(engine, "A1")
    path = _csv(tmp_path, [HEADER, _row(_quarter(0), "1"), _row(_quarter(1), "one")])
    result = CliRunner().invoke(
        app, ["import", "usage", str(path)], env=_cli_env(database_url, tmp_path)
    )
    assert result.exit_code == 1
    assert "Nothing was imported." in result.output
    assert "line 3, field value: 'one' is not a decimal number" in result.output
    assert _snapshot(engine)[:2] == [[], []]


@pytest.mark.parametrize(
    ("values", "count", "says"),
    [
        (bytes((codec.FLOAT64, 0)) + bytes(8 * 96), 96, "holds floating-point numbers"),
        (codec.pack_decimals([Decimal(1)] * 100), 100, "holds 100 values but the local day has 96"),
    ],
    ids=["float64", "longer-than-the-day"],
)
def test_a_stored_block_that_cannot_be_merged_is_named(
    engine: Engine, settings: Settings, tmp_path: Path, values: bytes, count: int, says: str
) -> None:
    _meters(engine, "A1")
    with transaction(session_factory(engine)) as session:
        channel_id = ensure_channel(session, "id-A1", "electric_usage", "net", "kWh", 900).id
        write_blocks(session, [BlockRow(channel_id, JUNE_1, 900, count, values, None)])
    before = _snapshot(engine)
    path = _csv(tmp_path, [HEADER, _row(_quarter(96), "1"), _row(_quarter(3), "2")])
    with pytest.raises(UsageImportError, match=f"^line 3, field [a-z_]+: .*{says}"):
        _import(engine, settings, path)
    assert _snapshot(engine) == before


def test_imported_blocks_keep_their_values_json_and_a_merge_refreshes_it(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Both import writes (new days inserted, stored days upserted) store the encoded `values`
    array beside the block (DESIGN rule 3)."""
    _meters(engine, "A1")
    _import(engine, settings, _csv(tmp_path, [HEADER, _row(_quarter(0), "1.5")], "one.csv"))
    merged = [HEADER, _row(_quarter(1), "0.25", quality="estimated")]
    _import(engine, settings, _csv(tmp_path, merged, "two.csv"))
    with session_factory(engine)() as session:
        block = session.scalars(select(UsageBlock)).one()
    assert block.values_json == values_json("electric_usage", 2, block.values, block.quality)
    assert loads(block.values_json or b"") == [
        [{"eu": Decimal("1.5")}],
        [{"eu": Decimal("0.25"), "quality": "estimated"}],
    ]
