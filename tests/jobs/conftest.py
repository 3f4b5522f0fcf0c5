"""Fixtures for the outbox tests: a local HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.jobs.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()
