"""The transaction.yaml validator (tests/beckn/schema.py) on the Connections v1.1 examples and on
messages broken on purpose, so that a passing validation means something."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.beckn import schema

EXAMPLES = sorted((Path(__file__).parent / "specs" / "connections_examples").glob("*/*.json"))


def load(name: str) -> dict[str, Any]:
    (path,) = (example for example in EXAMPLES if example.name == name)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def test_every_example_is_found() -> None:
    assert len(EXAMPLES) == 13
    assert {path.parent.name for path in EXAMPLES} == {
        "search",
        "select",
        "init",
        "confirm",
        "status",
    }


@pytest.mark.req("CORE-SCHEMA")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_connections_examples_are_valid_core_messages(path: Path) -> None:
    body = json.loads(path.read_text(encoding="utf-8"))
    schema.assert_valid_message(body["context"]["action"], body, formats=False)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_connections_examples_ids_are_not_uuids(path: Path) -> None:
    """The one thing the examples get wrong against core 1.1.0: `transaction_id` and
    `message_id` are `format: uuid`, and the examples use ids like "connection-txn-8001"."""
    body = json.loads(path.read_text(encoding="utf-8"))
    errors = schema.message_errors(body["context"]["action"], body)
    assert errors == [
        f"context/message_id: {body['context']['message_id']!r} is not a 'uuid'",
        f"context/transaction_id: {body['context']['transaction_id']!r} is not a 'uuid'",
    ]


def with_uuids(body: dict[str, Any]) -> dict[str, Any]:
    fixed = copy.deepcopy(body)
    fixed["context"]["transaction_id"] = "0b7e3c1e-8f0e-4a47-9b53-6f2c3a0c9f11"
    fixed["context"]["message_id"] = "5d0f5e47-2f0a-4c7a-93b4-51b8c1b2d7e0"
    return fixed


def test_examples_with_uuid_ids_pass_the_format_checks() -> None:
    for path in EXAMPLES:
        body = json.loads(path.read_text(encoding="utf-8"))
        schema.assert_valid_message(body["context"]["action"], with_uuids(body))


def test_every_path_has_a_schema_that_compiles() -> None:
    assert len(schema.paths()) == 20
    for path in schema.paths():
        assert "(root): 'context' is a required property" in schema.message_errors(path[1:], {})


def test_wrong_action_and_missing_message_are_found() -> None:
    body = load("select.json")
    body["context"]["action"] = "init"
    del body["message"]["order"]
    assert schema.message_errors("select", body, formats=False) == [
        "context/action: 'init' is not one of ['select']",
        "message: 'order' is a required property",
    ]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            lambda order: order["items"][0]["price"].update(value=200),
            "message/order/items/0/price/value: 200 is not of type 'string'",
        ),
        (
            lambda order: order["fulfillments"][0].update(tracking="yes"),
            "message/order/fulfillments/0/tracking: 'yes' is not of type 'boolean'",
        ),
        (
            lambda order: order["payments"][0].update(status="PENDING"),
            "message/order/payments/0/status: 'PENDING' is not one of ['PAID', 'NOT-PAID']",
        ),
        (
            lambda order: order["fulfillments"][0]["stops"][0]["location"].update(gps="north"),
            "message/order/fulfillments/0/stops/0/location/gps: 'north' does not match",
        ),
    ],
)
def test_errors_deep_in_referenced_schemas_are_found(change: Any, error: str) -> None:
    body = with_uuids(load("on_init.json"))
    change(body["message"]["order"])
    errors = schema.message_errors("on_init", body)
    assert len(errors) == 1
    assert errors[0].startswith(error)


@pytest.mark.parametrize(
    ("timestamp", "valid"),
    [
        ("2025-05-07T14:00:00Z", True),
        ("2025-05-07T14:00:00.123+05:30", True),
        ("2025-05-07 14:00:00", False),
        ("2025-05-07T14:00:00", False),
        ("2025-13-07T14:00:00Z", False),
    ],
)
def test_date_time_is_rfc3339(timestamp: str, valid: bool) -> None:
    body = with_uuids(load("status.json"))
    body["context"]["timestamp"] = timestamp
    assert (schema.message_errors("status", body) == []) is valid


def test_uri_must_be_absolute() -> None:
    body = with_uuids(load("status.json"))
    body["context"]["bap_uri"] = "example-bap.com/beckn"
    assert schema.message_errors("status", body) == [
        "context/bap_uri: 'example-bap.com/beckn' is not a 'uri'"
    ]


def test_ack_and_nack_answers() -> None:
    schema.assert_valid_response({"message": {"ack": {"status": "ACK"}}})
    schema.assert_valid_response(
        {
            "message": {"ack": {"status": "NACK"}},
            "error": {"code": "30000", "paths": "context.domain", "message": "no"},
        }
    )
    assert schema.response_errors({"ack": {"status": "ACK"}}) == [
        "(root): 'message' is a required property"
    ]
    assert schema.response_errors({"message": {"ack": {"status": "NACK"}}, "error": {"code": 1}})
    assert schema.response_errors({"message": {"ack": {"status": "OK"}}})


def test_unknown_path_is_an_error() -> None:
    with pytest.raises(ValueError, match="no path /on_order"):
        schema.message_errors("on_order", {})
