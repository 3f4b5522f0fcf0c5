"""ACK and NACK bodies (beckn/errors.py; core 1.1.0 `Ack`, `Error`, BECKN-005)."""

from __future__ import annotations

from gridshare.beckn.errors import BecknError, ack, nack
from tests.beckn import schema


def test_a_nack_carries_the_code_message_and_path() -> None:
    body = nack(BecknError("30000", "context.version must be 1.1.0", "context.version"))
    assert body == {
        "message": {"ack": {"status": "NACK"}},
        "error": {
            "code": "30000",
            "message": "context.version must be 1.1.0",
            "paths": "context.version",
        },
    }
    schema.assert_valid_response(body)


def test_an_ack_and_a_pathless_nack_are_core_responses() -> None:
    assert ack() == {"message": {"ack": {"status": "ACK"}}}
    schema.assert_valid_response(ack())
    pathless = nack(BecknError("40001", "this action is not served"))
    assert "paths" not in pathless["error"]
    schema.assert_valid_response(pathless)
