"""Servers started in their own process for the end-to-end tests, as an operator would start them
(`gridshare demo`, `gridshare serve`), on a free local port and, under PostgreSQL, a database of
their own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from gridshare.config import Settings
from gridshare.demo.generator import build
from gridshare.store.db import make_engine
from gridshare.store.migrate import upgrade
from tests.conftest import PG_URL, _admin_execute

METADATA = "/.well-known/cds-server-metadata.json"
"""What a started server answers once it is ready."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server_env(database: str) -> Iterator[dict[str, str]]:
    """The environment for a server process: ours without `GRIDSHARE_*`; under PostgreSQL, with
    `GRIDSHARE_DATABASE_URL` naming a fresh database `database`, dropped afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    if PG_URL:
        _admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        _admin_execute(f'CREATE DATABASE "{database}"')
        env["GRIDSHARE_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + f"/{database}"
    try:
        yield env
    finally:
        if PG_URL:
            _admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def running(command: list[str], env: dict[str, str], data_dir: Path, base: str) -> Iterator[str]:
    """`command` running (its output in `data_dir/server.log`) until the server at `base` serves
    its metadata (60 s at most); yields `base`, then stops the process."""
    name = " ".join(command[2:4])
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited: {(data_dir / 'server.log').read_text()}")
            try:
                if httpx.get(base + METADATA).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not serve the metadata within 60 s")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _database(label: str, port: int) -> str:
    """The PostgreSQL database of the server `serving_small_demo(_, label)` runs on `port`."""
    return f"gridshare_{label}_{port}"


def served_settings(data_dir: Path, label: str, base: str) -> Settings:
    """The settings of the server at `base` that `serving_small_demo(data_dir, label)` started
    (its data directory, base URL and, under PostgreSQL, its own database), for a test working on
    that server's database beside it."""
    database_url = None
    if PG_URL:
        port = urlsplit(base).port
        assert port is not None, base
        database_url = PG_URL.rsplit("/", 1)[0] + f"/{_database(label, port)}"
    return Settings(data_dir=data_dir, database_url=database_url, base_url=base)


@contextmanager
def serving_small_demo(data_dir: Path, label: str) -> Iterator[str]:
    """`gridshare serve` over a small demo utility (six sandbox test customers, one year up to
    2025-06-30, seed 1) in `data_dir`; yields the server's base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server_env(_database(label, port)) as env:
        settings = Settings(
            data_dir=data_dir, database_url=env.get("GRIDSHARE_DATABASE_URL"), base_url=base
        )
        engine = make_engine(settings.sqlalchemy_url)
        upgrade(engine)
        build(engine, settings, customers=6, years=1, until=date(2025, 6, 30), seed=1)
        engine.dispose()
        command = [sys.executable, "-m", "gridshare", "serve", "--port", str(port)]
        with running(
            [*command, "--data-dir", str(data_dir), "--base-url", base], env, data_dir, base
        ):
            yield base
