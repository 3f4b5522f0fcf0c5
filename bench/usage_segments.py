"""Usage Segments API speed and memory (issue #5), measured side by side with orjson.

Run from the repository root: `python -m bench.usage_segments` (see bench/README.md). Every
figure is printed beside a baseline measured in the same run, so the ratios hold on any machine.
Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import numpy as np
import orjson
from fastapi.testclient import TestClient

from bench.storage import Result, print_table
from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants.clients import new_credential, register
from gridshare.grants.scopes import DEFAULT_FILE, load_catalogue
from gridshare.store.db import make_engine, session_factory, transaction
from gridshare.store.migrate import upgrade
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from gridshare.utility import codec
from gridshare.utility.usage import BlockRow, day_start, ensure_channel, write_blocks

TIMEZONE = "America/Los_Angeles"
SCOPE = "cds_query_usage_1"
TRIES = 3
"""Timings are the best of this many runs."""
LONG_YEARS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=10, help="meters for the paged run")
    parser.add_argument(
        "--page-size",
        type=int,
        default=Settings.model_fields["usage_page_size"].default,
        help="segments per page (GRIDSHARE_USAGE_PAGE_SIZE; default: its default)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gridshare-bench-") as folder:
        workdir = Path(folder)
        settings = _settings(workdir, args.page_size)
        engine = make_engine(settings.sqlalchemy_url)
        upgrade(engine)
        today = datetime.now(UTC).astimezone(ZoneInfo(TIMEZONE)).date()
        year_ago = today - timedelta(days=365)
        _utility(settings, engine, "year", 1, year_ago, today)
        _utility(settings, engine, "many", args.meters, year_ago, today)
        _utility(settings, engine, "long", 1, today - timedelta(days=365 * LONG_YEARS), today)
        http = TestClient(create_app(settings, engine))
        client = _client(settings, engine)
        print(f"page size {settings.usage_page_size}; 15-minute kWh, {year_ago} to {today}")
        results = [
            _versus_orjson(http, _token(http, client, "year", 1), "one meter-year"),
            _versus_orjson(
                http, _token(http, client, "many", args.meters), f"{args.meters} meter-years"
            ),
            _memory(http, _token(http, client, "long", 1)),
        ]
        engine.dispose()
    print_table(results)


def _settings(workdir: Path, page_size: int) -> Settings:
    """SQLite in `workdir`, with the usage scope's `segment_start` allowed 6 years back."""
    catalogue = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    for described in catalogue["cds_scope_descriptions"][SCOPE][
        "authorization_details_fields_supported"
    ]:
        if described["id"] == "segment_start":
            described["maximum"] = f"P{LONG_YEARS + 1}Y"
    scopes = workdir / "scopes.json"
    scopes.write_text(json.dumps(catalogue), encoding="utf-8")
    return Settings(
        data_dir=workdir,
        database_url=f"sqlite:///{workdir / 'bench.sqlite3'}",
        base_url="http://testserver",
        timezone=TIMEZONE,
        usage_page_size=page_size,
        scopes_file=scopes,
    )


def _utility(
    settings: Settings, engine: Any, name: str, meters: int, first: date, after: date
) -> None:
    """`meters` meters of one customer `name`, each with 15-minute kWh from `first` to `after`."""
    tz = settings.tz
    rng = np.random.default_rng(7)
    with transaction(session_factory(engine)) as session:
        session.add(
            Customer(id=f"cu-{name}", name=name, username=name, password_hash="-", is_test=True)
        )
        session.flush()
        session.add(
            Account(
                id=f"ac-{name}",
                customer_id=f"cu-{name}",
                account_number=f"A-{name}",
                name=name,
                types=["residential"],
                status="active",
            )
        )
        session.flush()
        for m in range(meters):
            key = f"{name}-{m}"
            session.add_all(
                [
                    ServiceContract(
                        id=f"sc-{key}",
                        account_id=f"ac-{name}",
                        contract_number=f"C-{key}",
                        types=[],
                        status="active",
                        service_types=["electric"],
                    ),
                    ServicePoint(id=f"sp-{key}", servicepoint_number=f"P-{key}", types=[]),
                    MeterDevice(id=f"mt-{key}", meter_number=f"M-{key}", types=["ami_meter"]),
                ]
            )
            session.flush()
            session.add_all(
                [
                    ServicePointContract(
                        service_point_id=f"sp-{key}", contract_id=f"sc-{key}", start=first
                    ),
                    MeterInstallation(
                        meter_id=f"mt-{key}", service_point_id=f"sp-{key}", start=first
                    ),
                ]
            )
            channel = ensure_channel(session, f"mt-{key}", "electric_usage", "net", "kWh", 900)
            blocks = []
            day = first
            while day < after:
                start = day_start(day, tz)
                count = int((day_start(day + timedelta(days=1), tz) - start).total_seconds()) // 900
                values = rng.gamma(2.0, 0.15, size=count)
                blocks.append(
                    BlockRow(channel.id, start, 900, count, codec.pack_floats(values, 3), None)
                )
                day += timedelta(days=1)
            write_blocks(session, blocks)


