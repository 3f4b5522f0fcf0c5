"""Green Button import speed: readings/s of `import greenbutton`, beside the CSV import of the same
readings, measured side by side in one run.

Run from the repository root: `python -m bench.greenbutton_import [--years N] [--postgres-url URL]`
(see bench/README.md). The file is the OpenESPI 15-minute sample
(tests/espi/specs/samples/openespi_test_usage_data_15min_electric.xml) scaled to N years: its
UsagePoint, LocalTimeParameters, MeterReading and ReadingType entries as they are, then one
IntervalBlock per day shaped like the sample's (96 readings of Wh with cost, the first two of each
day with a ReadingQuality), values drawn from the sample's own. The CSV holds the same readings in
kWh for the meter the Green Button import creates. Timings are the best of three runs, each into
an empty database; nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
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

import psycopg
from lxml import etree
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from gridshare.config import Settings
from gridshare.store.db import make_engine, normalise_url, session_factory, transaction
from gridshare.store.migrate import upgrade
from gridshare.store.tables.meters import MeterDevice
from gridshare.utility.imports.csv_usage import COLUMNS, import_usage_csv
from gridshare.utility.imports.greenbutton import import_greenbutton
from gridshare.utility.imports.greenbutton_records import numbers_for

SAMPLE = (
    Path(__file__).parents[1]
    / "tests/espi/specs/samples/openespi_test_usage_data_15min_electric.xml"
)
ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
TIMEZONE = "America/Los_Angeles"
FIRST_DAY = date(2023, 1, 1)
QUARTER = 900
TRIES = 3
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
UNIT = "readings/s"
QUALITY = {7: "manual", 8: "estimated"}
"""The sample's ReadingQuality codes, as CDS quality names (what the import stores)."""


@dataclass
class Result:
    workload: str
    ours: float
    baseline: float | None
    unit: str

    def row(self) -> list[str]:
        ratio = f"{self.ours / self.baseline:.3f}" if self.baseline else "-"
        baseline = "-" if self.baseline is None else f"{self.baseline:,.0f}"
        return [self.workload, f"{self.ours:,.0f} {self.unit}", baseline, ratio]


