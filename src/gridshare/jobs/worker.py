"""The outbox worker: claims due items with a lease, runs their handler, records the outcome.

Delivery is at least once. A claim is a short transaction that leases one item to this worker and
counts the attempt; the handler runs outside any transaction; the outcome is written only if the
lease is still ours. A worker that dies mid-delivery leaves a lease that expires, and the item is
claimed again (the handler passes the idempotency key so the receiver applies it once). Failures
are retried with exponential backoff and jitter until `outbox_max_attempts`, then the item is dead.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import Engine

from gridshare.config import Settings
from gridshare.grants.grants import expire_due
from gridshare.jobs.delivery import (
    DeliveryFailed,
    Handler,
    Message,
    PermanentFailure,
)
from gridshare.jobs.email import default_handlers
from gridshare.jobs.outbox import mark_done, mark_failed
from gridshare.store.claims import claim_next
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.outbox import OutboxItem

logger = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 3600.0


def retry_delay(failed_attempts: int) -> timedelta:
    """How long to wait after the `failed_attempts`-th attempt failed.

    The ceiling doubles from 2 s (2, 4, 8, ... capped at an hour) and the delay is drawn from its
    upper half, so items that failed together are not all retried in the same instant.
    """
    exponent = min(max(failed_attempts - 1, 0), 32)
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2.0**exponent)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


class Worker:
    """Delivers outbox items through `handlers` (kind -> handler; default: `http_post` and
    `email`, see `jobs.email.default_handlers`).

    `name` marks this worker's leases; it must differ between workers (the default does).
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        handlers: Mapping[str, Handler] | None = None,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.handlers = dict(default_handlers(settings, engine) if handlers is None else handlers)
        self.name = name or f"{socket.gethostname()[:50]}-{os.getpid()}-{secrets.token_hex(4)}"
        self._sessions = session_factory(engine)

    def run(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set, sleeping `worker_poll_seconds` whenever nothing is due.

        Handler errors are recorded on their item; database errors are logged and retried.
        """
        poll = self.settings.worker_poll_seconds
        logger.info("outbox worker %s started", self.name)
        next_sweep = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    self.expire_grants()
                    next_sweep = time.monotonic() + self.settings.grant_sweep_seconds
                attempted = self._deliver_next()
            except Exception:
                logger.exception(
                    "outbox worker %s failed (is the database reachable?); trying again in %s s",
                    self.name,
                    poll,
                )
                attempted = False
            if not attempted:
                stop.wait(poll)
        logger.info("outbox worker %s stopped", self.name)

    def expire_grants(self) -> int:
        """Bring Grants whose dates have passed to their new status (e.g. `expired`), so the
        Grants API shows it without waiting for a token request to touch them (CDS-WG1-02 §8.2)."""
        with transaction(self._sessions) as session:
            changed = expire_due(session)
        if changed:
            logger.info("%d grant(s) changed status by their dates", changed)
        return changed

    def run_once(self) -> int:
        """Deliver every item that is due now; return how many were attempted."""
        attempted = 0
        while self._deliver_next():
            attempted += 1
        return attempted

    def _deliver_next(self) -> bool:
        """Claim the oldest due item and deliver it; False if nothing is due."""
        now = utcnow()
        lease_until = now + timedelta(seconds=self.settings.outbox_lease_seconds)
        with transaction(self._sessions) as session:
            item = claim_next(session, self.name, now, lease_until)
        if item is None:
            return False
        self._deliver(item)
        return True

    def _deliver(self, item: OutboxItem) -> None:
        limit = self.settings.outbox_max_attempts
        if item.attempts > limit:
            self._failed(item, f"gave up: the last of {limit} attempts never finished", dead=True)
            return
        handler = self.handlers.get(item.kind)
        message = Message(item.id, item.kind, item.idempotency_key, item.payload, item.attempts)
        try:
            if handler is None:
                known = ", ".join(sorted(self.handlers)) or "none"
                raise DeliveryFailed(
                    f"this worker has no handler for {item.kind!r} (it has {known})"
                )
            handler(message)
        except PermanentFailure as error:
            self._failed(item, str(error), dead=True)
        except DeliveryFailed as error:
            self._failed(item, str(error), dead=item.attempts >= limit)
        except Exception as error:
            logger.exception("outbox item %d (%s): the handler raised", item.id, item.kind)
            self._failed(item, f"{type(error).__name__}: {error}", dead=item.attempts >= limit)
        else:
            self._done(item)

    def _done(self, item: OutboxItem) -> None:
        with transaction(self._sessions) as session:
            recorded = mark_done(session, item, utcnow())
        if recorded:
            logger.debug("outbox item %d (%s) delivered", item.id, item.kind)
        else:
            logger.warning(
                "outbox item %d (%s) was delivered after its lease ran out and another worker "
                "took it over, so it may be delivered twice (raise GRIDSHARE_OUTBOX_LEASE_SECONDS)",
                item.id,
                item.kind,
            )

    def _failed(self, item: OutboxItem, error: str, dead: bool) -> None:
        retry_at = None if dead else utcnow() + retry_delay(item.attempts)
        with transaction(self._sessions) as session:
            recorded = mark_failed(session, item, error, retry_at)
        what = f"outbox item {item.id} ({item.kind}, key {item.idempotency_key})"
        if not recorded:
            logger.warning("%s failed after another worker took it over: %s", what, error)
        elif retry_at is None:
            logger.error("%s is dead after %d attempt(s): %s", what, item.attempts, error)
        else:
            logger.warning(
                "%s attempt %d failed, retrying at %s: %s",
                what,
                item.attempts,
                retry_at.isoformat(timespec="seconds"),
                error,
            )
