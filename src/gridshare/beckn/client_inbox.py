"""The callbacks the BAP has received: each verified `on_{action}` the BPP sent (BECKN-003's async
answers), kept in an `Inbox` in memory and in a JSONL journal, where a request waits for the
callback that answers its `message_id` (core 1.1.0 `schema/Context.yaml`: "pair requests with
callbacks"). A journal line keeps the raw body and the `Authorization` header, so anyone can
check the BPP's BECKN-006 signature again later."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.context import parse_rfc3339
from gridshare.timefmt import rfc3339


@dataclass(frozen=True)
class Callback:
    """One verified `on_{action}` the BPP sent us."""

    action: str
    body: dict[str, Any]
    signer: str
    """The keyId that signed it."""
    received_at: datetime
    evidence: dict[str, str] | None = None
    """What was signed, as received: the raw body (base64) and the Authorization header, so
    anyone can check the signature again later."""

    @property
    def context(self) -> dict[str, Any]:
        context = self.body.get("context")
        return context if isinstance(context, dict) else {}

    @property
    def message_id(self) -> str | None:
        return self.context.get("message_id")

    @property
    def transaction_id(self) -> str | None:
        return self.context.get("transaction_id")

    @property
    def error(self) -> Any:
        """The callback's `error` (core 1.1.0), or one inside `message` (Beckn-ONIX v1.0), or
        None."""
        message = self.body.get("message")
        inner = message.get("error") if isinstance(message, dict) else None
        return self.body.get("error") or inner

    @property
    def order(self) -> dict[str, Any]:
        """`message.order`, or {} if the callback has none."""
        message = self.body.get("message")
        order = message.get("order") if isinstance(message, dict) else None
        return order if isinstance(order, dict) else {}

    def record(self) -> dict[str, Any]:
        """The callback as one line of the journal."""
        return {
            "received_at": rfc3339(self.received_at),
            "action": self.action,
            "signer": self.signer,
            "body": self.body,
            **({"evidence": self.evidence} if self.evidence else {}),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Callback:
        return cls(
            action=record["action"],
            body=record["body"],
            signer=record["signer"],
            received_at=parse_rfc3339(record["received_at"]),
            evidence=record.get("evidence"),
        )


class Inbox:
    """The callbacks received, in order: kept in memory for `wait_for`, and appended to a JSONL
    journal if one is given. Thread-safe."""

    def __init__(self, journal: Path | None = None) -> None:
        self.journal = journal
        self._callbacks: list[Callback] = []
        self._arrived = threading.Condition()

    def add(self, callback: Callback) -> None:
        with self._arrived:
            if self.journal is not None:
                with self.journal.open("ab") as journal:
                    journal.write(orjson.dumps(callback.record()) + b"\n")
            self._callbacks.append(callback)
            self._arrived.notify_all()

    def received(self) -> list[Callback]:
        with self._arrived:
            return list(self._callbacks)

    def since(self, count: int, timeout: float) -> list[Callback]:
        """The callbacks after the first `count`, waiting up to `timeout` seconds for one."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._callbacks) > count, timeout)
            return self._callbacks[count:]

    def wait_for(self, action: str, message_id: str, timeout: float) -> Callback | None:
        """The `action` callback answering `message_id` (received already, or within `timeout`
        seconds), else None."""

        def match() -> Callback | None:
            return next(
                (c for c in self._callbacks if c.action == action and c.message_id == message_id),
                None,
            )

        deadline = time.monotonic() + timeout
        with self._arrived:
            while (found := match()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._arrived.wait(left)
            return found


def read_journal(path: Path) -> list[Callback]:
    """The callbacks recorded in a journal, oldest first ([] if there is none yet)."""
    if not path.exists():
        return []
    callbacks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            callbacks.append(Callback.from_record(json.loads(line)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ClientError(f"the journal {path}, line {number}, is unreadable: {exc}") from None
    return callbacks


def latest(callbacks: Iterable[Callback], transaction_id: str, action: str) -> Callback | None:
    """The last `action` callback of the transaction."""
    found = None
    for callback in callbacks:
        if callback.action == action and callback.transaction_id == transaction_id:
            found = callback
    return found