def _client(settings: Settings, engine: Any) -> str:
    """HTTP Basic credentials of a Client Object approved for direct access to usage."""
    with transaction(session_factory(engine)) as session:
        done = register(
            session,
            settings,
            load_catalogue(settings),
            {
                "scope": f"cds_client_admin {SCOPE}",
                "client_name": "Bench",
                "cds_company_name": "Bench Inc.",
                "client_uri": "https://bench.example/",
            },
        )
        client = next(c for c in done.clients if c.scope != "cds_client_admin")
        client.scope = SCOPE
        client.status = "production"
        client.grant_types = ["client_credentials"]
        _, secret = new_credential(session, settings, client)
        client_id = client.client_id
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _token(http: TestClient, basic: str, name: str, meters: int) -> str:
    """A direct-access token for the usage of customer `name` (its meter numbers preselected)."""
    details = [
        {
            "type": SCOPE,
            "meter_numbers": [f"M-{name}-{m}" for m in range(meters)],
            "segment_start": f"P{LONG_YEARS + 1}Y",
        }
    ]
    answer = http.post(
        urls.TOKEN,
        content=urlencode(
            {
                "grant_type": "client_credentials",
                "scope": SCOPE,
                "authorization_details": json.dumps(details),
            }
        ),
        headers={
            "Authorization": f"Basic {basic}",
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _all_pages(http: TestClient, token: str) -> list[bytes]:
    """Every page of the token's segments, as the bodies the API sent."""
    bearer = {"Authorization": f"Bearer {token}"}
    url: str | None = urls.USAGE_SEGMENTS
    bodies = []
    while url is not None:
        answer = http.get(url, headers=bearer)
        answer.raise_for_status()
        bodies.append(answer.content)
        url = _next_link(answer.content)
    return bodies


def _next_link(body: bytes) -> str | None:
    """The `next` link of a listing body (the body's tail: parsing it all would be timed too)."""
    tail = orjson.loads(b"{" + body[body.rindex(b'"next":') :])
    link = tail["next"]
    return None if link is None else str(link)


def _best(action: Callable[[], Any]) -> float:
    times = []
    for _ in range(TRIES):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def _versus_orjson(http: TestClient, token: str, label: str) -> Result:
    bodies = _all_pages(http, token)
    payloads = [orjson.loads(body) for body in bodies]
    values = sum(len(s["values"]) for p in payloads for s in p["usage_segments"])
    ours = _best(lambda: _all_pages(http, token))
    baseline = _best(lambda: [orjson.dumps(p) for p in payloads])
    return Result(
        f"{label} ({values:,} values, {len(bodies)} pages) via the API vs orjson.dumps of it",
        ours * 1000,
        baseline * 1000,
        "ms",
        "<= 2.0",
    )


def _memory(http: TestClient, token: str) -> Result:
    _all_pages(http, token)
    tracemalloc.start()
    bodies = _all_pages(http, token)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    values = sum(len(s["values"]) for body in bodies for s in orjson.loads(body)["usage_segments"])
    kept = sum(len(body) for body in bodies)
    return Result(
        f"{LONG_YEARS} meter-years ({values:,} values) via the API: peak memory growth "
        "(tracemalloc) vs the bodies kept",
        peak / 1e6,
        kept / 1e6,
        "MB",
        "ours < 100 MB",
    )


if __name__ == "__main__":
    main()
