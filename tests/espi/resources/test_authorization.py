"""Authorization entries: the GBA sample's values give the sample's content back, entries validate
against espi.xsd, periods are epoch seconds, and values the XSD would refuse are refused by
name."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.resources.authorization import (
    AuthorizationView,
    Period,
    authorization_element,
    authorization_entry,
)
from tests.espi.xml_checks import schema_errors

SAMPLE = (
    Path(__file__).parents[1]
    / "specs"
    / "samples"
    / "api-responses"
    / "Authorization-Entry-Anonymized.xml"
)
SETTINGS = Settings(base_url="https://dc.example")
NOW = datetime(2025, 1, 1, tzinfo=UTC)
START = datetime.fromtimestamp(1600000000, UTC)


def sample_view() -> AuthorizationView:
    """The values of the GBA 2025 sample entry."""
    period = Period(START, START + timedelta(seconds=31604340))
    return AuthorizationView(
        authorization_id="test-auth-id",
        published=NOW,
        updated=NOW,
        authorized_period=period,
        published_period=period,
        status=1,
        expires_at=START,
        grant_type="authorization_code",
        scope="FB=1_3_4_5_13_15_16_28_31_37_39_51_53_54_55_56_57_58_59_60_61_64_65_69",
        resource_uri=(
            "https://test-api.example.com/espi/1_1/resource/Batch/Subscription/test-subscription-id"
        ),
        authorization_uri="https://test-api.example.com/espi/1_1/resource/Authorization/test-auth-id",
        customer_resource_uri=(
            "https://test-api.example.com/customer/espi/1_1/resource/Batch/RetailCustomer/"
            "test-customer-id"
        ),
    )


def _tree(element: etree._Element) -> list[tuple[str, str]]:
    return [
        (etree.QName(e).localname, (e.text or "").strip())
        for e in element.iter()
        if e is not element
    ]


def test_the_sample_values_give_the_sample_content() -> None:
    sample = etree.parse(str(SAMPLE)).find(f".//{atom.espi('Authorization')}")
    assert sample is not None
    assert _tree(authorization_element(sample_view())) == _tree(sample)


def test_entries_validate_and_link_to_their_collection() -> None:
    denied = replace(
        sample_view(),
        status=2,
        authorized_period=Period(START, START + timedelta(hours=1)),
        published_period=None,
        grant_type=None,
        customer_resource_uri=None,
        error="access_denied",
        error_description="the customer declined",
        error_uri="https://dc.example/docs/errors#access_denied",
    )
    for view in (sample_view(), denied):
        entry = authorization_entry(SETTINGS, view)
        assert schema_errors(atom.entry_document(entry)) == []
        assert [(link.rel, link.href) for link in entry.links] == [
            ("self", "https://dc.example/espi/1_1/resource/Authorization/test-auth-id"),
            ("up", "https://dc.example/espi/1_1/resource/Authorization"),
        ]
    content = authorization_element(denied)
    period = content.find(atom.espi("authorizedPeriod"))
    assert period is not None
    assert [(etree.QName(e).localname, e.text) for e in period] == [
        ("duration", "3600"),
        ("start", "1600000000"),
    ]
    assert content.find(atom.espi("publishedPeriod")) is None
    assert content.findtext(atom.espi("error")) == "access_denied"
    assert content.findtext(atom.espi("token_type")) == "Bearer"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"status": 3}, "status"),
        ({"grant_type": "password"}, "grant_type"),
        ({"error": "nope"}, "error"),
        ({"scope": "FB=" + "1_" * 200}, "scope"),
    ],
)
def test_values_the_schema_would_refuse_are_refused(change: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        replace(sample_view(), **change)  # type: ignore[arg-type]


def test_a_period_must_fit_a_uint32_duration() -> None:
    too_long = replace(
        sample_view(), authorized_period=Period(START, START + timedelta(days=50_000))
    )
    with pytest.raises(ValueError, match="at most"):
        authorization_element(too_long)
    backwards = replace(sample_view(), published_period=Period(START, START - timedelta(seconds=1)))
    with pytest.raises(ValueError, match="publishedPeriod"):
        authorization_element(backwards)
