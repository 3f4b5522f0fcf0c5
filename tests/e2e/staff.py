"""The utility's staff at work beside a server of `servers.serving_small_demo`: the `gridshare`
operator CLI run as its own process on that server's database, as an operator would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import PG_URL


def gridshare(base: str, data_dir: Path, label: str, *args: str) -> str:
    """`python -m gridshare ARGS` on the database of the server at `base` (started by
    `serving_small_demo(data_dir, label)`); fails unless it exits 0; returns its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    env["GRIDSHARE_DATA_DIR"] = str(data_dir)
    env["GRIDSHARE_BASE_URL"] = base
    if PG_URL:
        database = f"gridshare_{label}_{urlsplit(base).port}"  # as servers.server_env names it
        env["GRIDSHARE_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + f"/{database}"
    done = subprocess.run(
        [sys.executable, "-m", "gridshare", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"gridshare {' '.join(args)}: {done.stderr}{done.stdout}"
    return done.stdout
