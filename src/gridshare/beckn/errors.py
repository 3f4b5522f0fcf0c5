"""Beckn errors and acknowledgements (core 1.1.0 `Ack`, `Error`; BECKN-005 error codes): every
refusal of the BPP is a `BecknError`, answered as a NACK carrying its code and message."""

from __future__ import annotations

from typing import Any


class BecknError(Exception):
    """A request we refuse: a BECKN-005 `code`, a `message` saying what to fix, the field's path."""

    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path

    def error(self) -> dict[str, str]:
        """The core `Error` object."""
        body = {"code": self.code, "message": self.message}
        if self.path is not None:
            body["paths"] = self.path
        return body


def ack() -> dict[str, Any]:
    return {"message": {"ack": {"status": "ACK"}}}


def nack(error: BecknError) -> dict[str, Any]:
    return {"message": {"ack": {"status": "NACK"}}, "error": error.error()}
