"""Green Button scope strings (grants/espi_scope.py; the GBA scope grammar, DIGEST §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridshare.grants.espi_scope import ScopeError, consent_request, parse


def test_a_full_scope_string_is_parsed() -> None:
    scope = parse(
        "FB=1_3_4_5_13_14_15_39;IntervalDuration=900_3600;BlockDuration=daily;HistoryLength=13;"
    )
    assert scope.blocks == frozenset({1, 3, 4, 5, 13, 14, 15, 39})
    assert scope.interval_durations == (900, 3600)
    assert scope.block_duration == "daily" and scope.history_seconds == 13
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert scope.history_start(now) == now - timedelta(seconds=13)
    assert scope.has(15) and not scope.has(16, 28)


def test_the_bulk_id_comes_from_br() -> None:
    assert parse("FB=1_3_35;BR=50098").bulk_id == "50098"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("IntervalDuration=900", "FB="),
        ("FB=4_5_15", "FB 1"),
        ("FB=1_3_99", "not offered"),
        ("FB=1_3;FB=1_4", "twice"),
        ("FB=1_3;IntervalDuration=quarter", "IntervalDuration"),
        ("FB=1_3;HistoryLength=thirteen", "HistoryLength"),
        ("FB=1_3;BlockDuration=fortnightly", "BlockDuration"),
        ("FB=1_3;Colour=blue", "unknown term Colour"),
        ("FB=1_3;;", "Name=value"),
        ("FB=1 3", "Name=value"),
    ],
)
def test_malformed_scope_strings_name_the_bad_term(text: str, says: str) -> None:
    with pytest.raises(ScopeError, match=says):
        parse(text)


def test_the_consent_equivalent_includes_what_the_blocks_need() -> None:
    [usage] = consent_request(parse("FB=1_3_4_5"), "cds_usage_1", "cds_service_contracts_1")
    assert usage["type"] == "cds_usage_1" and usage["include_service_points"] is True
    assert "include_bill_sections" not in usage and "include_accounts" not in usage
    [billing] = consent_request(parse("FB=1_3_4_5_15"), "cds_usage_1", "cds_service_contracts_1")
    assert billing["include_bill_sections"] is True and billing["include_accounts"] is True
    usage, details = consent_request(parse("FB=1_51_56"), "cds_usage_1", "cds_service_contracts_1")
    assert usage["include_service_point_addresses"] is True
    assert details["type"] == "cds_service_contracts_1"
    assert details["include_account_details"] is True and details["include_service_programs"]
