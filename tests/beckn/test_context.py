"""Context validation of incoming requests, our callback contexts and ACK/NACK bodies
(gridshare.beckn.context), checked against transaction.yaml by an independent validator."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gridshare.beckn.context import (
    ACTION_NOT_APPLICABLE,
    BPP_ACTIONS,
    INVALID_REQUEST,
    REQUIRED_FIELDS,
    callback_context,
    parse_rfc3339,
    ttl_end,
    unsolicited_context,
    validate_context,
)
from gridshare.beckn.errors import BecknError, ack, nack
from gridshare.config import Settings
from tests.beckn import schema

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).parent / "specs" / "connections_examples"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        base_url="https://bpp.example.com",
        beckn_subscriber_id="bpp.example.com",
    )


def context(**changes: Any) -> dict[str, Any]:
    """A valid `select` context sent at NOW; `changes` replace fields (None removes one)."""
    fields: dict[str, Any] = {
        "domain": "service",
        "location": {"country": {"code": "USA"}, "city": {"code": "NANP:628"}},
        "action": "select",
        "version": "1.1.0",
        "bap_id": "bap.example.org",
        "bap_uri": "https://bap.example.org/beckn",
        "bpp_id": "bpp.example.com",
        "bpp_uri": "https://bpp.example.com/beckn",
        "transaction_id": str(uuid.uuid4()),
        "message_id": str(uuid.uuid4()),
        "timestamp": "2025-06-01T12:00:00Z",
        "ttl": "PT10M",
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


def refused(body: object, settings: Settings, action: str = "select") -> BecknError:
    with pytest.raises(BecknError) as caught:
        validate_context(body, action, settings, NOW)
    return caught.value


def test_a_valid_context_is_accepted(settings: Settings) -> None:
    sent = context()
    valid = validate_context(sent, "select", settings, NOW)
    assert valid.raw is sent
    assert (valid.action, valid.domain, valid.bap_id) == ("select", "service", "bap.example.org")
    assert valid.bap_uri == "https://bap.example.org/beckn"
    assert (valid.transaction_id, valid.message_id) == (sent["transaction_id"], sent["message_id"])
    assert valid.timestamp == NOW
    assert valid.expires_at == NOW + timedelta(minutes=10)


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_each_required_field(field: str, settings: Settings) -> None:
    error = refused(context(**{field: None}), settings)
    assert (error.code, error.path) == (INVALID_REQUEST, f"context.{field}")
    assert error.message == f"context.{field} is required"
    for wrong in ("", "  ", 7, ["x"]):
        error = refused(context(**{field: wrong}), settings)
        assert error.message == f"context.{field} must be a non-empty string"


@pytest.mark.parametrize("body", [None, [], "context", 1])
def test_context_must_be_an_object(body: object, settings: Settings) -> None:
    error = refused(body, settings)
    assert (error.code, error.path) == (INVALID_REQUEST, "context")


@pytest.mark.parametrize("action", ["get_offer_categories", "on_select", "order", ""])
def test_actions_we_do_not_implement_are_not_applicable(action: str, settings: Settings) -> None:
    error = refused(context(action=action), settings, action)
    assert error.code == ACTION_NOT_APPLICABLE
    assert "does not implement" in error.message


def test_every_bpp_action_is_accepted_on_its_own_path(settings: Settings) -> None:
    assert len(BPP_ACTIONS) == 10
    for action in BPP_ACTIONS:
        assert validate_context(context(action=action), action, settings, NOW).action == action


def test_action_must_match_the_path(settings: Settings) -> None:
    error = refused(context(action="init"), settings, "select")
    assert error.path == "context.action"
    assert error.message == "context.action is 'init' but the request was sent to /select"


@pytest.mark.parametrize("version", ["1.0.0", "1.1.1", "2.0.0", "1.1"])
def test_version_must_be_1_1_0(version: str, settings: Settings) -> None:
    error = refused(context(version=version), settings)
    assert error.path == "context.version"
    assert "'1.1.0'" in error.message


def test_domain_comes_from_the_settings(settings: Settings) -> None:
    for domain in ("service", "deg:service"):
        validate_context(context(domain=domain), "select", settings, NOW)
    error = refused(context(domain="retail"), settings)
    assert error.path == "context.domain"
    assert error.message == (
        "context.domain 'retail' is not served here; accepted: service, deg:service"
    )
    only_deg = settings.model_copy(update={"beckn_domains": ["deg:service"]})
    assert refused(context(domain="service"), only_deg).path == "context.domain"


@pytest.mark.parametrize(
    ("bap_uri", "our_base", "accepted"),
    [
        ("https://bap.example.org/beckn", "https://bpp.example.com", True),
        ("https://127.0.0.1:9000/cb", "https://bpp.example.com", False),
        ("https://localhost/cb", "https://bpp.example.com", False),
        ("https://127.0.0.1:9000/cb", "http://127.0.0.1:8000", True),
        ("http://bap.example.org/beckn", "https://bpp.example.com", False),
        ("http://127.0.0.1:9000/cb", "https://bpp.example.com", False),
        ("http://127.0.0.1:9000/cb", "http://127.0.0.1:8000", True),
        ("http://localhost:9000/cb", "http://testserver", True),
        ("http://[::1]:9000/cb", "http://testserver", True),
        ("http://bap.example.org/cb", "http://127.0.0.1:8000", False),
        ("http://10.0.0.5/cb", "http://127.0.0.1:8000", False),
        ("ftp://bap.example.org/cb", "http://127.0.0.1:8000", False),
        ("bap.example.org/cb", "https://bpp.example.com", False),
        ("https:///cb", "https://bpp.example.com", False),
    ],
)
def test_bap_uri_is_https_or_local_http_in_development(
    bap_uri: str, our_base: str, accepted: bool, settings: Settings
) -> None:
    ours = settings.model_copy(update={"base_url": our_base})
    body = context(bap_uri=bap_uri, bpp_id=None)
    if accepted:
        assert validate_context(body, "select", ours, NOW).bap_uri == bap_uri
    else:
        error = refused(body, ours)
        assert error.path == "context.bap_uri"
        assert bap_uri in error.message


def test_bpp_id_if_present_must_be_ours(settings: Settings) -> None:
    validate_context(context(bpp_id=None, bpp_uri=None), "select", settings, NOW)
    error = refused(context(bpp_id="other-bpp.example.com"), settings)
    assert error.path == "context.bpp_id"
    assert error.message == (
        "context.bpp_id is 'other-bpp.example.com', but this BPP is 'bpp.example.com'"
    )


@pytest.mark.parametrize(
    "timestamp",
    [
        "2025-06-01 12:00:00Z",
        "2025-06-01T12:00:00",
        "2025-06-01",
        "1748779200",
        "2025-06-01T12:00:00+0000",
        "2025-06-31T12:00:00Z",
        "Sun, 01 Jun 2025 12:00:00 GMT",
    ],
)
def test_timestamp_must_be_rfc3339(timestamp: str, settings: Settings) -> None:
    error = refused(context(timestamp=timestamp), settings)
    assert error.path == "context.timestamp"


def test_timestamp_offsets_and_fractions(settings: Settings) -> None:
    valid = validate_context(
        context(timestamp="2025-06-01T17:30:00.123456+05:30"), "select", settings, NOW
    )
    assert valid.timestamp == NOW + timedelta(microseconds=123456)
    assert validate_context(context(timestamp="2025-06-01t12:00:00z"), "select", settings, NOW)


def test_timestamp_may_be_ahead_by_the_stated_skew_only(settings: Settings) -> None:
    ahead = context(timestamp="2025-06-01T12:04:59Z")
    assert validate_context(ahead, "select", settings, NOW).timestamp > NOW
    error = refused(context(timestamp="2025-06-01T12:05:01Z"), settings)
    assert error.path == "context.timestamp"
    assert "ahead of our clock" in error.message
    assert "5 minutes" in error.message


@pytest.mark.parametrize(
    ("timestamp", "ttl", "accepted"),
    [
        ("2025-06-01T11:50:00Z", "PT10M", True),  # expires exactly now
        ("2025-06-01T11:49:59Z", "PT10M", False),
        ("2025-06-01T11:59:31Z", "PT30S", True),
        ("2025-06-01T11:59:29Z", "PT30S", False),
        ("2025-06-01T11:59:58Z", "PT1.5S", False),
        ("2025-05-31T12:00:00Z", "P1D", True),
        ("2025-05-01T12:00:00Z", "P1M", True),
        ("2025-04-30T12:00:00Z", "P1M", False),
        ("2025-05-25T12:00:00Z", "P1W", True),
        ("2025-05-25T11:59:00Z", "P1W", False),
        ("2025-06-01T11:50:00Z", None, True),  # no ttl: DEFAULT_TTL, 10 minutes
        ("2025-06-01T11:49:00Z", None, False),
    ],
)
def test_ttl_is_honoured(
    timestamp: str, ttl: str | None, accepted: bool, settings: Settings
) -> None:
    body = context(timestamp=timestamp, ttl=ttl)
    if accepted:
        validate_context(body, "select", settings, NOW)
    else:
        error = refused(body, settings)
        assert error.path == "context.timestamp"
        assert "expired" in error.message


@pytest.mark.parametrize("ttl", ["10 minutes", "PT", "P", "P1DT", "PT10", "pt10m", "-PT1M", 600])
def test_ttl_must_be_an_iso_8601_duration(ttl: object, settings: Settings) -> None:
    error = refused(context(ttl=ttl), settings)
    assert error.path == "context.ttl"


def test_ttl_end_uses_the_calendar() -> None:
    start = parse_rfc3339("2024-01-31T10:00:00Z")
    assert ttl_end(start, "P1M") == parse_rfc3339("2024-02-29T10:00:00Z")
    assert ttl_end(start, "P1Y1M") == parse_rfc3339("2025-02-28T10:00:00Z")
    assert ttl_end(start, "P1DT2H3M4,5S") == parse_rfc3339("2024-02-01T12:03:04.5Z")
    assert ttl_end(start, "PT0S") == start
    with pytest.raises(ValueError, match="too long"):
        ttl_end(start, "P99999Y")
    with pytest.raises(ValueError, match="too long"):
        ttl_end(start, "PT99999999999999999999S")


def test_location_must_be_an_object(settings: Settings) -> None:
    assert refused(context(location="San Francisco"), settings).path == "context.location"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/[!o]*.json")), ids=lambda path: path.name)
def test_connections_example_requests_are_accepted(path: Path, settings: Settings) -> None:
    """The guide's requests, at a moment just after they were sent, with the guide's domain
    ("service") accepted; not with a domain setting that leaves it out."""
    body = json.loads(path.read_text(encoding="utf-8"))
    sent = parse_rfc3339(body["context"]["timestamp"])
    action = path.stem
    valid = validate_context(body["context"], action, settings, sent + timedelta(minutes=1))
    assert valid.message_id == body["context"]["message_id"]
    deg_only = settings.model_copy(update={"beckn_domains": ["deg:service"]})
    with pytest.raises(BecknError, match=r"context\.domain"):
        validate_context(body["context"], action, deg_only, sent + timedelta(minutes=1))


def test_the_examples_are_the_five_requests() -> None:
    assert sorted(path.stem for path in EXAMPLES.glob("*/[!o]*.json")) == [
        "confirm",
        "init",
        "search",
        "select",
        "status",
    ]


def test_callback_context_echoes_the_request(settings: Settings) -> None:
    request = context(ttl="PT30S")
    answer = callback_context(request, settings, "select", NOW + timedelta(seconds=3))
    assert answer == {
        "domain": "service",
        "location": request["location"],
        "action": "on_select",
        "version": "1.1.0",
        "bap_id": "bap.example.org",
        "bap_uri": "https://bap.example.org/beckn",
        "bpp_id": "bpp.example.com",
        "bpp_uri": "https://bpp.example.com/beckn",
        "transaction_id": request["transaction_id"],
        "message_id": request["message_id"],
        "timestamp": "2025-06-01T12:00:03Z",
        "ttl": "PT30S",
    }
    bare = callback_context(context(location=None, ttl=None), settings, "status")
    assert "location" not in bare
    assert "ttl" not in bare
    assert parse_rfc3339(bare["timestamp"]) > NOW  # the real clock, not the request's time


def test_callback_context_of_an_example_request(settings: Settings) -> None:
    request = json.loads((EXAMPLES / "select" / "select.json").read_text(encoding="utf-8"))
    answer = callback_context(request["context"], settings, "select", NOW)
    assert answer["message_id"] == "connection-msg-10002"  # echoed as sent, even if not a UUID
    assert answer["bap_uri"] == "https://api.example-bap.com/pilot/bap/energy/v1"
    schema.assert_valid_message(
        "on_select", {"context": answer, "message": {"order": {}}}, formats=False
    )


def test_callback_context_needs_a_bpp_action(settings: Settings) -> None:
    with pytest.raises(ValueError, match="no callback for 'on_select'"):
        callback_context(context(), settings, "on_select")


def test_unsolicited_context_has_its_own_message_id(settings: Settings) -> None:
    request = context(action="status")
    fresh = str(uuid.uuid4())
    first = unsolicited_context(request, settings, "status", fresh, NOW)
    assert first["message_id"] == fresh != request["message_id"]
    assert first["transaction_id"] == request["transaction_id"]
    assert (first["action"], first["bpp_id"]) == ("on_status", "bpp.example.com")


@pytest.mark.parametrize("action", sorted(BPP_ACTIONS))
def test_our_callbacks_validate_against_the_schema(action: str, settings: Settings) -> None:
    """Every `on_{action}` context we make, in a body that carries only an error (the smallest
    callback each path allows), passes transaction.yaml with format checks."""
    request = context(action=action)
    error = BecknError(INVALID_REQUEST, "example").error()
    for made in (
        callback_context(request, settings, action, NOW),
        unsolicited_context(request, settings, action, str(uuid.uuid4()), NOW),
    ):
        body: dict[str, Any] = {"context": made, "error": error}
        if action == "rating":
            body["message"] = {}  # on_rating requires `message`
        schema.assert_valid_message(f"on_{action}", body)


def test_the_error_and_the_nack(settings: Settings) -> None:
    error = refused(context(domain="retail"), settings)
    body = nack(error)
    assert body == {
        "message": {"ack": {"status": "NACK"}},
        "error": {
            "code": "30000",
            "paths": "context.domain",
            "message": "context.domain 'retail' is not served here; accepted: service, deg:service",
        },
    }
    schema.assert_valid_response(body)
    schema.assert_valid_response(nack(BecknError(ACTION_NOT_APPLICABLE, "no")))
    assert "paths" not in nack(BecknError(ACTION_NOT_APPLICABLE, "no"))["error"]
    assert ack() == {"message": {"ack": {"status": "ACK"}}}
    schema.assert_valid_response(ack())
