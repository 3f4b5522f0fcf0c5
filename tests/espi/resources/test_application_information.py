"""ApplicationInformation entries: the GBA sample's values give the sample's element sequence and
values back, every entry validates against espi.xsd, and a view the XSD would refuse is refused
with the field to fix."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.resources.application_information import (
    ApplicationView,
    application_element,
    application_entry,
)
from tests.espi.xml_checks import schema_errors

SAMPLE = (
    Path(__file__).parents[1]
    / "specs"
    / "samples"
    / "api-responses"
    / "ApplicationInformation-Entry-Anonymized.xml"
)
SETTINGS = Settings(base_url="https://dc.example")
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def sample_view() -> ApplicationView:
    """The values of the GBA 2025 sample entry."""
    return ApplicationView(
        application_id="12345678",
        published=NOW,
        updated=NOW,
        data_custodian_id="test-datacustodian",
        data_custodian_application_status=2,
        third_party_application_description="Test Application",
        third_party_application_status=2,
        third_party_application_type=1,
        third_party_application_use=1,
        authorization_server_uri="https://test-datacustodian.example.com",
        third_party_notify_uri="https://test-thirdparty.example.com/espi/1_1/Notification",
        authorization_endpoint="https://test-datacustodian.example.com/oauth/authorize",
        registration_endpoint="https://test-datacustodian.example.com/oauth/authorize",
        token_endpoint="https://test-datacustodian.example.com/oauth/token",
        bulk_request_uri="https://test-datacustodian.example.com/espi/1_1/resource",
        resource_endpoint="https://test-api.example.com/espi/1_1/resource",
        third_party_scope_selection_screen_uri="https://test-thirdparty.example.com/scope",
        third_party_user_portal_screen_uri="https://test-thirdparty.example.com/portal",
        client_secret="test-client-secret",
        logo_uri="https://test-assets.example.com/logo.png",
        client_name="Test Client",
        client_uri="https://test-thirdparty.example.com",
        redirect_uris=("https://test-thirdparty.example.com/callback",),
        client_id="test-client-id",
        software_id="v0001",
        software_version="1.00.00",
        client_id_issued_at=datetime.fromtimestamp(1600000000, UTC),
        client_secret_expires_at=datetime.fromtimestamp(86400000000, UTC),
        scopes=("FB=1_3_4_5_13_15_16_28_31_37_39_51_53_54_55_56_57_58_59_60_61_64_65_69",),
        grant_types=("refresh_token", "client_credentials", "authorization_code"),
        registration_client_uri=(
            "https://test-api.example.com/espi/1_1/resource/ApplicationInformation/12345678"
        ),
        registration_access_token="test-access-token",
        data_custodian_scope_selection_screen_uri=(
            "https://test-datacustodian.example.com/RetailCustomer/ScopeSelectionList"
        ),
    )


def _fields(element: etree._Element) -> list[tuple[str, str]]:
    return [(etree.QName(child).localname, child.text or "") for child in element]


def test_the_sample_values_give_the_sample_content() -> None:
    sample = etree.parse(str(SAMPLE)).find(f".//{atom.espi('ApplicationInformation')}")
    assert sample is not None
    assert _fields(application_element(sample_view())) == _fields(sample)


def test_entries_validate_with_every_field_and_with_only_the_required_ones() -> None:
    full = sample_view()
    bare = ApplicationView(
        application_id="a1",
        published=NOW,
        updated=NOW,
        data_custodian_id="gridshare",
        data_custodian_application_status=1,
        third_party_notify_uri="https://tp.example/notify",
        authorization_endpoint="https://dc.example/oauth/authorize",
        token_endpoint="https://dc.example/oauth/token",
        bulk_request_uri="https://dc.example/espi/1_1/resource/Batch/Bulk/7",
        resource_endpoint="https://dc.example/espi/1_1/resource",
        client_secret="s3cret",
        client_name="Green Meter",
        redirect_uris=("https://tp.example/a", "https://tp.example/b"),
        client_id="c1",
        software_id="green-meter",
        software_version="1.0",
        client_id_issued_at=NOW,
        client_secret_expires_at=None,
        scopes=("FB=1_3;", "FB=51_55;"),
        grant_types=("authorization_code", "refresh_token"),
        registration_client_uri="https://dc.example/espi/1_1/resource/ApplicationInformation/a1",
        registration_access_token="rat",
        contacts=("ops@tp.example",),
        tos_uri="https://tp.example/tos",
    )
    for view in (full, bare):
        document = atom.entry_document(application_entry(SETTINGS, view))
        assert schema_errors(document) == []
    content = application_element(bare)
    assert content.findtext(atom.espi("client_secret_expires_at")) == "0"
    assert content.findtext(atom.espi("client_id_issued_at")) == str(int(NOW.timestamp()))
    assert [e.text for e in content.iter(atom.espi("redirect_uri"))] == list(bare.redirect_uris)


def test_links_and_id() -> None:
    entry = application_entry(SETTINGS, sample_view())
    assert [(link.rel, link.href, link.type) for link in entry.links] == [
        (
            "self",
            "https://dc.example/espi/1_1/resource/ApplicationInformation/12345678",
            "espi-entry/ApplicationInformation",
        ),
        (
            "up",
            "https://dc.example/espi/1_1/resource/ApplicationInformation",
            "espi-feed/ApplicationInformation",
        ),
    ]
    again = application_entry(SETTINGS, replace(sample_view(), client_name="Renamed"))
    assert entry.atom_id == again.atom_id and entry.atom_id.startswith("urn:uuid:")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"grant_types": ("authorization_code",)}, "grant_types"),
        ({"grant_types": ("authorization_code", "implicit")}, "grant_types"),
        ({"data_custodian_application_status": 5}, "data_custodian_application_status"),
        ({"third_party_application_status": 0}, "third_party_application_status"),
        ({"redirect_uris": ()}, "redirect_uri"),
        ({"scopes": ()}, "scope"),
        ({"client_id": "x" * 65}, "client_id"),
        ({"scopes": ("FB=" + "1_" * 200,)}, "scope"),
    ],
)
def test_what_the_schema_would_refuse_is_refused_by_name(
    change: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        replace(sample_view(), **change)  # type: ignore[arg-type]
