"""The transaction a BAP operator is running, kept between commands in a small JSON file beside
the key file: its `transaction_id` (one for the whole order, core 1.1.0 `schema/Context.yaml`),
the BPP's URI, and the orders sent with select and init, from which the next step is built; and
where the callbacks' journal sits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.client_files import read_json, write_json


@dataclass
class Transaction:
    """The transaction an operator is running: its id, the BPP and the orders sent so far."""

    transaction_id: str
    bpp_uri: str
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The order sent with "select" and "init", to build the next step from."""


def state_path(key_file: Path) -> Path:
    """Where the current transaction is kept: beside the key file."""
    return key_file.with_name(f"{key_file.stem}.state.json")


def journal_path(key_file: Path) -> Path:
    """Where received callbacks are appended, one JSON object a line: beside the key file."""
    return key_file.with_name(f"{key_file.stem}.callbacks.jsonl")


def load_transaction(path: Path) -> Transaction | None:
    if not path.exists():
        return None
    document = read_json(path, f"the state file {path}")
    try:
        return Transaction(document["transaction_id"], document["bpp_uri"], document["orders"])
    except (KeyError, TypeError):
        raise ClientError(f"the state file {path} is not a transaction; delete it") from None


def save_transaction(path: Path, transaction: Transaction) -> None:
    write_json(
        path,
        {
            "transaction_id": transaction.transaction_id,
            "bpp_uri": transaction.bpp_uri,
            "orders": transaction.orders,
        },
    )
