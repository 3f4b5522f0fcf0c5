"""UsageSummary (`espi.resources.usage_summary`): measurements, line item kinds, the fields with
and without cost and with the current billing period (FB 28) in the XSD order; the entry
validates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.resources import Paths, usage_summary
from gridshare.espi.resources.usage_summary import Cost, Current, LineItem, Measurement, Summary
from tests.espi.xml_checks import NS, assert_valid

START = datetime(2025, 1, 1, 8, tzinfo=UTC)
END = datetime(2025, 2, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "units", "expected"),
    [
        ("484.865", "kWh", Measurement(0, 72, 484865)),
        ("484.8651", "kWh", Measurement(-1, 72, 4848651)),
        ("19.262", "therm", Measurement(-3, 169, 19262)),
        ("1200", "gal", Measurement(0, 128, 1200)),
        ("12.5", "kW", Measurement(0, 38, 12500)),
    ],
)
def test_measurements_are_exact_integers(value: str, units: str, expected: Measurement) -> None:
    assert usage_summary.measurement(Decimal(value), units) == expected


def test_unknown_units_have_no_measurement() -> None:
    assert usage_summary.measurement(Decimal(1), "days") is None


@pytest.mark.parametrize(
    ("types", "amount", "kind"),
    [
        (["usage_charge", "supply"], "1", 1),
        (["usage_charge", "distribution"], "1", 2),
        (["usage_charge"], "1", 3),
        (["fixed_charge", "distribution"], "1", 4),
        (["tax"], "1", 5),
        (["usage_charge", "supply"], "-1", 6),
        (["usage_charge", "distribution"], "-1", 7),
        (["fixed_charge"], "-1", 8),
        (["other"], "1", 10),
    ],
)
def test_line_item_kinds(types: list[str], amount: str, kind: int) -> None:
    assert usage_summary.item_kind(types, Decimal(amount)) == kind


def _summary(cost: Cost | None) -> Summary:
    return Summary(
        section_id="sec_1",
        start=START,
        end=END,
        published=START,
        updated=END,
        commodity=1,
        consumption=Measurement(0, 72, 484865),
        cost=cost,
        agency="Demo Gas & Electric",
    )


def test_with_cost_every_field_is_in_the_xsd_order(tmp_path: Path) -> None:
    paths = Paths(Settings(data_dir=tmp_path, base_url="https://utility.example"), "g1")
    items = (LineItem(Decimal("12.22"), "Base services charge", 4, START, END),)
    summary = _summary(Cost("USD", Decimal("175.71"), Decimal("20.59"), items))
    document = atom.entry_document(usage_summary.entry(paths, "sp1", summary))
    assert_valid(document)
    content = etree.fromstring(document).find("atom:content/espi:UsageSummary", NS)
    assert content is not None
    assert [etree.QName(c).localname for c in content] == [
        "billingPeriod",
        "billLastPeriod",
        "costAdditionalLastPeriod",
        "costAdditionalDetailLastPeriod",
        "currency",
        "overallConsumptionLastPeriod",
        "qualityOfReading",
        "statusTimeStamp",
        "commodity",
        "billingChargeSource",
    ]
    assert content.findtext("espi:billLastPeriod", namespaces=NS) == "17571000"
    assert content.findtext("espi:costAdditionalLastPeriod", namespaces=NS) == "2059000"
    assert content.findtext("espi:billingPeriod/espi:duration", namespaces=NS) == str(31 * 86400)
    assert content.findtext("espi:statusTimeStamp", namespaces=NS) == str(int(END.timestamp()))


def test_without_cost_there_are_no_amounts(tmp_path: Path) -> None:
    paths = Paths(Settings(data_dir=tmp_path, base_url="https://utility.example"), "g1")
    document = atom.entry_document(usage_summary.entry(paths, "sp1", _summary(None)))
    assert_valid(document)
    content = etree.fromstring(document).find("atom:content/espi:UsageSummary", NS)
    assert content is not None
    names = {etree.QName(c).localname for c in content}
    assert not names & {"billLastPeriod", "costAdditionalLastPeriod", "currency"}


AS_OF = datetime(2025, 2, 20, 8, tzinfo=UTC)


def _current(tmp_path: Path, cost: Cost | None, to_date: Decimal | None) -> etree._Element:
    paths = Paths(Settings(data_dir=tmp_path, base_url="https://utility.example"), "g1")
    used = usage_summary.measurement(Decimal("280.529"), "kWh", AS_OF)
    current = Current(used, to_date, "USD", AS_OF)
    summary = replace(_summary(cost), current=current)
    document = atom.entry_document(usage_summary.entry(paths, "sp1", summary))
    assert_valid(document)
    content = etree.fromstring(document).find("atom:content/espi:UsageSummary", NS)
    assert content is not None
    return content


def test_the_current_billing_period_follows_the_xsd_order(tmp_path: Path) -> None:
    content = _current(
        tmp_path, Cost("USD", Decimal("175.71"), Decimal("20.59"), ()), Decimal("101.56")
    )
    assert [etree.QName(c).localname for c in content] == [
        "billingPeriod",
        "billLastPeriod",
        "billToDate",
        "costAdditionalLastPeriod",
        "currency",
        "overallConsumptionLastPeriod",
        "currentBillingPeriodOverAllConsumption",
        "qualityOfReading",
        "statusTimeStamp",
        "commodity",
        "billingChargeSource",
    ]
    assert content.findtext("espi:billToDate", namespaces=NS) == "10156000"
    used = content.find("espi:currentBillingPeriodOverAllConsumption", NS)
    assert used is not None
    assert [etree.QName(c).localname for c in used] == [
        "powerOfTenMultiplier",
        "timeStamp",
        "uom",
        "value",
    ]
    assert used.findtext("espi:value", namespaces=NS) == "280529"
    stamp = str(int(AS_OF.timestamp()))
    assert used.findtext("espi:timeStamp", namespaces=NS) == stamp
    assert content.findtext("espi:statusTimeStamp", namespaces=NS) == stamp


def test_a_bill_to_date_without_the_last_bill_names_its_currency(tmp_path: Path) -> None:
    """A zero bill so far is written; the currency comes with it even when the bill's own cost
    is not shown; a plan that cannot price to date gives the usage alone."""
    content = _current(tmp_path, None, Decimal(0))
    assert content.findtext("espi:billToDate", namespaces=NS) == "0"
    assert content.findtext("espi:currency", namespaces=NS) == "840"
    assert content.find("espi:billLastPeriod", NS) is None
    content = _current(tmp_path, None, None)
    names = {etree.QName(c).localname for c in content}
    assert "currentBillingPeriodOverAllConsumption" in names
    assert not names & {"billToDate", "currency"}
