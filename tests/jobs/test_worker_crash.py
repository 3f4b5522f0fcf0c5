"""A worker killed in the middle of a delivery: after a restart the delivery completes, and its
effect is applied once.

The worker runs as a real `gridshare worker` process. The receiver (in this test process) applies
the effect of each new idempotency key once, then stalls on the first request so the worker is
mid-delivery when it is SIGKILLed. The item stays pending under a lease that expires; a new worker
process claims it again and delivers it with the same key: two deliveries, one effect.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gridshare.jobs.outbox import enqueue
from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.outbox import OutboxItem
from tests.jobs.polling import wait_for
from tests.jobs.receiver import Receiver

KEY = "order-42/on_confirm"


def _row(engine: Engine) -> OutboxItem:
    with session_factory(engine)() as session:
        return session.scalars(select(OutboxItem).where(OutboxItem.idempotency_key == KEY)).one()


class WorkerProcesses:
    """`gridshare worker` processes on the test database, with 1 s leases; killed at the end."""

    def __init__(self, database_url: str, directory: Path) -> None:
        self.directory = directory
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
        self.env.update(
            GRIDSHARE_DATABASE_URL=database_url,
            GRIDSHARE_DATA_DIR=str(directory / "data"),
            GRIDSHARE_OUTBOX_LEASE_SECONDS="1",
            GRIDSHARE_WORKER_POLL_SECONDS="0.1",
        )
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.directory / f"worker-{len(self.started) + 1}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "gridshare", "worker"],
                env=self.env,
                cwd=self.directory,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.started.append((process, log))
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}:\n{log.read_text()}" for _, log in self.started)

    def stop_all(self) -> None:
        for process, _ in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def workers(database_url: str, tmp_path: Path) -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses(database_url, tmp_path)
    try:
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture
def stalling_receiver() -> Iterator[Receiver]:
    receiver = Receiver(hold_first=True).start()
    try:
        yield receiver
    finally:
        receiver.stop()


def test_a_delivery_cut_short_by_sigkill_completes_after_restart_with_one_effect(
    engine: Engine, workers: WorkerProcesses, stalling_receiver: Receiver
) -> None:
    receiver = stalling_receiver
    with transaction(session_factory(engine)) as session:
        enqueue(session, "http_post", {"url": f"{receiver.url}/on_confirm", "body": {}}, KEY)

    first = workers.start()
    wait_for(
        lambda: receiver.first_arrived.is_set() or first.poll() is not None,
        "the first worker to deliver",
        explain=workers.logs,
    )
    assert first.poll() is None, f"the first worker exited early:\n{workers.logs()}"
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL

    row = _row(engine)
    assert (row.status, row.delivered_at, row.attempts) == ("pending", None, 1)
    assert row.leased_by is not None, "the killed worker's lease is gone"
    assert receiver.effects == 1

    workers.start()
    wait_for(
        lambda: _row(engine).status != "pending",
        "the restarted worker to finish the delivery",
        explain=workers.logs,
    )
    row = _row(engine)
    assert (row.status, row.attempts) == ("done", 2), workers.logs()
    assert row.delivered_at is not None
    assert receiver.keys() == [KEY, KEY], "delivered twice, with the same idempotency key"
    assert receiver.effects == 1, "the effect was applied more than once"
