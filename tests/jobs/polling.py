"""Bounded waits for tests that watch another thread or process: poll, or fail saying what for."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def wait_for(
    condition: Callable[[], bool],
    what: str,
    timeout: float = 20.0,
    explain: Callable[[], str] | None = None,
) -> None:
    """Return once `condition()` holds; else fail the test naming `what`, plus `explain()`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain else ""
            pytest.fail(f"gave up after {timeout} s waiting for {what}{detail}")
        time.sleep(0.02)
