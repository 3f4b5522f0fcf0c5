"""The BAP's JSON files (its key file, the registry file it writes to, its transaction state):
read with errors that name the file and what is wrong with it, written atomically."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from gridshare.beckn.client_errors import ClientError


def read_json(path: Path, what: str) -> Any:
    """The JSON document at `path`; ClientError naming `what` if it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClientError(f"{what} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ClientError(f"{what} cannot be read: {exc}") from None


def write_json(path: Path, document: Any, mode: int = 0o644) -> None:
    """Replace `path` atomically with `document`, made with permissions `mode`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.write("\n")
    os.replace(temporary, path)
