"""UsagePoint (`espi.resources.usage_point`): the ServiceCategory, the links (UsageSummary only
when summaries are published, never ElectricPowerQualitySummary); it validates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.resources import Paths, usage_point
from tests.espi.xml_checks import NS, assert_valid

LTP = "https://utility.example/espi/1_1/resource/LocalTimeParameters/abc"


@pytest.mark.parametrize("summaries", [True, False])
def test_the_entry(tmp_path: Path, summaries: bool) -> None:
    paths = Paths(Settings(data_dir=tmp_path, base_url="https://utility.example"), "g1")
    when = datetime(2025, 1, 1, tzinfo=UTC)
    entry = usage_point.entry(paths, "sp1", 1, when, when, LTP, summaries)
    document = atom.entry_document(entry)
    assert_valid(document)
    kind = etree.fromstring(document).findtext(
        "atom:content/espi:UsagePoint/espi:ServiceCategory/espi:kind", namespaces=NS
    )
    assert kind == "1"
    point = "https://utility.example/espi/1_1/resource/Subscription/g1/UsagePoint"
    related = [link.href for link in entry.links if link.rel == "related"]
    assert related == [
        f"{point}/sp1/MeterReading",
        *([f"{point}/sp1/UsageSummary"] if summaries else []),
        LTP,
    ]
    assert [link.href for link in entry.links if link.rel == "up"] == [point]
