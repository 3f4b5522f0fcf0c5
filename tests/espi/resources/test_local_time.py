"""LocalTimeParameters (`espi.resources.local_time`): DST rules read from zoneinfo, encoded as the
DstRuleType bitmaps of espi.xsd; the entry validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.resources import local_time
from tests.espi.xml_checks import assert_valid


def _decode(rule: str) -> dict[str, int]:
    bits = int(rule, 16)
    return {
        "seconds": bits & 0xFFF,
        "hour": bits >> 12 & 0x1F,
        "weekday": bits >> 17 & 0x7,
        "day": bits >> 20 & 0x1F,
        "operator": bits >> 25 & 0x7,
        "month": bits >> 28 & 0xF,
    }


@pytest.mark.parametrize("year", [2007, 2025, 2031])
def test_los_angeles(year: int) -> None:
    found = local_time.local_time("America/Los_Angeles", year)
    assert (found.dst_start_rule, found.dst_end_rule) == ("360E2000", "B40E2000")
    assert (found.dst_offset, found.tz_offset) == (3600, -28800)


@pytest.mark.parametrize(
    ("zone", "start", "end", "standard"),
    [
        # last Sunday of March at 02:00 (winter time), last Sunday of October at 03:00 (summer)
        ("Europe/Paris", (3, 7, 7, 0, 2), (10, 7, 7, 0, 3), 3600),
        # first Sunday of October, first Sunday of April: the southern summer
        ("Australia/Sydney", (10, 2, 7, 0, 2), (4, 2, 7, 0, 3), 36000),
        # Irish "winter time" is the negative DST of tzdata: still GMT in winter, +1 in summer
        ("Europe/Dublin", (3, 7, 7, 0, 1), (10, 7, 7, 0, 2), 0),
    ],
)
def test_other_zones_rules(
    zone: str, start: tuple[int, ...], end: tuple[int, ...], standard: int
) -> None:
    found = local_time.local_time(zone, 2025)
    for rule, (month, operator, weekday, day, hour) in (
        (found.dst_start_rule, start),
        (found.dst_end_rule, end),
    ):
        assert _decode(rule) == {
            "seconds": 0,
            "hour": hour,
            "weekday": weekday,
            "day": day,
            "operator": operator,
            "month": month,
        }
    assert (found.dst_offset, found.tz_offset) == (3600, standard)


@pytest.mark.parametrize(("zone", "offset"), [("Asia/Tokyo", 32400), ("UTC", 0)])
def test_a_zone_without_daylight_saving_time(zone: str, offset: int) -> None:
    found = local_time.local_time(zone, 2025)
    assert (found.dst_start_rule, found.dst_end_rule) == ("FFFFFFFF", "FFFFFFFF")
    assert (found.dst_offset, found.tz_offset) == (0, offset)


def test_the_entry_validates_and_its_id_names_the_zone(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, base_url="https://utility.example")
    found = local_time.local_time("America/Los_Angeles", 2025)
    entry = local_time.entry(settings, found)
    assert_valid(atom.entry_document(entry))
    assert found.id == local_time.local_time("America/Los_Angeles", 2030).id
    assert found.id != local_time.local_time("America/New_York", 2025).id
    assert len(found.id) == 16
    links = {link.rel: link.href for link in entry.links}
    assert links == {
        "self": f"https://utility.example/espi/1_1/resource/LocalTimeParameters/{found.id}",
        "up": "https://utility.example/espi/1_1/resource/LocalTimeParameters",
    }
    assert entry.published.isoformat() == "2025-01-01T08:00:00+00:00"
