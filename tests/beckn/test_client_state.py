"""The transaction under way between commands (gridshare.beckn.client_state): kept beside the key
file with the orders sent, read back as written, and a damaged file named with what to do."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.client_state import (
    Transaction,
    journal_path,
    load_transaction,
    save_transaction,
    state_path,
)
from tests.beckn.client_examples import BPP, messages


def test_the_transaction_round_trips_beside_the_key_file(tmp_path: Path) -> None:
    path = state_path(tmp_path / "bap.json")
    assert path == tmp_path / "bap.state.json"
    assert journal_path(tmp_path / "bap.json") == tmp_path / "bap.callbacks.jsonl"
    assert load_transaction(path) is None
    state = Transaction("t-1", BPP, {"select": copy.deepcopy(messages()["select"])})
    save_transaction(path, state)
    assert load_transaction(path) == state


def test_a_state_file_that_is_not_a_transaction_says_delete_it(tmp_path: Path) -> None:
    path = state_path(tmp_path / "bap.json")
    path.write_text('{"transaction_id": "t-1"}')
    with pytest.raises(ClientError, match="is not a transaction; delete it"):
        load_transaction(path)
    path.write_text("{")
    with pytest.raises(ClientError, match="cannot be read"):
        load_transaction(path)
