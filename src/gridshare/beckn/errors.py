"""Beckn errors and acknowledgements (core 1.1.0 `Ack`, `Error`; BECKN-005 error codes): every
refusal of the BPP is a `BecknError`, answered as a NACK carrying its code and message."""

from __future__ import annotations

from typing import Any, Final

INVALID_REQUEST: Final = "30000"
PROVIDER_NOT_FOUND: Final = "30001"
ITEM_NOT_FOUND: Final = "30004"
FULFILLMENT_UNAVAILABLE: Final = "30008"
ORDER_NOT_FOUND: Final = "30010"
INVALID_CANCELLATION_REASON: Final = "30011"
INVALID_UPDATE_TARGET: Final = "30012"
RATED_ENTITY_NOT_FOUND: Final = "30014"
INVALID_RATING_VALUE: Final = "30015"
ACTION_NOT_APPLICABLE: Final = "40001"
CANCELLATION_NOT_POSSIBLE: Final = "50001"
UPDATE_NOT_POSSIBLE: Final = "50002"
"""BECKN-005 codes. A request with code 30000 (malformed) is refused with a NACK; the others
concern a request we understood, so they are acknowledged and the `on_*` callback carries them."""


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
