"""Green Button `Batch/Subscription` speed and memory (one UsagePoint, a year of 15-minute data),
measured side by side with lxml's `xmlfile` writing the same elements from Python ints, no database.

Run from the repository root: `python -m bench.espi_batch [--postgres-url URL]` (see
bench/README.md). Every figure is printed beside a baseline measured in the same run, so the
ratios hold on any machine. Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import base64
import io
import re
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import psycopg
from fastapi.testclient import TestClient
from lxml import etree
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from bench.storage import Result, print_table
from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants import espi_clients
from gridshare.grants.scopes import load_catalogue
from gridshare.store.db import make_engine, normalise_url, session_factory, transaction
from gridshare.store.migrate import upgrade
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from gridshare.timefmt import rfc3339
from gridshare.utility import codec
from gridshare.utility.customers import hash_password
from gridshare.utility.usage import BlockRow, day_start, ensure_channel, write_blocks

TIMEZONE = "America/Los_Angeles"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
TRIES = 5
"""Timings are the median of this many runs of each side, taken in turn."""
DAYS = 365
MONTH_DAYS = 30
SCOPE = "FB=1_3_4_5_13_14_32_37_39;IntervalDuration=900;BlockDuration=daily;HistoryLength=34128000"
"""15-minute usage (FB 4, 5) 395 days back; no UsageSummaries (the bench stores no bills)."""
REDIRECT = "https://bench.example/callback"
USERNAME = "bench"
PASSWORD = "bench-password"
ATOM = "http://www.w3.org/2005/Atom"
ESPI_NS = "http://naesb.org/espi"
MB = 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres-url",
        default=None,
        help=f"measure on a scratch database created beside this server database (e.g. "
        f"{DEFAULT_PG}) and dropped at the end; default: a temporary SQLite file",
    )
    parser.add_argument("--tries", type=int, default=TRIES, help="timed runs of each side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gridshare-bench-") as folder:
        workdir = Path(folder)
        if args.postgres_url is None:
            _run(workdir, f"sqlite:///{workdir / 'bench.sqlite3'}", args.tries)
        else:
            with _scratch_postgres(args.postgres_url) as url:
                _run(workdir, url, args.tries)


@contextmanager
def _scratch_postgres(server_url: str) -> Iterator[str]:
    """A scratch database beside `server_url`, dropped at the end."""
    name = f"gridshare_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(normalise_url(server_url)).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(normalise_url(server_url)).set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


def _settings(workdir: str, url: str) -> Settings:
    return Settings(
        data_dir=Path(workdir), database_url=url, base_url="http://testserver", timezone=TIMEZONE
    )


def _run(workdir: Path, url: str, tries: int) -> None:
    settings = _settings(str(workdir), url)
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    today = datetime.now(UTC).astimezone(settings.tz).date()
    first = today - timedelta(days=DAYS)
    _utility(settings, engine, first, today)
    http = TestClient(create_app(settings, engine))
    client_id, secret = _third_party(settings, engine)
    token, resource_uri = _customer_token(http, client_id, secret)
    document = _fetch(http, token, resource_uri)  # also the warm-up
    plan = _plan(document)
    _check_same(document, _lxml_chunks(plan), "the lxml baseline")
    _check_same(document, _fstring_chunks(plan), "the f-string floor")
    readings = sum(len(b.readings) for b in plan.entries if isinstance(b, BlockEntry))
    print(f"{engine.dialect.name}; one UsagePoint, 15-minute kWh, {first} to {today}")
    sides: dict[str, Callable[[], int]] = {
        "GET Batch/Subscription through the app (TestClient, streamed)": lambda: _stream(
            http, token, resource_uri
        ),
        "lxml xmlfile, the same elements from ints (baseline)": lambda: _drain_all(
            _lxml_chunks(plan)
        ),
        "f-strings, the same elements from ints (floor)": lambda: _drain_all(_fstring_chunks(plan)),
    }
    timed = _timings(sides, tries)
    _print_sides(timed, readings)
    month = {
        "published-min": rfc3339(day_start(today - timedelta(days=MONTH_DAYS), settings.tz)),
        "published-max": rfc3339(day_start(today, settings.tz)),
    }
    year = _memory(str(workdir), url, token, resource_uri, {})
    last_month = _memory(str(workdir), url, token, resource_uri, month)
    kept = _memory(str(workdir), url, token, resource_uri, {}, keep=True)
    engine.dispose()
    print_table(_results(list(timed.values()), readings, year, last_month, kept))


def _results(
    timed: list[tuple[float, int]], readings: int, year: Memory, month: Memory, kept: Memory
) -> list[Result]:
    (ours, _), (baseline, _), (floor, _) = timed
    label = f"one meter-year ({readings:,} readings) through the app"
    sent = f"a year ({year.bytes / MB:.1f} MB sent) vs a month ({month.bytes / MB:.2f} MB)"
    flat = f"flat, not x{year.bytes / month.bytes:.0f}"
    return [
        Result(f"{label} vs lxml xmlfile", ours * 1000, baseline * 1000, "ms", "<= 2.0"),
        Result(f"{label} vs f-strings (floor)", ours * 1000, floor * 1000, "ms", "-"),
        Result(f"peak RSS growth, {sent}", year.rss / MB, month.rss / MB, "MB", flat),
        Result(f"peak tracemalloc growth, {sent}", year.traced / MB, month.traced / MB, "MB", flat),
        Result(
            "control: peak RSS growth, a year the client keeps whole",
            kept.rss / MB,
            None,
            "MB",
            "-",
        ),
        Result(
            "control: peak tracemalloc growth, a year the client keeps whole",
            kept.traced / MB,
            None,
            "MB",
            "-",
        ),
    ]


# --- the utility -----------------------------------------------------------------------------


def _utility(settings: Settings, engine: Engine, first: date, after: date) -> None:
    """One customer with one account, contract, service point and meter, and one 15-minute
    electric channel holding a block for every local day from `first` until `after` (written as
    the demo writes its blocks)."""
    tz = settings.tz
    rng = np.random.default_rng(7)
    with transaction(session_factory(engine)) as session:
        session.add(
            Customer(
                id="cu-bench",
                name="Bench Customer",
                username=USERNAME,
                password_hash=hash_password(PASSWORD),
            )
        )
        session.flush()
        session.add(
            Account(
                id="ac-bench",
                customer_id="cu-bench",
                account_number="A-bench",
                name="Bench Customer",
                types=["residential"],
                status="active",
            )
        )
        session.flush()
        session.add_all(
            [
                ServiceContract(
                    id="sc-bench",
                    account_id="ac-bench",
                    contract_number="C-bench",
                    types=[],
                    status="active",
                    service_types=["electric"],
                ),
                ServicePoint(id="sp-bench", servicepoint_number="P-bench", types=[]),
                MeterDevice(id="mt-bench", meter_number="M-bench", types=["ami_meter"]),
            ]
        )
        session.flush()
        session.add_all(
            [
                ServicePointContract(
                    service_point_id="sp-bench", contract_id="sc-bench", start=first
                ),
                MeterInstallation(meter_id="mt-bench", service_point_id="sp-bench", start=first),
            ]
        )
        channel = ensure_channel(session, "mt-bench", "electric_usage", "net", "kWh", 900)
        blocks = []
        day = first
        while day < after:
            start = day_start(day, tz)
            count = int((day_start(day + timedelta(days=1), tz) - start).total_seconds()) // 900
            values = codec.pack_floats(rng.gamma(2.0, 0.15, size=count), 3)
            blocks.append(BlockRow(channel.id, start, 900, count, values, None))
            day += timedelta(days=1)
        write_blocks(session, blocks)


def _third_party(settings: Settings, engine: Engine) -> tuple[str, str]:
    """A production Green Button third party, as `gridshare greenbutton register` makes it."""
    with transaction(session_factory(engine)) as session:
        made = espi_clients.register(
            session,
            settings,
            load_catalogue(settings),
            name="Bench Meter App",
            redirect_uris=[REDIRECT],
            notify_uri="https://bench.example/espi/1_1/Notification",
            scopes=[SCOPE],
            software_id="bench",
            software_version="1.0",
        )
        return made.client.client_id, made.client_secret


def _customer_token(http: TestClient, client_id: str, secret: str) -> tuple[str, str]:
    """The access_token and its resourceURI after the customer logs in and approves the scope on
    the authorization form (every resource it lists ticked)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "bench",
    }
    sent = http.get(f"{urls.AUTHORIZE}?{urlencode(params)}", follow_redirects=False)
    _expect(sent.status_code == 303, "authorize", sent.text)
    consent = sent.headers["location"]
    form = http.get(urls.LOGIN, params={"next": consent})
    logged = http.post(
        urls.LOGIN,
        data={
            "username": USERNAME,
            "password": PASSWORD,
            "csrf_token": _hidden(form.text, "csrf_token"),
            "next": consent,
        },
        follow_redirects=False,
    )
    _expect(logged.status_code == 303, "login", logged.text)
    page = http.get(consent)
    _expect(page.status_code == 200, "the authorization form", page.text)
    fields = [("decision", "approve"), ("csrf_token", _hidden(page.text, "csrf_token"))]
    fields += re.findall(r'name="(select\.[^"]+)" value="([^"]*)"', page.text)
    done = http.post(
        consent,
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    _expect(done.status_code in (302, 303), "approve", done.text)
    code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    answer = http.post(
        urls.TOKEN,
        content=urlencode(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        ),
        headers={
            "Authorization": f"Basic {basic}",
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    _expect(answer.status_code == 200, "the token endpoint", answer.text)
    body = answer.json()
    return str(body["access_token"]), str(body["resourceURI"])


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    if match is None:
        raise SystemExit(f"the authorization flow failed: no {name} field in the page")
    return match.group(1)


def _expect(ok: bool, step: str, text: str) -> None:
    if not ok:
        raise SystemExit(f"the authorization flow failed at {step}: {text[:500]}")


# --- ours ------------------------------------------------------------------------------------


def _fetch(
    http: TestClient, token: str, uri: str, params: Mapping[str, str] | None = None
) -> bytes:
    """GET the feed and keep its body."""
    answer = http.get(uri, params=params, headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200:
        raise SystemExit(f"GET {uri} answered {answer.status_code}: {answer.text[:500]}")
    body: bytes = answer.content
    return body


def _stream(http: TestClient, token: str, uri: str, params: Mapping[str, str] | None = None) -> int:
    """GET the feed, reading every chunk as it comes and keeping none; the bytes read."""
    size = 0
    with http.stream(
        "GET", uri, params=params, headers={"Authorization": f"Bearer {token}"}
    ) as answer:
        if answer.status_code != 200:
            raise SystemExit(f"GET {uri} answered {answer.status_code}")
        for chunk in answer.iter_raw():
            size += len(chunk)
    return size


# --- the baselines: the same elements from memory ----------------------------------------------


@dataclass(frozen=True)
class Node:
    """An element as parsed from our feed (the head and the entries that are not IntervalBlocks)."""

    tag: str
    attrib: dict[str, str]
    text: str | None
    children: tuple[Node, ...]


@dataclass(frozen=True)
class BlockEntry:
    """An IntervalBlock entry: its Atom fields as strings, its readings as ints."""

    atom_id: str
    links: tuple[tuple[str, str, str], ...]
    """(rel, href, type)"""
    title: str
    published: str
    updated: str
    duration: int
    start: int
    readings: list[tuple[int, int, int]]
    """(timePeriod duration, timePeriod start, value)"""


@dataclass(frozen=True)
class Plan:
    nsmap: dict[str | None, str]
    head: tuple[Node, ...]
    entries: tuple[Node | BlockEntry, ...]


def _plan(document: bytes) -> Plan:
    """What the baselines write: our feed's elements, IntervalBlock readings as Python ints."""
    feed = etree.fromstring(document)
    head = tuple(_node(e) for e in feed if e.tag != f"{{{ATOM}}}entry")
    entries: list[Node | BlockEntry] = []
    for entry in feed.iterchildren(f"{{{ATOM}}}entry"):
        block = entry.find(f"{{{ATOM}}}content/{{{ESPI_NS}}}IntervalBlock")
        entries.append(_node(entry) if block is None else _block_entry(entry, block))
    return Plan(dict(feed.nsmap), head, tuple(entries))


def _node(element: etree._Element) -> Node:
    return Node(
        str(element.tag),
        {str(k): str(v) for k, v in element.attrib.items()},
        element.text,
        tuple(_node(e) for e in element),
    )


def _block_entry(entry: etree._Element, block: etree._Element) -> BlockEntry:
    def text(under: etree._Element, path: str) -> str:
        found = under.findtext(path, namespaces={"a": ATOM, "espi": ESPI_NS})
        if found is None:
            raise SystemExit(f"an IntervalBlock entry of the app has no {path}")
        return found

    return BlockEntry(
        text(entry, "a:id"),
        tuple(
            (str(k.get("rel")), str(k.get("href")), str(k.get("type")))
            for k in entry.iterchildren(f"{{{ATOM}}}link")
        ),
        text(entry, "a:title"),
        text(entry, "a:published"),
        text(entry, "a:updated"),
        int(text(block, "espi:interval/espi:duration")),
        int(text(block, "espi:interval/espi:start")),
        [
            (
                int(text(r, "espi:timePeriod/espi:duration")),
                int(text(r, "espi:timePeriod/espi:start")),
                int(text(r, "espi:value")),
            )
            for r in block.iterchildren(f"{{{ESPI_NS}}}IntervalReading")
        ],
    )


def _lxml_chunks(plan: Plan) -> Iterator[bytes]:
    """The feed written element by element with `xmlfile`, one chunk per entry (as ours)."""
    sink = io.BytesIO()
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{ATOM}}}feed", nsmap=plan.nsmap):
            for node in plan.head:
                _write_node(xf, node)
            xf.flush()
            yield _drain(sink)
            for entry in plan.entries:
                if isinstance(entry, Node):
                    _write_node(xf, entry)
                else:
                    _write_block(xf, entry)
                xf.flush()
                yield _drain(sink)
    yield _drain(sink)


def _write_node(xf: Any, node: Node) -> None:
    with xf.element(node.tag, node.attrib):
        if node.text is not None:
            xf.write(node.text)
        for child in node.children:
            _write_node(xf, child)


def _write_block(xf: Any, entry: BlockEntry) -> None:
    a, e = f"{{{ATOM}}}", f"{{{ESPI_NS}}}"
    with xf.element(f"{a}entry"):
        with xf.element(f"{a}id"):
            xf.write(entry.atom_id)
        for rel, href, kind in entry.links:
            with xf.element(f"{a}link", rel=rel, href=href, type=kind):
                pass
        with xf.element(f"{a}title"):
            xf.write(entry.title)
        with xf.element(f"{a}content"), xf.element(f"{e}IntervalBlock"):
            with xf.element(f"{e}interval"):
                with xf.element(f"{e}duration"):
                    xf.write(str(entry.duration))
                with xf.element(f"{e}start"):
                    xf.write(str(entry.start))
            for duration, start, value in entry.readings:
                with xf.element(f"{e}IntervalReading"):
                    with xf.element(f"{e}timePeriod"):
                        with xf.element(f"{e}duration"):
                            xf.write(str(duration))
                        with xf.element(f"{e}start"):
                            xf.write(str(start))
                    with xf.element(f"{e}value"):
                        xf.write(str(value))
        with xf.element(f"{a}published"):
            xf.write(entry.published)
        with xf.element(f"{a}updated"):
            xf.write(entry.updated)


def _fstring_chunks(plan: Plan) -> Iterator[bytes]:
    """The same feed as formatted text, one chunk per entry: what no XML library can beat."""
    prefixes = {uri: prefix for prefix, uri in plan.nsmap.items()}
    declarations = "".join(
        f" xmlns{'' if prefix is None else ':' + prefix}={quoteattr(uri)}"
        for prefix, uri in plan.nsmap.items()
    )
    head = "".join(_node_text(n, prefixes) for n in plan.head)
    yield f"<?xml version='1.0' encoding='utf-8'?>\n<feed{declarations}>{head}".encode()
    for entry in plan.entries:
        if isinstance(entry, Node):
            yield _node_text(entry, prefixes).encode()
        else:
            yield _block_text(entry).encode()
    yield b"</feed>"


def _node_text(node: Node, prefixes: Mapping[str, str | None]) -> str:
    uri, _, local = node.tag[1:].partition("}")
    prefix = prefixes[uri]
    name = local if prefix is None else f"{prefix}:{local}"
    attributes = "".join(f" {k}={quoteattr(v)}" for k, v in node.attrib.items())
    inner = escape(node.text or "") + "".join(_node_text(c, prefixes) for c in node.children)
    return f"<{name}{attributes}>{inner}</{name}>"


def _block_text(entry: BlockEntry) -> str:
    parts = [f"<entry><id>{escape(entry.atom_id)}</id>"]
    parts += [
        f"<link rel={quoteattr(rel)} href={quoteattr(href)} type={quoteattr(kind)}/>"
        for rel, href, kind in entry.links
    ]
    parts.append(
        f"<title>{escape(entry.title)}</title><content><espi:IntervalBlock><espi:interval>"
        f"<espi:duration>{entry.duration}</espi:duration><espi:start>{entry.start}</espi:start>"
        "</espi:interval>"
    )
    parts += [
        f"<espi:IntervalReading><espi:timePeriod><espi:duration>{duration}</espi:duration>"
        f"<espi:start>{start}</espi:start></espi:timePeriod><espi:value>{value}</espi:value>"
        "</espi:IntervalReading>"
        for duration, start, value in entry.readings
    ]
    parts.append(
        f"</espi:IntervalBlock></content><published>{escape(entry.published)}</published>"
        f"<updated>{escape(entry.updated)}</updated></entry>"
    )
    return "".join(parts)


def _drain(sink: io.BytesIO) -> bytes:
    data = sink.getvalue()
    sink.seek(0)
    sink.truncate()
    return data


def _drain_all(chunks: Iterator[bytes]) -> int:
    return sum(len(chunk) for chunk in chunks)


def _check_same(document: bytes, chunks: Iterator[bytes], name: str) -> None:
    """The baseline writes our document's elements, attributes and text (canonical XML 1.0:
    empty-element tags and repeated namespace declarations aside, the same)."""
    theirs = b"".join(chunks)
    if _canonical(theirs) != _canonical(document):
        raise SystemExit(f"{name} does not write the same elements as the app")


def _canonical(document: bytes) -> bytes:
    return bytes(etree.tostring(etree.fromstring(document), method="c14n"))


# --- measuring ---------------------------------------------------------------------------------


def _timings(sides: Mapping[str, Callable[[], int]], tries: int) -> dict[str, tuple[float, int]]:
    """Each side's median seconds and its bytes, the sides run in turn `tries` times."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    sizes: dict[str, int] = {}
    for _ in range(tries):
        for name, side in sides.items():
            started = time.perf_counter()
            sizes[name] = side()
            times[name].append(time.perf_counter() - started)
    return {name: (statistics.median(times[name]), sizes[name]) for name in sides}


def _print_sides(timed: Mapping[str, tuple[float, int]], readings: int) -> None:
    header = ["writer", "bytes", "seconds (median)", "MB/s", "readings/s"]
    rows = [header] + [
        [
            name,
            f"{size:,}",
            f"{seconds:.3f}",
            f"{size / MB / seconds:.1f}",
            f"{readings / seconds:,.0f}",
        ]
        for name, (seconds, size) in timed.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))
    print()


@dataclass(frozen=True)
class Memory:
    bytes: int
    rss: int
    """Peak resident set growth while streaming, bytes."""
    traced: int
    """Peak tracemalloc growth while streaming (Python allocations only), bytes."""


def _memory(
    workdir: str, url: str, token: str, uri: str, params: Mapping[str, str], keep: bool = False
) -> Memory:
    """`_probe` in a fresh process (no earlier request's memory to reuse)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_probe, workdir, url, token, uri, dict(params), keep).result()


def _probe(
    workdir: str, url: str, token: str, uri: str, params: dict[str, str], keep: bool
) -> Memory:
    """Warm up with a one-day feed, then read the feed twice: once for the peak RSS growth
    (Linux's VmHWM, reset after the warm-up, minus VmRSS before the request), once under
    tracemalloc. The client streams the body and keeps none of it, or (`keep`, the control)
    keeps it whole."""
    settings = _settings(workdir, url)
    engine = make_engine(settings.sqlalchemy_url)
    http = TestClient(create_app(settings, engine))

    def read(window: Mapping[str, str]) -> int:
        return len(_fetch(http, token, uri, window)) if keep else _stream(http, token, uri, window)

    today = datetime.now(UTC).astimezone(settings.tz).date()
    read(
        {
            "published-min": rfc3339(day_start(today - timedelta(days=1), settings.tz)),
            "published-max": rfc3339(day_start(today, settings.tz)),
        }
    )
    Path("/proc/self/clear_refs").write_text("5")  # the peak RSS (VmHWM) starts again from now
    before = _status_bytes("VmRSS")
    size = read(params)
    rss = _status_bytes("VmHWM") - before
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    read(params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    engine.dispose()
    return Memory(size, rss, peak - start)


def _status_bytes(field: str) -> int:
    """A memory figure of this process from Linux's /proc/self/status (reported in kB)."""
    match = re.search(rf"^{field}:\s+(\d+) kB$", Path("/proc/self/status").read_text(), re.M)
    if match is None:
        raise SystemExit(f"/proc/self/status has no {field}: the memory figures need Linux")
    return int(match.group(1)) * 1024


if __name__ == "__main__":
    main()
