"""Aggregated usage (CDS-WG3-01 §4.11, §4.12, §10.7.7, §12.3) over HTTP: a Usage Query naming
`aggregation_numbers` lists the Aggregations' summed usage, never their members' own usage."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import or_, select

from gridshare import urls
from gridshare.app import create_app
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import Aggregation, AggregationMember
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility import codec
from gridshare.utility.usage import local_day
from tests.cds.data_setup import DataWorld, data_world
from tests.demo.conftest import SmallDemo

SCOPES = ["cds_query_usage_1", "cds_query_aggregations_1", "cds_aggregation_consent_1"]
BUILDING = "BLDG-DAVIS-0120"
EARLIER = "AAA-TEST-HOME"
"""A test Aggregation whose number sorts before the building's: the `home` customer's meters."""
SEGMENT = "usage_segments"
SINCE = "2024-01-01T00:00:00Z"
"""Before the small demo's first day (the default `segment_start` is 13 months before today)."""
SUMMED = ("electric_usage", "natural_gas_usage", "water_usage")
KEYS = {"electric_usage": "eu", "natural_gas_usage": "gu", "water_usage": "wu"}


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    """A threshold of one Customer, so every Aggregation is anonymous enough."""
    found = data_world(demo, SCOPES)
    settings = demo.settings.model_copy(update={"aggregation_minimum_customers": 1})
    with found.session() as session:
        session.add(
            Aggregation(
                id="agg_test_home",
                aggregation_number=EARLIER,
                name="Home test group",
                types=["listed"],
                details={},
                addresses=[],
            )
        )
        session.flush()
        account = session.scalars(
            select(Account.id)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Customer.username == "home")
        ).first()
        session.add(AggregationMember(aggregation_id="agg_test_home", account_id=account))
        session.commit()
    yield replace(found, http=TestClient(create_app(settings, demo.engine)))


def _token(world: DataWorld, *numbers: str, **fields: Any) -> dict[str, Any]:
    entry = {"type": "cds_query_usage_1", "aggregation_numbers": list(numbers)}
    return world.direct_token("cds_query_usage_1", [{**entry, "segment_start": SINCE, **fields}])


def _segments(world: DataWorld, token: dict[str, Any], **params: str) -> list[dict[str, Any]]:
    found = []
    for page in world.pages(urls.USAGE_SEGMENTS, token, **params):
        found += page[SEGMENT]
    return found