@dataclass(frozen=True)
class Files:
    xml: Path
    csv: Path
    readings: int
    meter_number: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--years", type=int, default=1, help="years of 15-minute data")
    parser.add_argument("--postgres-url", default=None, help=f"also on PostgreSQL ({DEFAULT_PG})")
    args = parser.parse_args()
    pg_url = args.postgres_url or os.environ.get("GRIDSHARE_BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="gridshare-bench-") as folder:
        workdir = Path(folder)
        files = write_files(workdir, args.years)
        megabytes = files.xml.stat().st_size / 1e6
        print(
            f"{files.readings:,} readings: {args.years} year(s) of 15 minutes "
            f"(Green Button {megabytes:.1f} MB, CSV {files.csv.stat().st_size / 1e6:.1f} MB)"
        )
        floor = best(lambda: parse_only(files.xml))
        results = [
            Result(
                "lxml iterparse over the XML (floor)", files.readings / floor, None, "readings/s"
            )
        ]
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        results += measure("SQLite", lambda: fresh_sqlite(url), workdir, files, floor)
        if pg_url:
            try:
                results += measure("PG", lambda: fresh_postgres(pg_url), workdir, files, floor)
            finally:
                drop_postgres(pg_url)
    print_table(results)


def write_files(workdir: Path, years: int) -> Files:
    """The scaled Green Button file and a CSV of the same readings."""
    head, template, values = sample_parts()
    tz = ZoneInfo(TIMEZONE)
    days = (date(FIRST_DAY.year + years, 1, 1) - FIRST_DAY).days
    point = etree.fromstring(head[0])
    atom_id = (point.findtext(f"{{{ATOM}}}id") or "").strip().lower()
    meter_number = numbers_for(atom_id)[1]
    xml_path, csv_path = workdir / "greenbutton.xml", workdir / "usage.csv"
    readings = 0
    with xml_path.open("w", encoding="utf-8") as xml, csv_path.open("w", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(COLUMNS)
        xml.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        xml.write(f'<feed xmlns="{ATOM}">\n<id>urn:uuid:{uuid.uuid4()}</id><title>bench</title>\n')
        xml.write("<updated>2024-01-01T00:00:00Z</updated>\n")
        xml.writelines(f"{entry}\n" for entry in head)
        for number, (start, count) in enumerate(day_spans(FIRST_DAY, days, tz)):
            lines = []
            for index in range(count):
                at = start + index * QUARTER
                value = values[(number * 96 + index) % len(values)]
                quality = (8, 7)[index] if index < 2 else None
                marked = f"<ReadingQuality><quality>{quality}</quality></ReadingQuality>"
                lines.append(
                    f"<IntervalReading><cost>{value * 3}</cost>{marked if quality else ''}"
                    f"<timePeriod><duration>{QUARTER}</duration><start>{at}</start></timePeriod>"
                    f"<value>{value}</value></IntervalReading>"
                )
                stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                kwh = f"{value / 1000:.3f}"
                rows.writerow(
                    [meter_number, "electric_usage", "forward", "kWh", stamp, QUARTER, kwh,
                     QUALITY.get(quality or 0, "")]
                )  # fmt: skip
            readings += count
            xml.write(
                template.format(
                    id=start,
                    duration=count * QUARTER,
                    start=start,
                    readings="\n".join(lines),
                )
            )
            xml.write("\n")
        xml.write("</feed>\n")
    return Files(xml_path, csv_path, readings, meter_number)


def sample_parts() -> tuple[list[str], str, list[int]]:
    """The sample's entries before its first IntervalBlock, an IntervalBlock entry template made
    from its first block's links, and the values of all its readings."""
    tree = etree.parse(str(SAMPLE), etree.XMLParser(resolve_entities=False, no_network=True))
    head: list[str] = []
    values: list[int] = []
    template = ""
    for entry in tree.getroot().iterfind(f"{{{ATOM}}}entry"):
        block = entry.find(f"{{{ATOM}}}content/{{{ESPI}}}IntervalBlock")
        if block is None:
            if not template:
                head.append(etree.tostring(entry, encoding="unicode"))
            continue
        values += [int(v.text or 0) for v in block.iter(f"{{{ESPI}}}value")]
        if not template:
            up = entry.find(f"{{{ATOM}}}link[@rel='up']")
            assert up is not None
            collection = up.get("href")
            template = (
                f'<entry><id>urn:uuid:{{id}}</id><link rel="self" href="{collection}/{{id}}"/>'
                f'<link rel="up" href="{collection}"/><title/><content>'
                f'<IntervalBlock xmlns="{ESPI}"><interval><duration>{{duration}}</duration>'
                "<start>{start}</start></interval>\n{readings}\n</IntervalBlock></content>"
                "<published>2024-01-01T00:00:00Z</published>"
                "<updated>2024-01-01T00:00:00Z</updated></entry>"
            )
    return head, template, values


def day_spans(first: date, days: int, tz: ZoneInfo) -> Iterator[tuple[int, int]]:
    """(start epoch, 15-minute intervals) of each local day."""
    for offset in range(days):
        day = first + timedelta(days=offset)
        start = int(datetime.combine(day, datetime.min.time(), tz).timestamp())
        end = int(datetime.combine(day + timedelta(days=1), datetime.min.time(), tz).timestamp())
        yield start, (end - start) // QUARTER


def parse_only(path: Path) -> None:
    for _, element in etree.iterparse(str(path), tag=f"{{{ATOM}}}entry"):
        element.clear()


def best(action: Callable[[], Any], setup: Callable[[], Any] | None = None) -> float:
    """The shortest of `TRIES` runs of `action`, each after `setup` (not timed)."""
    times = []
    for _ in range(TRIES):
        if setup is not None:
            setup()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


class Database:
    """An empty database made anew before each timed import."""

    def __init__(self, fresh: Callable[[], str], workdir: Path) -> None:
        self.fresh = fresh
        self.workdir = workdir
        self.engine: Engine | None = None
        self.settings = Settings(data_dir=workdir, timezone=TIMEZONE)

    def reset(self, meter_number: str | None = None) -> None:
        """An empty, migrated database (with the meter the CSV import needs)."""
        self.close()
        url = self.fresh()
        self.engine = make_engine(url)
        upgrade(self.engine)
        self.settings = Settings(database_url=url, data_dir=self.workdir, timezone=TIMEZONE)
        if meter_number is not None:
            with transaction(session_factory(self.engine)) as session:
                session.add(
                    MeterDevice(id="bench", meter_number=meter_number, types=["electric_usage"])
                )

    def import_xml(self, path: Path) -> None:
        assert self.engine is not None
        import_greenbutton(self.engine, self.settings, path)

    def import_csv(self, path: Path) -> None:
        assert self.engine is not None
        import_usage_csv(self.engine, self.settings, path)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None


def measure(
    name: str, fresh: Callable[[], str], workdir: Path, files: Files, floor: float
) -> list[Result]:
    """Both imports into empty databases, then both re-imports (which change nothing)."""
    database = Database(fresh, workdir)
    xml = best(lambda: database.import_xml(files.xml), database.reset)
    xml_again = best(lambda: database.import_xml(files.xml))
    csv_time = best(
        lambda: database.import_csv(files.csv), lambda: database.reset(files.meter_number)
    )
    csv_again = best(lambda: database.import_csv(files.csv))
    database.close()

    def rate(seconds: float) -> float:
        return files.readings / seconds

    return [
        Result(f"{name} Green Button import vs CSV import", rate(xml), rate(csv_time), UNIT),
        Result(
            f"{name} Green Button re-import vs CSV re-import (nothing changes)",
            rate(xml_again),
            rate(csv_again),
            UNIT,
        ),
        Result(f"{name} Green Button import vs the iterparse floor", rate(xml), rate(floor), UNIT),
    ]


def fresh_sqlite(url: str) -> str:
    Path(make_url(url).database or "").unlink(missing_ok=True)
    return url


SCRATCH = f"gridshare_bench_{uuid.uuid4().hex[:10]}"
"""The PostgreSQL scratch database, created beside the server URL's and dropped at the end."""


def fresh_postgres(server_url: str) -> str:
    """The scratch database, empty."""
    drop_postgres(server_url)
    with psycopg.connect(_admin_dsn(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(SCRATCH)))
    return make_url(normalise_url(server_url)).set(database=SCRATCH).render_as_string(False)


def drop_postgres(server_url: str) -> None:
    with psycopg.connect(_admin_dsn(server_url), autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(SCRATCH)))


def _admin_dsn(server_url: str) -> str:
    admin = make_url(normalise_url(server_url)).set(drivername="postgresql")
    return admin.render_as_string(hide_password=False)


def print_table(results: list[Result]) -> None:
    header = ["workload", "ours", "baseline", "ratio"]
    table = [header] + [r.row() for r in results]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for number, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
