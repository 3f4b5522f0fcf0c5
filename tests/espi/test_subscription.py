"""Green Button usage through a Subscription's Access (`espi.subscription`, `espi.usage_model`):
the Batch/Subscription feed validates against the XSDs and passes the GBA function-block checks,
forms the DIGEST §3 link graph, reads back (with greenbutton-objects) to exactly the stored
readings, shows no other customer's data, follows the query parameters, function blocks and
HistoryLength, prices readings as the bills do, adds the current billing period to the latest
bill's UsageSummary (FB 28); member and collection readers agree with the batch; ids the
Subscription does not reach are not found."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from greenbutton_objects import parse as gbo  # type: ignore[import-untyped]
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.espi import atom, subscription
from gridshare.espi.query import Query
from gridshare.espi.resources.meter_reading import meter_reading_id
from gridshare.espi.subscription import NotFound
from gridshare.grants.access import Access
from gridshare.store.db import session_factory
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.bills import BillCostDetail, BillLineItem, BillSection
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import ServicePointContract
from gridshare.store.tables.usage import Channel
from gridshare.utility.tariffs import IntervalUsage, Tariff, bill_section, parse_tariff
from tests.demo.conftest import SmallDemo
from tests.espi import xml_checks as xc
from tests.espi.usage_setup import (
    ALL_BLOCKS,
    Subscriber,
    batch,
    periods,
    stored_readings,
    subscriptions,
)

JANUARY = {"segment_start": "2025-01-06T00:00:00Z", "segment_end": "2025-01-20T00:00:00Z"}
"""A two-week grant: small feeds for the Schematron checks (XSLT 1.0, some checks quadratic)."""
USERS = ("home", "solar", "business", "tenant")


@pytest.fixture(scope="module")
def subscribe(demo: SmallDemo) -> Iterator[Callable[..., Subscriber]]:
    yield subscriptions(demo)


Args = tuple[Settings, Access, str, frozenset[int], None]


def _reader_args(demo: SmallDemo, who: Subscriber) -> Args:
    """What every reader takes after the session: settings, Access, subscription id, function
    blocks, no HistoryLength."""
    return (demo.settings, who.access, who.grant_id, ALL_BLOCKS, None)


# --- schema, Schematron, graph ------------------------------------------------------------------


@pytest.mark.req("ESPI-FB-1", "ESPI-FB-4", "ESPI-FB-5")
@pytest.mark.parametrize(
    ("username", "window"),
    [*((u, JANUARY) for u in USERS), ("rural", {})],
    ids=[*USERS, "rural"],
)
def test_the_batch_validates_and_passes_the_function_block_checks(
    demo: SmallDemo,
    subscribe: Callable[..., Subscriber],
    username: str,
    window: dict[str, str],
) -> None:
    """Two weeks of interval data (monthly reads: the whole history, so that whole read periods
    fall inside it)."""
    document = batch(demo, subscribe(username, **window))
    xc.assert_valid(document)
    xc.assert_schematron(document, "01", "04", "05", "15", "16")
    kinds = Counter(etree.QName(c).localname for c in xc.parse(document).iterfind(_CONTENT, xc.NS))
    assert kinds["UsagePoint"] and kinds["MeterReading"] and kinds["IntervalBlock"]
    assert kinds["UsageSummary"] and kinds["LocalTimeParameters"] == 1


_CONTENT = "atom:entry/atom:content/*"


def test_the_checks_catch_what_is_wrong(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    """The validators are not vacuous: an element out of its XSD order, a missing reading start
    and an IntervalBlock pointing nowhere are reported."""
    document = batch(demo, subscribe("home", **JANUARY))
    tree = xc.parse(document)
    kind = tree.find(".//espi:ReadingType/espi:kind", xc.NS)
    assert kind is not None
    kind.getparent().insert(0, kind)  # type: ignore[union-attr]
    assert any("is not expected" in e for e in xc.schema_errors(etree.tostring(tree)))
    tree = xc.parse(document)
    first = tree.find(".//espi:IntervalReading/espi:timePeriod/espi:start", xc.NS)
    assert first is not None
    first.text = "1"
    failed = {f.test_id for f in xc.schematron_failures(etree.tostring(tree), "04")}
    assert "D042" in failed
    tree = xc.parse(document)
    block = xc.entries(tree, "IntervalBlock")[0]
    up = next(link for link in block.iterfind("atom:link", xc.NS) if link.get("rel") == "up")
    up.set("href", up.get("href", "") + "x")
    failed = {f.test_id for f in xc.schematron_failures(etree.tostring(tree), "04")}
    assert "D037" in failed


def test_every_kind_of_entry_validates_alone(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    who = subscribe("home")
    tree = xc.parse(batch(demo, who))
    point = _id(xc.link(xc.entries(tree, "UsagePoint")[0], "self"))
    reading_entry = next(
        e
        for e in xc.entries(tree, "MeterReading")
        if xc.link(e, "up").endswith(f"/UsagePoint/{point}/MeterReading")
    )
    reading = _id(xc.link(reading_entry, "self"))
    block = next(
        _id(xc.link(e, "self"))
        for e in xc.entries(tree, "IntervalBlock")
        if f"/MeterReading/{reading}/" in xc.link(e, "self")
    )
    section = next(
        _id(xc.link(e, "self"))
        for e in xc.entries(tree, "UsageSummary")
        if f"/UsagePoint/{point}/" in xc.link(e, "self")
    )
    rt_href = next(h for h in xc.links(reading_entry, "related") if "/ReadingType/" in h)
    ltp_href = xc.entries(tree, "LocalTimeParameters")[0]
    args = _reader_args(demo, who)
    settings = demo.settings
    with session_factory(demo.engine)() as session:
        made = [
            subscription.Subscription.open(session, *args).usage_point_member(point),
            subscription.Subscription.open(session, *args).meter_reading_member(point, reading),
            subscription.Subscription.open(session, *args).interval_block_member(
                point, reading, block
            ),
            subscription.Subscription.open(session, *args).usage_summary_member(point, section),
            subscription.Subscription.open(session, *args).reading_type_member(_id(rt_href)),
            subscription.local_time_parameters_entry(settings, _id(xc.link(ltp_href, "self"))),
        ]
    by_self = {xc.link(e, "self"): e for e in xc.entries(tree)}
    for entry in made:
        document = atom.entry_document(entry)
        xc.assert_valid(document)
        alone = xc.parse(document)
        in_batch = by_self[xc.link(alone, "self")]
        assert _canonical_content(alone) == _canonical_content(in_batch)


def _canonical_content(entry: etree._Element) -> bytes:
    found = entry.find("atom:content", xc.NS)
    assert found is not None
    return bytes(etree.tostring(found, method="c14n"))


def test_the_feed_forms_the_link_graph(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    """DIGEST §3: child.up == parent.related, one LocalTimeParameters, unique self hrefs and atom
    ids, interval start == first reading start, `up` without an id; the whole feed (six months,
    DST days included) validates."""
    document = batch(demo, subscribe("home"))
    xc.assert_valid(document)
    tree = xc.parse(document)
    every = xc.entries(tree)
    selfs = [xc.link(e, "self") for e in every]
    ids = [e.findtext("atom:id", namespaces=xc.NS) for e in every]
    assert len(set(selfs)) == len(selfs) and len(set(ids)) == len(ids)
    assert all(i and i.startswith("urn:uuid:") for i in ids)
    points = xc.entries(tree, "UsagePoint")
    ltps = xc.entries(tree, "LocalTimeParameters")
    assert len(ltps) == 1
    ltp = xc.link(ltps[0], "self")
    related = {h for p in points for h in xc.links(p, "related")}
    for point in points:
        assert sum(h == ltp for h in xc.links(point, "related")) == 1
        assert not any(
            h.endswith("ElectricPowerQualitySummary") for h in xc.links(point, "related")
        )
    types = {xc.link(e, "self") for e in xc.entries(tree, "ReadingType")}
    readings = xc.entries(tree, "MeterReading")
    reading_related = Counter(h for r in readings for h in xc.links(r, "related"))
    for reading in readings:
        assert xc.link(reading, "up") in related
        assert len(set(xc.links(reading, "related")) & types) == 1
    for summary in xc.entries(tree, "UsageSummary"):
        assert xc.link(summary, "up") in related
    for block in xc.entries(tree, "IntervalBlock"):
        assert reading_related[xc.link(block, "up")] == 1
        content = xc.content(block, "IntervalBlock")
        assert content is not None
        start = content.findtext("espi:interval/espi:start", namespaces=xc.NS)
        first = content.findtext(
            "espi:IntervalReading/espi:timePeriod/espi:start", namespaces=xc.NS
        )
        assert start == first
        assert xc.link(block, "self").rsplit("/", 1)[0] == xc.link(block, "up")
    for entry in every:
        assert xc.link(entry, "self").rsplit("/", 1)[0] == xc.link(entry, "up")


# --- the readings ------------------------------------------------------------------------------


def test_greenbutton_objects_reads_back_the_stored_readings(
    demo: SmallDemo, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    who = subscribe("home")
    path = tmp_path / "home.xml"
    path.write_bytes(batch(demo, who, frozenset({1, 4, 5, 10})))
    read: dict[tuple[str, str], set[tuple[datetime, Decimal]]] = {}
    for up in gbo.parse_feed(str(path)):
        point = _id(up.link_self)
        for mr in up.meterReadings:
            multiplier = mr.readingType.powerOfTenMultiplier
            values = {
                (ir.timePeriod.start, Decimal(ir._value).scaleb(multiplier))
                for ir in mr.intervalReadings
            }
            read[(point, _id(mr.link_self))] = values
    assert read == stored_readings(demo, who.customer_id)
    assert sum(len(v) for v in read.values()) > 10_000


@pytest.mark.req("ESPI-FB-12")
def test_costs_add_up_to_the_bills_usage_charges(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    """FB 12: each reading's cost is its usage at the rate plan's rate of its time, so a billing
    period's costs add up to the Bill Section's usage charges (each rounded to the cent)."""
    who = subscribe("home")
    tree = xc.parse(batch(demo, who, frozenset({1, 4, 5, 12})))
    costs: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for block in xc.entries(tree, "IntervalBlock"):
        point = xc.link(block, "self").split("/UsagePoint/")[1].split("/")[0]
        for reading in block.iterfind(
            "atom:content/espi:IntervalBlock/espi:IntervalReading", xc.NS
        ):
            cost = reading.findtext("espi:cost", namespaces=xc.NS)
            start = reading.findtext("espi:timePeriod/espi:start", namespaces=xc.NS)
            assert cost is not None and start is not None
            costs[point].append((int(start), int(cost)))
    assert costs
    checked = 0
    tz = demo.settings.tz
    with session_factory(demo.engine)() as session:
        for section in session.scalars(
            select(BillSection).where(BillSection.account_id.in_(_accounts(session, who)))
        ):
            if "electric" not in section.section_types:
                continue
            point = session.scalars(
                select(ServicePointContract.service_point_id).where(
                    ServicePointContract.contract_id == section.contract_id
                )
            ).one()
            first = datetime.combine(section.start_date, datetime.min.time(), tz).timestamp()
            after = datetime.combine(
                section.end_date + timedelta(days=1), datetime.min.time(), tz
            ).timestamp()
            total = sum(c for s, c in costs[point] if first <= s < after)
            items = session.scalars(
                select(BillLineItem).where(BillLineItem.section_id == section.id)
            ).all()
            charged = [i.cost for i in items if "usage_charge" in i.types]
            tolerance = Decimal("0.005") * len(charged) + Decimal("0.00001") * len(costs[point])
            assert abs(Decimal(total).scaleb(-5) - sum(charged)) <= tolerance, section.id
            checked += 1
    assert checked >= 4


def _accounts(session: Session, who: Subscriber) -> list[str]:
    return list(session.scalars(select(Account.id).where(Account.customer_id == who.customer_id)))


def _id(href: str) -> str:
    return href.rsplit("/", 1)[1]


# --- what a Subscription reaches ----------------------------------------------------------------


def test_no_customer_sees_another_customers_usage(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    """For every demo customer: each UsagePoint is a point that served one of its contracts, each
    MeterReading one of its meters' channels there, each reading inside the periods that meter
    measured its contracts; another customer's UsagePoint is not found."""
    with session_factory(demo.engine)() as session:
        usernames = sorted(session.scalars(select(Customer.username)))
        owned = {u: periods(session, _customer(session, u), demo.settings.tz) for u in usernames}
        channels = session.scalars(select(Channel)).all()
    seen_points: dict[str, set[str]] = {}
    for username in usernames:
        who = subscribe(username, **JANUARY)
        mine = owned[username]
        readings = {
            (point, meter_reading_id(c.meter_id, c.kind, c.direction, c.interval_seconds)): spans
            for (meter, point), spans in mine.items()
            for c in channels
            if c.meter_id == meter
        }
        tree = xc.parse(batch(demo, who))
        points = {_id(xc.link(e, "self")) for e in xc.entries(tree, "UsagePoint")}
        assert points <= {point for _, point in mine}
        seen_points[username] = points
        for block in xc.entries(tree, "IntervalBlock"):
            parts = xc.link(block, "self").split("/")
            spans = readings[parts[-5], parts[-3]]
            for reading in block.iterfind(
                "atom:content/espi:IntervalBlock/espi:IntervalReading/espi:timePeriod", xc.NS
            ):
                start = datetime.fromtimestamp(
                    int(reading.findtext("espi:start", namespaces=xc.NS) or ""), UTC
                )
                end = start + timedelta(
                    seconds=int(reading.findtext("espi:duration", namespaces=xc.NS) or "")
                )
                assert any(start >= a and (b is None or end <= b) for a, b in spans)
    assert sum(bool(p) for p in seen_points.values()) >= 6
    home = subscribe("home", **JANUARY)
    others = set().union(*(p for u, p in seen_points.items() if u != "home")) - seen_points["home"]
    assert others
    with session_factory(demo.engine)() as session:
        for point in sorted(others):
            with pytest.raises(NotFound) as refused:
                subscription.Subscription.open(
                    session, *_reader_args(demo, home)
                ).usage_point_member(point)
            assert str(refused.value) == str(NotFound("UsagePoint", point))


