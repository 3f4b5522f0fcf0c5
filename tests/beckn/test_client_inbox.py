"""The callbacks received (gridshare.beckn.client_inbox): paired with their request by
`message_id` (core 1.1.0 Context.yaml), journaled one JSON object a line with the signed bytes,
and read back."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.client_identity import new_identity
from gridshare.beckn.client_inbox import Callback, Inbox, latest, read_journal
from tests.beckn.client_examples import BPP_KEY, CALLBACK_URL, KEY_ID, on_status, signed

RECEIVED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def callback(**context: str) -> Callback:
    body = on_status(new_identity("bap.test", CALLBACK_URL), **context)
    raw, authorization = signed(body, BPP_KEY, KEY_ID)
    evidence = {"body": base64.b64encode(raw).decode(), "authorization": authorization}
    return Callback("on_status", body, KEY_ID, RECEIVED_AT, evidence)


def test_a_callback_is_found_by_its_message_id_and_read_back_from_the_journal(
    tmp_path: Path,
) -> None:
    """Context.yaml: the callback carries the request's `message_id` and `transaction_id`."""
    journal = tmp_path / "callbacks.jsonl"
    inbox = Inbox(journal)
    transaction_id = str(uuid.uuid4())
    first, second = callback(transaction_id=transaction_id), callback(transaction_id=transaction_id)
    inbox.add(first)
    inbox.add(second)

    assert inbox.wait_for("on_status", second.message_id or "", timeout=0) == second
    assert inbox.wait_for("on_select", second.message_id or "", timeout=0) is None
    assert inbox.since(1, timeout=0) == [second]
    assert read_journal(journal) == [first, second]
    assert latest(read_journal(journal), transaction_id, "on_status") == second
    assert latest(read_journal(journal), str(uuid.uuid4()), "on_status") is None


def test_waiting_for_a_callback_that_never_comes_gives_none() -> None:
    assert Inbox().wait_for("on_status", "m-1", timeout=0) is None


def test_a_missing_journal_is_empty_and_a_damaged_line_is_reported(tmp_path: Path) -> None:
    journal = tmp_path / "callbacks.jsonl"
    assert read_journal(journal) == []
    journal.write_text('{"action": "on_status"}\n')
    with pytest.raises(ClientError, match="line 1"):
        read_journal(journal)