def _decimal_segments(
    world: DataWorld, token: dict[str, Any], **params: str
) -> list[dict[str, Any]]:
    answer = world.get(urls.USAGE_SEGMENTS, token, **params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = json.loads(answer.text, parse_float=Decimal)
    assert body["next"] is None
    segments: list[dict[str, Any]] = body[SEGMENT]
    return segments


def _aggregation_id(world: DataWorld, number: str) -> str:
    with world.session() as session:
        return session.scalars(
            select(Aggregation.id).where(Aggregation.aggregation_number == number)
        ).one()


def _members(world: DataWorld, aggregation_id: str) -> dict[str, list[tuple[date, date | None]]]:
    """Independently of the server: each member meter of the Aggregation (directly, installed at
    a member point, or measuring a member account's or contract's service) and the local days it
    counts [start, end)."""
    found: dict[str, list[tuple[date, date | None]]] = defaultdict(list)
    with world.session() as session:
        rows = session.scalars(
            select(AggregationMember).where(AggregationMember.aggregation_id == aggregation_id)
        ).all()
        meters = {r.meter_id for r in rows if r.meter_id}
        points = {r.service_point_id for r in rows if r.service_point_id}
        contracts = {r.contract_id for r in rows if r.contract_id}
        accounts = {r.account_id for r in rows if r.account_id}
        for installed in session.scalars(
            select(MeterInstallation).where(
                or_(
                    MeterInstallation.meter_id.in_(meters),
                    MeterInstallation.service_point_id.in_(points),
                )
            )
        ):
            found[installed.meter_id].append((installed.start, installed.end))
        for installed, link in session.execute(
            select(MeterInstallation, ServicePointContract)
            .join(
                ServicePointContract,
                ServicePointContract.service_point_id == MeterInstallation.service_point_id,
            )
            .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
            .where(
                or_(
                    ServicePointContract.contract_id.in_(contracts),
                    ServiceContract.account_id.in_(accounts),
                )
            )
        ):
            start = max(installed.start, link.start)
            ends = [e for e in (installed.end, link.end) if e is not None]
            found[installed.meter_id].append((start, min(ends) if ends else None))
    return found


def _expected(
    world: DataWorld, aggregation_id: str
) -> dict[tuple[int, date], dict[tuple[str, str | None, str], list[Decimal | None]]]:
    """(interval, local day) -> value type -> the sums, computed from the decoded blocks."""
    tz = world.demo.settings.tz
    members = _members(world, aggregation_id)
    sums: dict[tuple[int, date], dict[tuple[str, str | None, str], list[Decimal | None]]] = (
        defaultdict(dict)
    )
    counted: dict[tuple[int, date, tuple[str, str | None, str]], set[str]] = defaultdict(set)
    blocks: dict[tuple[int, date, tuple[str, str | None, str], str], list[Decimal | None]] = {}
    with world.session() as session:
        channels = session.scalars(
            select(Channel).where(
                Channel.meter_id.in_(list(members)),
                Channel.kind.in_(SUMMED),
                Channel.interval_seconds > 0,
            )
        ).all()
        for channel in channels:
            kind = (channel.kind, channel.direction, channel.units)
            for block in session.scalars(
                select(UsageBlock).where(UsageBlock.channel_id == channel.id)
            ):
                day = local_day(block.start, tz)
                if not any(
                    s <= day and (e is None or day < e) for s, e in members[channel.meter_id]
                ):
                    continue
                blocks[channel.interval_seconds, day, kind, channel.meter_id] = (
                    codec.unpack_decimals(block.values)
                )
                counted[channel.interval_seconds, day, kind] = set()
        for channel in channels:
            kind = (channel.kind, channel.direction, channel.units)
            for interval, day, k in list(counted):
                if (
                    k == kind
                    and interval == channel.interval_seconds
                    and any(
                        s <= day and (e is None or day < e) for s, e in members[channel.meter_id]
                    )
                ):
                    counted[interval, day, k].add(channel.meter_id)
    for (interval, day, kind), meters in counted.items():
        total: list[Decimal | None] | None = None
        for meter in meters:
            values = blocks.get((interval, day, kind, meter))
            if values is None:
                length = len(total) if total is not None else 0
                values = [None] * length
            if total is None:
                total = list(values)
            else:
                total = [
                    None if a is None or b is None else a + b
                    for a, b in zip(total, values, strict=False)
                ]
        sums[interval, day][kind] = total or []
    return sums


@pytest.mark.req("WG3-4.11-d", "WG3-4.12-b", "WG3-10.8.8-a")
def test_sums_equal_the_members_values(world: DataWorld) -> None:
    aggregation_id = _aggregation_id(world, BUILDING)
    expected = _expected(world, aggregation_id)
    segments = _decimal_segments(world, _token(world, BUILDING))
    assert len(segments) == len(expected) > 100
    tz = world.demo.settings.tz
    compared = 0
    for segment in segments:
        start = datetime.fromisoformat(segment["segment_start"])
        day = local_day(start, tz)
        interval = segment["interval"]
        assert segment["cds_usagesegment_id"] == f"agg-{aggregation_id}-{interval}-{day:%Y%m%d}"
        assert segment["related_aggregations"] == [aggregation_id]
        wanted = expected[interval, day]
        kinds = [(f["type"], f.get("direction"), f["units"]) for f in segment["formats"]]
        assert sorted(kinds, key=str) == sorted(wanted, key=str)
        for index, kind in enumerate(kinds):
            got = [None if v[index] is None else v[index][KEYS[kind[0]]] for v in segment["values"]]
            assert [None if g is None else Decimal(g) for g in got] == wanted[kind]
            compared += sum(g is not None for g in got)
    assert compared > 1000


@pytest.mark.req("WG3-12.3-a")
def test_no_member_is_named(world: DataWorld) -> None:
    aggregation_id = _aggregation_id(world, BUILDING)
    answer = world.get(urls.USAGE_SEGMENTS, _token(world, BUILDING))
    assert answer.status_code == 200
    with world.session() as session:
        meters = list(_members(world, aggregation_id))
        points = session.execute(
            select(ServicePoint.id, ServicePoint.servicepoint_number)
            .join(MeterInstallation, MeterInstallation.service_point_id == ServicePoint.id)
            .where(MeterInstallation.meter_id.in_(meters))
        ).all()
        numbers = session.scalars(
            select(MeterDevice.meter_number).where(MeterDevice.id.in_(meters))
        ).all()
        contracts = session.execute(
            select(ServiceContract.id, ServiceContract.contract_number, Account.id)
            .join(Account, Account.id == ServiceContract.account_id)
            .join(ServicePointContract, ServicePointContract.contract_id == ServiceContract.id)
            .where(ServicePointContract.service_point_id.in_([p for p, _ in points]))
        ).all()
    named = {*meters, *numbers, *(x for row in points for x in row)}
    named |= {x for row in contracts for x in row}
    assert len(named) > 10
    for value in named:
        if value:
            assert value not in answer.text
    for segment in answer.json()[SEGMENT]:
        for field in (
            "related_accounts",
            "related_servicecontracts",
            "related_servicepoints",
            "related_meterdevices",
            "related_billsections",
        ):
            assert segment[field] == []


@pytest.mark.req("WG3-7.3.6-a")
def test_trimmed_to_the_grant_window(world: DataWorld) -> None:
    """`segment_end` and `sync_until` cannot lie in the past: the start trims here."""
    token = _token(world, BUILDING, segment_start="2025-01-10T06:00:00Z")
    segments = _segments(world, token)
    first = datetime.fromisoformat("2025-01-10T06:00:00+00:00")
    assert segments
    assert min(datetime.fromisoformat(s["segment_start"]) for s in segments) == first
    for segment in segments:
        assert datetime.fromisoformat(segment["segment_start"]) >= first
    # The first day is cut to the window's start: fewer Value Sets, an id with its index.
    cut = [s for s in segments if s["segment_start"].startswith("2025-01-10T06")]
    assert cut and all(len(s["values"]) < 24 * 3600 // s["interval"] for s in cut)
    assert all(s["cds_usagesegment_id"].count("-") == 4 for s in cut)
    whole = _segments(world, _token(world, BUILDING))
    by_id = {s["cds_usagesegment_id"]: s for s in whole}
    for segment in cut:
        base = segment["cds_usagesegment_id"].rsplit("-", 1)[0]
        assert by_id[base]["values"][-len(segment["values"]) :] == segment["values"]


@pytest.mark.req("WG3-10.8.8-c")
def test_ordered_by_aggregation_number_and_paged(world: DataWorld) -> None:
    token = _token(world, BUILDING, EARLIER)
    segments = _segments(world, token)
    home, building = _aggregation_id(world, EARLIER), _aggregation_id(world, BUILDING)
    owners = [s["related_aggregations"][0] for s in segments]
    assert owners == sorted(owners, key=[home, building].index)
    assert set(owners) == {home, building}
    for owner in (home, building):
        mine = [s for s in segments if s["related_aggregations"] == [owner]]
        starts = [s["segment_start"] for s in mine]
        assert starts == sorted(starts)
    small = replace(
        world,
        http=TestClient(
            create_app(
                world.demo.settings.model_copy(
                    update={"aggregation_minimum_customers": 1, "usage_page_size": 7}
                ),
                world.demo.engine,
            )
        ),
    )
    pages = small.pages(urls.USAGE_SEGMENTS, token)
    assert len(pages) > 3
    assert [s for page in pages for s in page[SEGMENT]] == segments
    back = small.get(urls.USAGE_SEGMENTS, token)
    second = small.http.get(
        back.json()["next"], headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    previous = small.http.get(
        second["previous"], headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert previous[SEGMENT] == back.json()[SEGMENT]


@pytest.mark.req("WG3-10.8.8-b")
def test_filters(world: DataWorld) -> None:
    token = _token(world, BUILDING)
    whole = _segments(world, token)
    named = [whole[3]["cds_usagesegment_id"], whole[40]["cds_usagesegment_id"]]
    found = _segments(world, token, cds_usagesegment_ids=" ".join(named))
    assert [s["cds_usagesegment_id"] for s in found] == named
    # Related filters name records an aggregated segment never shows: nothing matches.
    assert (
        _segments(
            world,
            token,
            cds_meterdevice_ids=next(iter(_members(world, _aggregation_id(world, BUILDING)))),
        )
        == []
    )
    before = _segments(world, token, before="2024-12-01T00:00:00Z")
    assert before and all(s["segment_start"] <= "2024-12-01T08:00:00Z" for s in before)


@pytest.mark.req("WG3-4.11-d", "WG3-12.3-a")
def test_only_aggregation_numbers_reach_no_member_meter(world: DataWorld) -> None:
    segments = _segments(world, _token(world, BUILDING, EARLIER))
    assert segments
    assert all(s["cds_usagesegment_id"].startswith("agg-") for s in segments)
    assert all(s["related_meterdevices"] == [] for s in segments)
    # A meter preselection still reaches that meter's own usage.
    with world.session() as session:
        meter = session.scalars(
            select(MeterDevice.meter_number).where(
                MeterDevice.id.in_(_members(world, _aggregation_id(world, BUILDING)))
            )
        ).first()
    entry = {"type": "cds_query_usage_1", "meter_numbers": [meter], "segment_start": SINCE}
    own = world.direct_token("cds_query_usage_1", [entry])
    assert any(not s["cds_usagesegment_id"].startswith("agg-") for s in _segments(world, own))


def test_value_types_limit_the_sums(world: DataWorld) -> None:
    token = _token(world, BUILDING, include_usage_segment_value_types=None)
    segments = _segments(world, token)
    assert segments and all(s["formats"] == [] and s["values"] == [] for s in segments)