def _customer(session: Session, username: str) -> str:
    return session.scalars(select(Customer.id).where(Customer.username == username)).one()


@pytest.mark.req("ESPI-FB-10", "ESPI-FB-12", "ESPI-FB-15", "ESPI-FB-16")
def test_function_blocks_choose_commodities_costs_and_summaries(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    who = subscribe("home", **JANUARY)

    def kinds(blocks: set[int]) -> tuple[set[str], int, set[str]]:
        tree = xc.parse(batch(demo, who, frozenset(blocks)))
        services = {
            e.findtext(
                "atom:content/espi:UsagePoint/espi:ServiceCategory/espi:kind", namespaces=xc.NS
            )
            or ""
            for e in xc.entries(tree)
            if xc.content(e, "UsagePoint") is not None
        }
        costs = len(tree.findall(".//espi:IntervalReading/espi:cost", xc.NS))
        summary_fields = {
            etree.QName(child).localname
            for summary in tree.iterfind(".//espi:UsageSummary", xc.NS)
            for child in summary
        }
        return services, costs, summary_fields

    assert kinds({1, 4, 5}) == ({"0"}, 0, set())
    assert kinds({1, 4, 10})[0] == {"1"}
    services, costs, fields = kinds({1, 4, 5, 10, 12, 15})
    assert services == {"0", "1"} and costs > 0
    assert "overallConsumptionLastPeriod" in fields and "billLastPeriod" not in fields
    _, _, fields = kinds({1, 4, 5, 16})
    assert {"billLastPeriod", "costAdditionalLastPeriod", "currency"} <= fields
    assert "costAdditionalDetailLastPeriod" in fields
    without_items = subscribe("home", include_bill_section_line_items=False, **JANUARY)
    tree = xc.parse(batch(demo, without_items, frozenset({1, 4, 5, 16})))
    assert tree.find(".//espi:costAdditionalLastPeriod", xc.NS) is not None
    assert tree.find(".//espi:costAdditionalDetailLastPeriod", xc.NS) is None


def test_history_length_clips_the_readings_and_summaries(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    who = subscribe("home")
    since = datetime(2025, 2, 10, 12, tzinfo=UTC)
    tree = xc.parse(batch(demo, who, history_start=since))
    starts = [
        int(s.text or "")
        for s in tree.iterfind(".//espi:IntervalReading/espi:timePeriod/espi:start", xc.NS)
    ]
    assert starts and min(starts) >= since.timestamp()
    assert min(starts) - since.timestamp() < 3600
    for period in tree.iterfind(".//espi:UsageSummary/espi:billingPeriod", xc.NS):
        end = int(period.findtext("espi:start", namespaces=xc.NS) or "") + int(
            period.findtext("espi:duration", namespaces=xc.NS) or ""
        )
        assert end > since.timestamp()


SHARED_UNTIL = "2025-03-20"
"""A grant of data until 20 March (`sync_until`): the March bills lie beyond it, so the current
billing period (FB 28) is 1-19 March, after the February bills."""
SINCE_FEBRUARY = datetime(2025, 2, 20, tzinfo=UTC)
"""A HistoryLength reaching into February: each UsagePoint's one UsageSummary is its February
bill's, the one the current period follows."""
CURRENT_FIELDS = {"billToDate", "currentBillingPeriodOverAllConsumption"}


@pytest.mark.req("ESPI-FB-28")
def test_the_latest_bill_carries_the_current_billing_period(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    """FB 28: the February bill's UsageSummary carries the usage since its end, as of the newest
    reading the grant shares, equal to the stored readings, and its cost so far at the rate plan,
    priced as the bills are (the same pricing gives the stored February total); the tiered gas
    plan cannot be priced before its period ends: usage only. Without FB 28 nothing changes."""
    who = subscribe("home", sync_until=SHARED_UNTIL)
    electric = frozenset({1, 3, 4, 5, 15, 16, 28})
    document = batch(demo, who, electric, history_start=SINCE_FEBRUARY)
    xc.assert_valid(document)
    xc.assert_schematron(document, "15", "16", "28")
    tz = demo.settings.tz
    until = datetime.combine(date.fromisoformat(SHARED_UNTIL), time(), tz)
    both = xc.parse(batch(demo, who, electric | {10}, history_start=SINCE_FEBRUARY))
    summaries = {
        _id(xc.link(e, "self")): xc.content(e, "UsageSummary")
        for e in xc.entries(both, "UsageSummary")
    }
    checked = set()
    with session_factory(demo.engine)() as session:
        for commodity, kind in (
            ("electric", "electric_usage"),
            ("natural_gas", "natural_gas_usage"),
        ):
            february, point, plan = _last_bill(session, who, commodity, until.date())
            summary = summaries[february.id]
            assert summary is not None
            read = _readings(demo, session, who, point, kind)
            in_march = _between(read, _local(february.end_date + timedelta(days=1), tz), until)
            used = summary.find("espi:currentBillingPeriodOverAllConsumption", xc.NS)
            assert used is not None
            assert _measured(used) == sum(v for _, v in in_march) > 0
            assert used.findtext("espi:timeStamp", namespaces=xc.NS) == str(int(until.timestamp()))
            assert summary.findtext("espi:statusTimeStamp", namespaces=xc.NS) == str(
                int(until.timestamp())
            )
            tariff = parse_tariff(plan.tariff)
            if tariff.structure == "tiered":
                assert summary.find("espi:billToDate", xc.NS) is None
                checked.add(commodity)
                continue
            in_february = _between(
                read, _local(february.start_date, tz), _local(february.end_date, tz, 1)
            )
            stored_total = next(
                d.cost
                for d in session.scalars(
                    select(BillCostDetail).where(BillCostDetail.section_id == february.id)
                )
                if "overall_total" in d.types
            )
            assert _priced(tariff, february.start_date, february.end_date, in_february, tz) == (
                stored_total
            )
            to_date = _priced(
                tariff, until.date().replace(day=1), until.date() - timedelta(days=1), in_march, tz
            )
            assert int(summary.findtext("espi:billToDate", namespaces=xc.NS) or "") == int(
                to_date.scaleb(5)
            )
            assert 0 < to_date < stored_total
            checked.add(commodity)
    assert checked == {"electric", "natural_gas"}
    without = xc.parse(batch(demo, who, frozenset({1, 3, 4, 5, 10, 15, 16})))
    named = {etree.QName(c).localname for c in without.iterfind(".//espi:UsageSummary/*", xc.NS)}
    assert not named & CURRENT_FIELDS and "billLastPeriod" in named


def test_only_the_latest_bill_of_an_open_contract_carries_the_current_period(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    """Older bills, and the bills of a contract whose service ended with its final bill (the home
    customer moved in November), have no current period."""
    who = subscribe("home", sync_until=SHARED_UNTIL)
    tree = xc.parse(batch(demo, who, frozenset({1, 3, 4, 5, 15, 16, 28})))
    carrying = [
        _id(xc.link(e, "self"))
        for e in xc.entries(tree, "UsageSummary")
        if e.find("atom:content/espi:UsageSummary/espi:billToDate", xc.NS) is not None
    ]
    with session_factory(demo.engine)() as session:
        february, _, _ = _last_bill(session, who, "electric", date(2025, 3, 20))
    assert carrying == [february.id]
    assert len(xc.entries(tree, "UsageSummary")) > 3


def _last_bill(
    session: Session, who: Subscriber, commodity: str, until: date
) -> tuple[BillSection, str, RatePlan]:
    """The Customer's latest `commodity` Bill Section ending before `until`, the service point
    its contract is served through and its rate plan."""
    sections = [
        s
        for s in session.scalars(
            select(BillSection).where(BillSection.account_id.in_(_accounts(session, who)))
        )
        if commodity in s.section_types and s.end_date < until
    ]
    last = max(sections, key=lambda s: s.end_date)
    point = session.scalars(
        select(ServicePointContract.service_point_id).where(
            ServicePointContract.contract_id == last.contract_id
        )
    ).one()
    plan = session.scalars(
        select(RatePlan)
        .join(ServiceContract, ServiceContract.rate_plan_id == RatePlan.id)
        .where(ServiceContract.id == last.contract_id)
    ).one()
    return last, point, plan


def _readings(
    demo: SmallDemo, session: Session, who: Subscriber, point: str, kind: str
) -> list[tuple[datetime, Decimal, int]]:
    """The stored readings (start, value in the ESPI uom, interval) of the point's `kind`
    channel."""
    channel = session.scalars(
        select(Channel)
        .join(MeterInstallation, MeterInstallation.meter_id == Channel.meter_id)
        .where(MeterInstallation.service_point_id == point, Channel.kind == kind)
    ).one()
    key = meter_reading_id(channel.meter_id, kind, channel.direction, channel.interval_seconds)
    stored = stored_readings(demo, who.customer_id)[point, key]
    return sorted((start, value, channel.interval_seconds) for start, value in stored)


def _between(
    read: list[tuple[datetime, Decimal, int]], start: datetime, end: datetime
) -> list[tuple[datetime, Decimal]]:
    return [
        (s, v) for s, v, interval in read if s >= start and s + timedelta(seconds=interval) <= end
    ]


def _local(day: date, tz: ZoneInfo, after: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=after), time(), tz)


def _measured(measured: etree._Element) -> Decimal:
    """A SummaryMeasurement's value in its uom."""
    power = int(measured.findtext("espi:powerOfTenMultiplier", namespaces=xc.NS) or "")
    return Decimal(int(measured.findtext("espi:value", namespaces=xc.NS) or "")).scaleb(power)


def _priced(
    tariff: Tariff, first: date, last: date, read: list[tuple[datetime, Decimal]], tz: ZoneInfo
) -> Decimal:
    """The plan's bill for readings given in the ESPI uom (Wh, therm)."""
    shift = 3 if tariff.units == "kWh" else 0
    usage = IntervalUsage.from_decimals(
        [s.astimezone(tz) for s, _ in read], [v.scaleb(-shift) for _, v in read]
    )
    return bill_section(tariff, first, last, usage).total


# --- readers and queries -------------------------------------------------------------------------


def _blocks(demo: SmallDemo, who: Subscriber, point: str, reading: str, query: Query) -> list[str]:
    with session_factory(demo.engine)() as session:
        return [
            e.atom_id
            for e in subscription.Subscription.open(
                session, *_reader_args(demo, who)
            ).interval_blocks(query, point, reading)
        ]


def _first_reading(demo: SmallDemo, who: Subscriber) -> tuple[str, str]:
    tree = xc.parse(batch(demo, who, query=Query(max_results=5)))
    reading = xc.entries(tree, "MeterReading")[0]
    parts = xc.link(reading, "self").split("/")
    return parts[-3], parts[-1]


@pytest.mark.parametrize("form", ["xs:dateTime", "epoch seconds"])
def test_published_min_and_max_keep_the_blocks_inside_them(
    demo: SmallDemo, subscribe: Callable[..., Subscriber], form: str
) -> None:
    """Green Button QRY001: min = start of block 2, max = end of block N-1 keeps N-2 blocks."""
    who = subscribe("home")
    point, reading = _first_reading(demo, who)
    with session_factory(demo.engine)() as session:
        every = list(
            subscription.Subscription.open(session, *_reader_args(demo, who)).interval_blocks(
                Query(), point, reading
            )
        )
    n = len(every)
    assert n > 20

    def bounds(entry: atom.Entry) -> tuple[int, int]:
        start = int(entry.content.findtext(f"{{{xc.ESPI}}}interval/{{{xc.ESPI}}}start") or "")
        duration = int(entry.content.findtext(f"{{{xc.ESPI}}}interval/{{{xc.ESPI}}}duration") or "")
        return start, start + duration

    low, high = bounds(every[1])[0], bounds(every[n - 2])[1]

    def shown(moment: int) -> str:
        if form == "epoch seconds":
            return str(moment)
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    query = Query.parse({"published-min": shown(low), "published-max": shown(high)})
    assert _blocks(demo, who, point, reading, query) == [e.atom_id for e in every[1 : n - 1]]
    tree = xc.parse(batch(demo, who, query=query))
    assert len(xc.entries(tree, "IntervalBlock")) < 2 * n
    assert xc.entries(tree, "UsagePoint") and xc.entries(tree, "LocalTimeParameters")


def test_start_index_max_results_and_depth_page_the_entries(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    who = subscribe("tenant", **JANUARY)
    every = xc.entries(xc.parse(batch(demo, who)))
    ids = [e.findtext("atom:id", namespaces=xc.NS) for e in every]

    def page(**params: str) -> list[str | None]:
        entries = xc.entries(xc.parse(batch(demo, who, query=Query.parse(params))))
        return [e.findtext("atom:id", namespaces=xc.NS) for e in entries]

    assert page(**{"start-index": "3", "max-results": "4"}) == ids[2:6]
    assert page(**{"depth": "2", "max-results": "5"}) == ids[:2]
    assert page(**{"start-index": "1"}) == ids
    assert page(**{"max-results": "0"}) == []


def test_updated_filters_select_blocks_and_summaries_by_their_changes(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    who = subscribe("tenant", **JANUARY)
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tree = xc.parse(batch(demo, who, query=Query.parse({"updated-min": later})))
    assert not xc.entries(tree, "IntervalBlock") and not xc.entries(tree, "UsageSummary")
    assert not xc.entries(tree, "MeterReading")  # none of their blocks is kept
    assert xc.entries(tree, "UsagePoint") and xc.entries(tree, "LocalTimeParameters")
    with session_factory(demo.engine)() as session:
        points = list(
            subscription.Subscription.open(session, *_reader_args(demo, who)).usage_points(
                Query.parse({"updated-min": later})
            )
        )
    assert points == []


def test_blocks_are_read_in_batches(
    demo: SmallDemo, subscribe: Callable[..., Subscriber], monkeypatch: pytest.MonkeyPatch
) -> None:
    who = subscribe("home")
    point, reading = _first_reading(demo, who)
    whole = _blocks(demo, who, point, reading, Query())
    monkeypatch.setattr(subscription, "BATCH", 7)
    assert _blocks(demo, who, point, reading, Query()) == whole
    assert len(whole) > 3 * 7


def test_a_one_usage_point_batch_and_the_collections_agree_with_the_batch(
    demo: SmallDemo, subscribe: Callable[..., Subscriber]
) -> None:
    who = subscribe("home", **JANUARY)
    whole = xc.parse(batch(demo, who))
    point = _id(xc.link(xc.entries(whole, "UsagePoint")[1], "self"))
    one = xc.parse(batch(demo, who, usage_point_id=point))
    mine = [e for e in xc.entries(whole) if f"/UsagePoint/{point}" in xc.link(e, "self")]
    assert [
        xc.link(e, "self") for e in xc.entries(one) if "/UsagePoint/" in xc.link(e, "self")
    ] == [xc.link(e, "self") for e in mine]
    args = _reader_args(demo, who)
    with session_factory(demo.engine)() as session:
        readings = list(
            subscription.Subscription.open(session, *args).meter_readings(Query(), point)
        )
        summaries = list(
            subscription.Subscription.open(session, *args).usage_summaries(Query(), point)
        )
        types = list(subscription.Subscription.open(session, *args).reading_types(Query()))
        quality = list(
            subscription.Subscription.open(session, *args).power_quality_summaries(Query(), point)
        )
        ltps = list(subscription.local_time_parameters(demo.settings, Query()))
    assert {e.atom_id for e in readings} == {
        e.findtext("atom:id", namespaces=xc.NS)
        for e in mine
        if xc.content(e, "MeterReading") is not None
    }
    assert {e.atom_id for e in summaries} == {
        e.findtext("atom:id", namespaces=xc.NS)
        for e in mine
        if xc.content(e, "UsageSummary") is not None
    }
    assert {e.atom_id for e in types} == {
        e.findtext("atom:id", namespaces=xc.NS) for e in xc.entries(whole, "ReadingType")
    }
    assert quality == [] and len(ltps) == 1


def test_unreached_ids_are_not_found(demo: SmallDemo, subscribe: Callable[..., Subscriber]) -> None:
    who = subscribe("home", **JANUARY)
    point, reading = _first_reading(demo, who)
    args = _reader_args(demo, who)
    with session_factory(demo.engine)() as session:
        block = next(
            subscription.Subscription.open(session, *args).interval_blocks(Query(), point, reading)
        )
        block_id = _id(next(link.href for link in block.links if link.rel == "self"))
        outside = str(int(block_id) - 30 * 86400)
        calls: list[Callable[[], object]] = [
            lambda: subscription.Subscription.open(session, *args).usage_point_member("sp_nope"),
            lambda: subscription.Subscription.open(session, *args).meter_readings(
                Query(), "sp_nope"
            ),
            lambda: subscription.Subscription.open(session, *args).meter_reading_member(
                point, "0" * 16
            ),
            lambda: subscription.Subscription.open(session, *args).interval_blocks(
                Query(), point, "x"
            ),
            lambda: subscription.Subscription.open(session, *args).interval_block_member(
                point, reading, outside
            ),
            lambda: subscription.Subscription.open(session, *args).interval_block_member(
                point, reading, "-1"
            ),
            lambda: subscription.Subscription.open(session, *args).usage_summary_member(
                point, "sec_nope"
            ),
            lambda: subscription.Subscription.open(session, *args).power_quality_summary_member(
                point, "1"
            ),
            lambda: subscription.Subscription.open(session, *args).reading_type_member("0" * 16),
            lambda: subscription.local_time_parameters_entry(demo.settings, "0" * 16),
            lambda: subscription.Subscription.open(session, *args).batch_feed(Query(), "sp_nope"),
        ]
        for call in calls:
            with pytest.raises(NotFound):
                call()
        found = subscription.Subscription.open(session, *args).interval_block_member(
            point, reading, block_id
        )
        assert atom.entry_document(found) == atom.entry_document(block)
