"""ESPI UsageSummary (espi.xsd `UsageSummary`, `SummaryMeasurement`, `LineItem`; DIGEST §2, §9):
one Bill Section (CDS-WG3-01 §10.6) of a Service Contract served through the UsagePoint, as
function blocks 15 (usage summary) and 16 (with cost) publish it.

- `billingPeriod`: the section's local days, from local midnight of `start_date` to local
  midnight after `end_date` (epoch seconds, duration in seconds).
- `overallConsumptionLastPeriod`: the section's total usage detail (types `ami_reading` or
  `amr_reading`) as a SummaryMeasurement in the unit's `uom` with the largest multiplier keeping it
  an integer (`reading_type.UNITS`).
- `qualityOfReading` 19 (revenue quality: the usage was billed), `statusTimeStamp` when the
  section last changed, `commodity` the section's commodity (1, 7, 9).
- With cost (FB 16): `billLastPeriod` the section's `overall_total`; `costAdditionalLastPeriod`
  what is not a usage charge (the total less the `usage_charges` subtotal, or less the usage charge
  line items); `costAdditionalDetailLastPeriod` those other line items when the token may see line
  items (`include_bill_section_line_items`); `currency` (ISO 4217 numeric). Amounts are integers of
  10**-5 of the currency (DIGEST §9), exact from our decimals.
- `billingChargeSource/agencyName`: the entity that billed the section (its supplier for a supply
  section, else its distributor).
- Current billing period (FB 28), on the summary of the latest bill only (the XSD's "if the
  summary contains data from a current period beyond the end of the referenced billingPeriod"):
  `currentBillingPeriodOverAllConsumption` the usage since that bill's end, its `timeStamp` and
  the summary's `statusTimeStamp` the end of the newest reading counted; `billToDate` what that
  usage costs so far, when the rate plan can price it to date (`espi.usage_model` says how).

The id is the section's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from lxml import etree

from gridshare.espi import atom
from gridshare.espi.resources import Paths, reading_type, usage_point

NAME: Final = "UsageSummary"
REVENUE_QUALITY: Final = 19
COST_SCALE: Final = 5
NOTE_LENGTH: Final = 256


@dataclass(frozen=True)
class Measurement:
    """A SummaryMeasurement: `value * 10**power_of_ten` of `uom`, measured at `time_stamp` when
    given."""

    power_of_ten: int
    uom: int
    value: int
    time_stamp: datetime | None = None


@dataclass(frozen=True)
class LineItem:
    amount: Decimal
    note: str
    item_kind: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Cost:
    currency: str
    bill: Decimal
    additional: Decimal
    details: tuple[LineItem, ...]


@dataclass(frozen=True)
class Current:
    """The current billing period after the summary's bill (FB 28): the usage so far, as of the
    end of the newest reading counted, and its cost so far (None when the plan cannot price it
    to date) in `currency`."""

    consumption: Measurement | None
    bill_to_date: Decimal | None
    currency: str
    as_of: datetime


@dataclass(frozen=True)
class Summary:
    section_id: str
    start: datetime
    end: datetime
    published: datetime
    updated: datetime
    commodity: int | None
    consumption: Measurement | None
    cost: Cost | None
    agency: str | None
    current: Current | None = None


def measurement(
    value: Decimal, units: str, time_stamp: datetime | None = None
) -> Measurement | None:
    """`value` of our `units` as a SummaryMeasurement, None for units ESPI has no code for."""
    unit = reading_type.UNITS.get(units)
    if unit is None:
        return None
    scaled = value.scaleb(unit.shift).normalize()
    exponent = scaled.as_tuple().exponent
    assert isinstance(exponent, int)  # decimals from the database are finite
    power = next(m for m in reading_type.MULTIPLIERS if m <= min(exponent, 0))
    return Measurement(power, unit.uom, int(scaled.scaleb(-power)), time_stamp)


def item_kind(types: list[str], amount: Decimal) -> int:
    """The ItemKind of a Bill Section line item (CDS-WG3-01 §10.6.8 types)."""
    credit = amount < 0
    if "tax" in types:
        return 5
    if "usage_charge" in types:
        if "supply" in types:
            return 6 if credit else 1
        if "distribution" in types:
            return 7 if credit else 2
        return 3
    if "fixed_charge" in types:
        return 8 if credit else 4
    return 10


def collection(usage_point_id: str) -> tuple[str, ...]:
    return (*usage_point.path(usage_point_id), NAME)


def path(usage_point_id: str, section_id: str) -> tuple[str, ...]:
    return (*collection(usage_point_id), section_id)


def entry(paths: Paths, usage_point_id: str, summary: Summary) -> atom.Entry:
    at = path(usage_point_id, summary.section_id)
    return atom.Entry(
        atom_id=paths.atom_id(at),
        title="Billing period summary",
        links=(paths.collection("up", collection(usage_point_id)), paths.member("self", at)),
        content=element(summary),
        published=summary.published,
        updated=summary.updated,
    )


def element(summary: Summary) -> etree._Element:
    """`espi:UsageSummary`, fields in the XSD sequence order."""
    made = etree.Element(atom.espi(NAME))
    _period(made, "billingPeriod", summary.start, summary.end)
    cost, current = summary.cost, summary.current
    to_date = None if current is None else current.bill_to_date
    if cost is not None:
        _text(made, "billLastPeriod", _amount(cost.bill))
    if to_date is not None:
        _text(made, "billToDate", _amount(to_date))
    if cost is not None:
        _text(made, "costAdditionalLastPeriod", _amount(cost.additional))
        for item in cost.details:
            _line_item(made, item)
    if cost is not None:
        _text(made, "currency", reading_type.CURRENCIES.get(cost.currency, 0))
    elif current is not None and to_date is not None:
        _text(made, "currency", reading_type.CURRENCIES.get(current.currency, 0))
    if summary.consumption is not None:
        _measurement(made, "overallConsumptionLastPeriod", summary.consumption)
    if current is not None and current.consumption is not None:
        _measurement(made, "currentBillingPeriodOverAllConsumption", current.consumption)
    _text(made, "qualityOfReading", REVENUE_QUALITY)
    status = summary.updated if current is None else current.as_of
    _text(made, "statusTimeStamp", int(status.timestamp()))
    if summary.commodity is not None:
        _text(made, "commodity", summary.commodity)
    if summary.agency is not None:
        source = etree.SubElement(made, atom.espi("billingChargeSource"))
        _text(source, "agencyName", summary.agency[:NOTE_LENGTH])
    return made


def _amount(value: Decimal) -> int:
    """An amount in 10**-5 of the currency (our amounts have at most five decimals)."""
    return int(value.scaleb(COST_SCALE).to_integral_value())


def _text(parent: etree._Element, tag: str, value: object) -> None:
    etree.SubElement(parent, atom.espi(tag)).text = str(value)


def _period(parent: etree._Element, tag: str, start: datetime, end: datetime) -> None:
    period = etree.SubElement(parent, atom.espi(tag))
    _text(period, "duration", int((end - start).total_seconds()))
    _text(period, "start", int(start.timestamp()))


def _measurement(parent: etree._Element, tag: str, measured: Measurement) -> None:
    made = etree.SubElement(parent, atom.espi(tag))
    _text(made, "powerOfTenMultiplier", measured.power_of_ten)
    if measured.time_stamp is not None:
        _text(made, "timeStamp", int(measured.time_stamp.timestamp()))
    _text(made, "uom", measured.uom)
    _text(made, "value", measured.value)


def _line_item(parent: etree._Element, item: LineItem) -> None:
    made = etree.SubElement(parent, atom.espi("costAdditionalDetailLastPeriod"))
    _text(made, "amount", _amount(item.amount))
    _text(made, "note", item.note[:NOTE_LENGTH])
    _text(made, "itemKind", item.item_kind)
    _period(made, "itemPeriod", item.start, item.end)
