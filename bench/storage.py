"""Usage storage benchmarks: bytes per stored reading and CSV import speed, measured side by side.

Run from the repository root: `python -m bench.storage [--readings N]` (see bench/README.md).
Every figure is printed beside a baseline measured in the same run, so the ratios hold on any
machine. Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from psycopg import sql
from sqlalchemy import Engine, Table, text
from sqlalchemy.engine import make_url

from gridshare.config import Settings
from gridshare.store.bulk import insert_many, upsert_many
from gridshare.store.db import make_engine, normalise_url, session_factory, transaction
from gridshare.store.migrate import upgrade
from gridshare.store.tables.meters import MeterDevice
from gridshare.store.tables.usage import UsageBlock
from gridshare.utility import codec
from gridshare.utility.imports.csv_usage import COLUMNS, import_usage_csv
from gridshare.utility.imports.loader import BLOCK_COLUMNS
from gridshare.utility.usage import day_start

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
FIRST_DAY = date(2024, 3, 1)  # the period covers the spring DST change (a 92-interval day)
DAYS = 100
QUARTER = 900
TIMEZONE = "America/Los_Angeles"
TRIES = 3
"""Short timings are taken as the best of this many runs."""
WRITE_COPIES = 10
"""Block writes are timed on this many copies of the imported blocks, so they last long enough."""


@dataclass
class Result:
    workload: str
    ours: float
    baseline: float | None
    unit: str
    goal: str

    def row(self) -> list[str]:
        ratio = f"{self.ours / self.baseline:.3f}" if self.baseline else "-"
        baseline = "-" if self.baseline is None else _number(self.baseline)
        return [self.workload, f"{_number(self.ours)} {self.unit}", baseline, ratio, self.goal]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=1_000_000, help="about how many readings")
    parser.add_argument(
        "--postgres-url", default=None, help=f"server database (default {DEFAULT_PG}"
    )
    parser.add_argument("--skip-postgres", action="store_true", help="measure SQLite only")
    args = parser.parse_args()
    pg_url = args.postgres_url or os.environ.get("GRIDSHARE_BENCH_DATABASE_URL", DEFAULT_PG)
    meters = max(1, round(args.readings / (DAYS * 24 * 4)))
    with tempfile.TemporaryDirectory(prefix="gridshare-bench-") as folder:
        workdir = Path(folder)
        path = workdir / "usage.csv"
        readings = write_csv(path, meters)
        size_mb = path.stat().st_size / 1e6
        print(
            f"{readings:,} readings: {meters} meters x {DAYS} days of 15 minutes ({size_mb:.0f} MB)"
        )
        floor = time_it(lambda: parse_only(path))
        results = [
            Result("csv.reader pass over the file (floor)", readings / floor, None, "rows/s", "-")
        ]
        results += bench_sqlite(workdir, path, meters, readings, floor)
        if not args.skip_postgres:
            results += bench_postgres(pg_url, path, meters, readings, floor)
    print_table(results)


def write_csv(path: Path, meters: int) -> int:
    """A realistic file: kWh to 3 places, a few estimated, a few missing; returns the readings."""
    tz = ZoneInfo(TIMEZONE)
    first = int(day_start(FIRST_DAY, tz).timestamp())
    count = (int(day_start(FIRST_DAY + timedelta(days=DAYS), tz).timestamp()) - first) // QUARTER
    stamps = [
        datetime.fromtimestamp(first + i * QUARTER, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for i in range(count)
    ]
    rng = np.random.default_rng(7)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(COLUMNS) + "\n")
        for meter in range(meters):
            values = rng.gamma(2.0, 0.15, size=count)
            flags = rng.random(count)
            prefix = f"M{meter:06d},electric_usage,net,kWh,"
            lines = []
            for stamp, value, flag in zip(stamps, values.tolist(), flags.tolist(), strict=True):
                shown = "" if flag < 0.001 else f"{value:.3f}"
                quality = "estimated" if flag > 0.995 else ""
                lines.append(f"{prefix}{stamp},900,{shown},{quality}\n")
            out.writelines(lines)
    return meters * count


def parse_only(path: Path) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        for _ in csv.reader(handle):
            pass


def time_it(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def add_meters(engine: Engine, meters: int) -> None:
    with transaction(session_factory(engine)) as session:
        session.add_all(
            MeterDevice(id=f"bench-{m}", meter_number=f"M{m:06d}", types=["electric_usage"])
            for m in range(meters)
        )


def settings_for(url: str, workdir: Path) -> Settings:
    return Settings(database_url=url, data_dir=workdir, timezone=TIMEZONE)


def bench_sqlite(
    workdir: Path, path: Path, meters: int, readings: int, floor: float
) -> list[Result]:
    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    add_meters(engine, meters)
    settings = settings_for(url, workdir)
    first = time_it(lambda: import_usage_csv(engine, settings, path))
    again = time_it(lambda: import_usage_csv(engine, settings, path))
    with engine.connect() as connection:
        stored = _sqlite_bytes(connection)
    engine.dispose()
    return [
        Result(
            "SQLite CSV import vs the csv.reader floor",
            readings / first,
            readings / floor,
            "readings/s",
            "-",
        ),
        Result(
            "SQLite CSV re-import (nothing changes)",
            readings / again,
            readings / floor,
            "readings/s",
            "-",
        ),
        Result("SQLite bytes per reading (table + key index)", stored / readings, None, "B", "-"),
    ]


def _sqlite_bytes(connection: Any) -> int:
    """Pages of the block table and its primary-key index, times the page size."""
    page_size = connection.execute(text("PRAGMA page_size")).scalar_one()
    pages = connection.execute(
        text(
            "SELECT count(*) FROM dbstat WHERE name = 'usage_blocks' "
            "OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'usage_blocks')"
        )
    ).scalar_one()
    return int(page_size) * int(pages)


def bench_postgres(
    server_url: str, path: Path, meters: int, readings: int, floor: float
) -> list[Result]:
    name = f"gridshare_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(normalise_url(server_url)).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(normalise_url(server_url)).set(database=name).render_as_string(False)
    try:
        return _bench_postgres(url, path, meters, readings, floor)
    finally:
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


def _bench_postgres(url: str, path: Path, meters: int, readings: int, floor: float) -> list[Result]:
    engine = make_engine(url)
    upgrade(engine)
    add_meters(engine, meters)
    settings = settings_for(url, path.parent)
    imported = time_it(lambda: import_usage_csv(engine, settings, path))
    again = time_it(lambda: import_usage_csv(engine, settings, path))
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        columns = sql.SQL(", ").join(map(sql.Identifier, BLOCK_COLUMNS))
        query = sql.SQL("SELECT {} FROM usage_blocks ORDER BY channel_id, start").format(columns)
        rows = conn.execute(query).fetchall()
    blocks_bytes = _relation_bytes(dsn, "usage_blocks")
    stored_readings = sum(row[3] for row in rows)

    many = list(_shifted_copies(rows))
    written = stored_readings * WRITE_COPIES
    bare_rate = written / _bare_copy(dsn, many)
    insert_time, upsert_time = _our_writes(engine, many)
    naive_bytes, naive_time = _naive_table(dsn, rows)
    engine.dispose()
    return [
        Result(
            "PG bytes per 15-min reading, blocks vs one row per reading",
            blocks_bytes / stored_readings,
            naive_bytes / stored_readings,
            "B",
            "ours <= 10 B",
        ),
        Result(
            "PG CSV import vs bare binary COPY of the packed rows",
            readings / imported,
            bare_rate,
            "readings/s",
            ">= 0.5",
        ),
        Result(
            "PG CSV import vs bare binary COPY of one row per reading (naive table)",
            readings / imported,
            readings / naive_time,
            "readings/s",
            "-",
        ),
        Result(
            "PG block write, new days (insert_many) vs bare binary COPY",
            written / insert_time,
            bare_rate,
            "readings/s",
            ">= 0.5",
        ),
        Result(
            "PG block write, stored days (upsert_many) vs bare binary COPY",
            written / upsert_time,
            bare_rate,
            "readings/s",
            "-",
        ),
        Result(
            "PG CSV import vs the csv.reader floor",
            readings / imported,
            readings / floor,
            "readings/s",
            "-",
        ),
        Result(
            "PG CSV re-import (nothing changes) vs the csv.reader floor",
            readings / again,
            readings / floor,
            "readings/s",
            "-",
        ),
    ]


def _relation_bytes(dsn: str, table: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
        size = conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()
    assert size is not None
    return int(size[0])


def _shifted_copies(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """`WRITE_COPIES` copies of the stored rows, each moved to other years so keys stay unique."""
    for copy in range(WRITE_COPIES):
        shift = timedelta(days=364 * copy)
        for channel_id, start, *rest in rows:
            yield channel_id, start + shift, *rest


def _bare_copy(dsn: str, rows: list[tuple[Any, ...]]) -> float:
    """Best of `TRIES`: a plain binary COPY of the rows into the emptied usage_blocks."""
    columns = sql.SQL(", ").join(map(sql.Identifier, BLOCK_COLUMNS))
    copy_sql = sql.SQL("COPY usage_blocks ({}) FROM STDIN (FORMAT BINARY)").format(columns)
    types = ["int4", "timestamptz", "int4", "int2", "bytea", "bytea", "timestamptz", "timestamptz"]
    times = []
    with psycopg.connect(dsn) as conn:
        for _ in range(TRIES):
            conn.execute("TRUNCATE usage_blocks")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
            conn.commit()
            times.append(time.perf_counter() - started)
    return min(times)


def _our_writes(engine: Engine, rows: list[tuple[Any, ...]]) -> tuple[float, float]:
    """Best of `TRIES`: `insert_many` into the emptied usage_blocks, `upsert_many` over them."""
    table: Table = UsageBlock.__table__  # type: ignore[assignment]
    key = ("channel_id", "start")
    inserts, upserts = [], []
    for _ in range(TRIES):
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE usage_blocks"))
        started = time.perf_counter()
        with transaction(session_factory(engine)) as session:
            insert_many(session, table, BLOCK_COLUMNS, rows)
        inserts.append(time.perf_counter() - started)
        started = time.perf_counter()
        with transaction(session_factory(engine)) as session:
            upsert_many(session, table, BLOCK_COLUMNS, rows, key, preserve=("created",))
        upserts.append(time.perf_counter() - started)
    return min(inserts), min(upserts)


def _naive_table(dsn: str, rows: list[tuple[Any, ...]]) -> tuple[int, float]:
    """One row per reading (channel, instant, float8, quality) with its primary key.

    The rows are made before the clock starts, so the time is COPY's alone.
    """
    readings = list(_readings_of(rows))
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE naive_readings (channel_id int NOT NULL, ts timestamptz NOT NULL, "
            "value float8, quality smallint NOT NULL, PRIMARY KEY (channel_id, ts))"
        )
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY naive_readings FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(["int4", "timestamptz", "float8", "int2"])
            for reading in readings:
                copy.write_row(reading)
        conn.commit()
        elapsed = time.perf_counter() - started
    return _relation_bytes(dsn, "naive_readings"), elapsed


def _readings_of(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    for channel_id, start, interval, count, values, quality, *_ in rows:
        floats = codec.unpack_floats(values).tolist()
        codes = codec.unpack_quality(quality, count).tolist()
        for i in range(count):
            value = None if math.isnan(floats[i]) else floats[i]
            yield channel_id, start + timedelta(seconds=interval * i), value, codes[i]


def print_table(results: list[Result]) -> None:
    header = ["workload", "ours", "baseline", "ratio", "goal"]
    table = [header] + [r.row() for r in results]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for number, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
