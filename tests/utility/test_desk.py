"""What the connection desk may record: the reason, and the connection details of the DEG
Connections guide v1.1 on_status-4 example (item tag group `connection_details`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridshare.utility import desk
from gridshare.utility.orders import OrderError

ON_STATUS_4 = Path(__file__).parents[1] / "beckn/specs/connections_examples/status/on_status-4.json"


def test_the_codes_are_the_on_status_4_connection_details() -> None:
    """The guide's on_status-4 example (a copy in tests/beckn/specs/connections_examples)."""
    item = json.loads(ON_STATUS_4.read_text())["message"]["order"]["items"][0]
    [group] = [t for t in item["tags"] if t["descriptor"]["code"] == "connection_details"]
    assert tuple(entry["descriptor"]["code"] for entry in group["list"]) == desk.DETAIL_CODES


def test_known_details_are_kept_trimmed() -> None:
    assert desk.checked_details({"meter_id": " M-1 ", "grid_zone": "North"}) == {
        "meter_id": "M-1",
        "grid_zone": "North",
    }
    assert desk.checked_details({}) == {}


def test_an_unknown_code_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(OrderError) as refused:
        desk.checked_details({"meter_id": "M-1", "colour": "blue"})
    message = str(refused.value)
    assert "colour" in message
    assert all(code in message for code in desk.DETAIL_CODES)


@pytest.mark.parametrize("value", ["", "   ", "x" * 200])
def test_a_value_must_be_short_and_not_blank(value: str) -> None:
    with pytest.raises(OrderError, match="meter_id needs a value of 1 to 199"):
        desk.checked_details({"meter_id": value})
    assert desk.checked_details({"meter_id": "x" * 199})["meter_id"] == "x" * 199


def test_a_reason_is_trimmed_blank_is_none_and_long_is_refused() -> None:
    assert desk.checked_reason("  site visited ") == "site visited"
    assert desk.checked_reason("  ") is None
    assert desk.checked_reason(None) is None
    assert desk.checked_reason("x" * desk.REASON_MAX) == "x" * desk.REASON_MAX
    with pytest.raises(OrderError, match="at most 1000"):
        desk.checked_reason("x" * (desk.REASON_MAX + 1))
