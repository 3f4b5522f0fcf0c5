"""Accounts API requests/s under concurrent load (issue #5), measured side by side with a bare
Starlette endpoint returning the same bytes on the same uvicorn settings.

Run from the repository root: `python -m bench.accounts_load` (see bench/README.md). It needs `wrk`
(`apt-get install wrk`), the load generator for both sides. Every figure is printed beside a
baseline measured in the same run, so the ratios hold on any machine. Timings live here, never in
tests.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import httpx
import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bench.bare_app import BODY_FILE
from bench.storage import Result, print_table
from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.demo.generator import build, default_until
from gridshare.grants.clients import approve_for_production, new_credential, register
from gridshare.grants.scopes import load_catalogue
from gridshare.store.db import make_engine, session_factory, transaction
from gridshare.store.migrate import upgrade

ROOT: Final = Path(__file__).resolve().parents[1]
HOST: Final = "127.0.0.1"
SCOPE: Final = "cds_query_accounts_1"
HISTORY_DAYS: Final = 35
"""Days of demo history: the accounts page does not depend on it, so it is kept short."""
PAGE_OBJECTS: Final = 100
STARTUP_SECONDS: Final = 60.0
STOP_SECONDS: Final = 15.0
MARK: Final = "WRK_RESULT "
REPORT: Final = (
    "done = function(summary, latency, requests)\n"
    "  local e = summary.errors\n"
    f'  io.write(string.format("{MARK}{{\\"requests\\": %.0f, \\"duration_us\\": %.0f, '
    '\\"errors\\": %.0f, \\"p50_us\\": %.0f, \\"p99_us\\": %.0f}\\n", summary.requests, '
    "summary.duration, e.connect + e.read + e.write + e.status + e.timeout, "
    "latency:percentile(50), latency:percentile(99)))\n"
    "end\n"
)
"""A wrk script printing one run's figures as JSON (latencies in microseconds)."""


