"""Download My Data (espi/dmd.py, web/downloads.py; Green Button FB 2): a logged-in Customer
downloads their usage as Green Button XML (valid against the ESPI schemas, read back by
greenbutton-objects) and as CSV with the same readings; bad requests return to the form."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from greenbutton_objects import parse as gbo  # type: ignore[import-untyped]

from gridshare import urls
from gridshare.app import create_app
from tests.cds.data_setup import log_in
from tests.demo.conftest import SmallDemo
from tests.espi.xml_checks import assert_valid, entries, parse

WEEK = {"start": "2025-01-06", "end": "2025-01-12"}


@pytest.fixture(scope="module")
def http(demo: SmallDemo) -> TestClient:
    client = TestClient(create_app(demo.settings, demo.engine))
    log_in(client, "home", urls.DOWNLOAD)
    return client


def test_the_form_needs_a_login_and_offers_both_formats(demo: SmallDemo, http: TestClient) -> None:
    anonymous = TestClient(create_app(demo.settings, demo.engine))
    away = anonymous.get(urls.DOWNLOAD, follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith(urls.LOGIN)
    assert anonymous.get(urls.DOWNLOAD_FILE, params=WEEK, follow_redirects=False).status_code == 303
    page = http.get(urls.DOWNLOAD)
    assert page.status_code == 200
    assert 'name="format" value="xml"' in page.text and 'value="csv"' in page.text


@pytest.mark.req("ESPI-FB-2")
def test_the_xml_is_green_button_and_reads_back_to_the_csv(
    http: TestClient, tmp_path: Path
) -> None:
    xml = http.get(urls.DOWNLOAD_FILE, params={**WEEK, "format": "xml"})
    assert xml.status_code == 200
    assert xml.headers["content-disposition"] == (
        'attachment; filename="GreenButton_2025-01-06_2025-01-12.xml"'
    )
    assert_valid(xml.content)
    assert entries(parse(xml.content), "IntervalBlock")
    path = tmp_path / "mine.xml"
    path.write_bytes(xml.content)
    from_xml = sorted(
        (
            reading.timePeriod.start.timestamp(),
            Decimal(reading._value).scaleb(mr.readingType.powerOfTenMultiplier),
        )
        for point in gbo.parse_feed(str(path))
        for mr in point.meterReadings
        for reading in mr.intervalReadings
    )
    table = http.get(urls.DOWNLOAD_FILE, params={**WEEK, "format": "csv"})
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert len(rows) == len(from_xml) > 7 * 96
    shift = {"kWh": 3, "kW": 3, "therm": 0}
    from_csv = sorted(
        (
            _epoch(row["start"]),
            Decimal(row["value"]).scaleb(shift[row["unit"]]),
        )
        for row in rows
    )
    assert from_csv == from_xml
    first = rows[0]
    assert first["start"].startswith("2025-01-06T00:00:00-08:00") or first["start"] >= "2025-01-06"
    assert {row["quality"] for row in rows} <= {
        "valid",
        "estimated",
        "manually edited",
        "raw",
        "revenue quality",
        "derived",
        "validated",
        "other",
    }


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"start": "2025-01-40", "end": "2025-01-12"}, "dates"),
        ({"start": "2025-01-12", "end": "2025-01-06"}, "order"),
        ({"start": "2020-01-01", "end": "2025-01-06"}, "range"),
        ({**WEEK, "format": "pdf"}, "format"),
    ],
)
def test_a_bad_request_returns_to_the_form_saying_why(
    http: TestClient, params: dict[str, str], problem: str
) -> None:
    answer = http.get(urls.DOWNLOAD_FILE, params=params, follow_redirects=False)
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == urls.DOWNLOAD
    assert parse_qs(location.query)["problem"] == [problem]
    page = http.get(answer.headers["location"])
    assert 'role="alert"' in page.text


def _epoch(local: str) -> float:
    return datetime.fromisoformat(local).timestamp()