@dataclass(frozen=True)
class Load:
    """One wrk run: requests per second and latency percentiles in milliseconds."""

    per_second: float
    p50_ms: float
    p99_ms: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100, help="demo customers (default 100)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive clients")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per side")
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured runs per side, alternating (best is kept)"
    )
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("This benchmark needs wrk on PATH: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="gridshare-bench-") as folder:
        workdir = Path(folder)
        ours_port, bare_port = _free_port(), _free_port()
        base_url = f"http://{HOST}:{ours_port}"
        settings = Settings(data_dir=workdir, base_url=base_url)
        token = _utility(settings, args.customers)
        script = workdir / "report.lua"
        script.write_text(REPORT, encoding="utf-8")
        serve = [sys.executable, "-m", "gridshare", "serve", "--host", HOST]
        serve += ["--port", str(ours_port), "--data-dir", str(workdir), "--base-url", base_url]
        with _server(serve, ours_port, workdir / "serve.log", {}) as ours:
            body = _page(ours, token)
            accounts = len(orjson.loads(body)["accounts"])
            if accounts < PAGE_OBJECTS:
                sys.exit(f"the first page lists {accounts} accounts: raise --customers")
            page_file = workdir / "page.json"
            page_file.write_bytes(body)
            bare_command = [sys.executable, "-m", "uvicorn", "--factory", "bench.bare_app:create"]
            bare_command += ["--host", HOST, "--port", str(bare_port)]
            with _server(
                bare_command, bare_port, workdir / "bare.log", {BODY_FILE: str(page_file)}
            ) as bare:
                if _page(bare, token) != body:
                    sys.exit("the bare app does not return the accounts page's bytes")
                print(
                    f"{accounts} accounts, {len(body):,} bytes per page; {args.connections} "
                    f"connections on {args.threads} wrk threads, {args.rounds} x "
                    f"{args.duration} s per side after {args.warmup} s of warm-up; 1 uvicorn "
                    "worker each (`gridshare serve` has no workers option)"
                )
                run = [wrk, "--script", str(script), "--threads", str(args.threads)]
                run += ["--connections", str(args.connections)]
                run += ["--header", f"Authorization: Bearer {token}"]
                targets = {"ours": ours, "bare": bare}
                for url in targets.values():
                    _load([*run, "--duration", f"{args.warmup}s"], url)
                best: dict[str, Load] = {}
                for number in range(args.rounds):
                    for side, url in targets.items():
                        load = _load([*run, "--duration", f"{args.duration}s"], url)
                        print(
                            f"round {number + 1} {side}: {load.per_second:,.0f} requests/s, "
                            f"p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms"
                        )
                        if side not in best or load.per_second > best[side].per_second:
                            best[side] = load
    ours_load, bare_load = best["ours"], best["bare"]
    label = f"accounts page ({accounts} objects)"
    print_table(
        [
            Result(
                f"{label}: requests/s",
                ours_load.per_second,
                bare_load.per_second,
                "req/s",
                ">= 0.5",
            ),
            Result(f"{label}: latency p50", ours_load.p50_ms, bare_load.p50_ms, "ms", "-"),
            Result(f"{label}: latency p99", ours_load.p99_ms, bare_load.p99_ms, "ms", "-"),
        ]
    )


def _utility(settings: Settings, customers: int) -> str:
    """Build the demo utility into `settings.data_dir`: returns a direct-access token for every
    Account (numbers and details included)."""
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    until = default_until(settings.tz)
    since = until - timedelta(days=HISTORY_DAYS)
    print(build(engine, settings, customers=customers, years=1, until=until, seed=1, since=since))
    basic = _client(settings, engine)
    details = [{"type": SCOPE, "include_account_numbers": True, "include_account_details": True}]
    answer = TestClient(create_app(settings, engine)).post(
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
    engine.dispose()
    return str(answer.json()["access_token"])


def _client(settings: Settings, engine: Engine) -> str:
    """HTTP Basic credentials of a Client Object for `SCOPE`, approved for production."""
    with transaction(session_factory(engine)) as session:
        done = register(
            session,
            settings,
            load_catalogue(settings),
            {"scope": f"cds_client_admin {SCOPE}", "cds_company_name": "Bench Inc."},
        )
        [sandbox] = [c for c in done.clients if c.scope == SCOPE]
        production = approve_for_production(session, settings, sandbox.client_id)
        _, secret = new_credential(session, settings, production)
        client_id = production.client_id
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(command: list[str], port: int, log: Path, env: dict[str, str]) -> Iterator[str]:
    """Run `command` (a server listening on `port`, output to `log`) until the block ends, then
    stop it as Ctrl-C would; yields its base URL."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            _wait_listening(process, port, log)
            yield f"http://{HOST}:{port}"
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                print(f"{command[2]} did not stop within {STOP_SECONDS:.0f} s: killed")
                process.kill()
                process.wait()
            if process.returncode != 0:
                tail = log.read_text(errors="replace")[-2000:]
                print(f"{command[2]} exited with code {process.returncode}:\n{tail}")


def _wait_listening(process: subprocess.Popen[Any], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server stopped (exit code {process.returncode}):\n{log.read_text()}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"nothing listens on port {port} after {STARTUP_SECONDS:.0f} s:\n{log.read_text()}")


def _page(base: str, token: str) -> bytes:
    answer = httpx.get(base + urls.ACCOUNTS, headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    return answer.content


def _load(command: list[str], base: str) -> Load:
    """Run wrk against the accounts path of `base`; any failed request stops the benchmark."""
    done = subprocess.run(
        [*command, base + urls.ACCOUNTS], capture_output=True, text=True, check=True
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith(MARK))
    figures = json.loads(line[len(MARK) :])
    if figures["errors"]:
        sys.exit(f"wrk counted {figures['errors']} failed requests:\n{done.stdout}")
    return Load(
        figures["requests"] / (figures["duration_us"] / 1e6),
        figures["p50_us"] / 1000,
        figures["p99_us"] / 1000,
    )


if __name__ == "__main__":
    main()
