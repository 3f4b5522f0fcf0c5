"""CDS-WG3-01 §10.8 Usage Segments API over HTTP: what each token reaches and when, trimming,
values as stored (nulls, DST days, read periods), formats, filters, order, paging, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gridshare import urls
from gridshare.app import create_app
from gridshare.store.db import session_factory, transaction
from gridshare.store.jsontext import loads
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import ServicePointContract
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility import codec
from gridshare.utility.usage import BlockRow, day_start, intervals_in_day, write_blocks
from gridshare.utility.usage_read import Column, value_sets
from tests.cds.data_setup import DataWorld, data_world
from tests.demo.conftest import SmallDemo

SCOPES = ["cds_usage_1", "cds_query_usage_1", "cds_accounts_1"]
SINCE = "2024-01-01T00:00:00Z"
"""Before the small demo's first day (the default `segment_start` is 13 months before today)."""
SEGMENT = "usage_segments"


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    yield data_world(demo, SCOPES)


def _usage(world: DataWorld, username: str, **fields: Any) -> dict[str, Any]:
    return world.customer_token(
        username, "cds_usage_1", [{"type": "cds_usage_1", "segment_start": SINCE, **fields}]
    )


def _periods(world: DataWorld, username: str) -> dict[str, list[tuple[date, date | None]]]:
    """Each meter of the customer and the local days it measured one of the customer's
    contracts: [start, end)."""
    found: dict[str, list[tuple[date, date | None]]] = {}
    with world.session() as session:
        rows = session.execute(
            select(MeterInstallation, ServicePointContract)
            .join(
                ServicePointContract,
                ServicePointContract.service_point_id == MeterInstallation.service_point_id,
            )
            .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
            .join(Account, Account.id == ServiceContract.account_id)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Customer.username == username)
        ).all()
        for installed, served in rows:
            start = max(installed.start, served.start)
            ends = [e for e in (installed.end, served.end) if e is not None]
            found.setdefault(installed.meter_id, []).append((start, min(ends, default=None)))
    return found


def _local(world: DataWorld, moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(world.demo.settings.tz)


@pytest.mark.req("WG3-10.8.8-a", "WG3-7.2.8-a", "WG3-10.8.1-a")
def test_a_customer_sees_only_its_meters_while_they_measured_its_contracts(
    world: DataWorld,
) -> None:
    periods = _periods(world, "home")
    moved = [m for m, spans in periods.items() if any(end is not None for _, end in spans)]
    assert moved, "the home customer moved house: its old meters' periods end"
    # A new tenant's readings on the old home's meter, after the move-out.
    tz = world.demo.settings.tz
    old_meter = moved[0]
    move_out = min(end for _, end in periods[old_meter] if end is not None)
    with world.session() as session:
        channel = session.scalars(select(Channel).where(Channel.meter_id == old_meter)).first()
        assert channel is not None
        count = intervals_in_day(move_out, tz, channel.interval_seconds)
        write_blocks(
            session,
            [
                BlockRow(
                    channel.id,
                    day_start(move_out + timedelta(days=offset), tz),
                    channel.interval_seconds,
                    count,
                    codec.pack_floats(np.full(count, 1.5), 3),
                    None,
                )
                for offset in range(3)
            ],
        )
        session.commit()
    token = _usage(world, "home")
    listed = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
    assert listed
    for segment in listed:
        meter = segment["cds_usagesegment_id"].rsplit("-", 2)[0]
        assert meter in periods
        first = _local(world, segment["segment_start"]).date()
        last = (_local(world, segment["segment_end"]) - timedelta(seconds=1)).date()
        assert any(
            start <= first and (end is None or last < end) for start, end in periods[meter]
        ), segment["cds_usagesegment_id"]
    assert {s["cds_usagesegment_id"].rsplit("-", 2)[0] for s in listed} == set(periods)
    after_move = [
        s
        for s in listed
        if s["cds_usagesegment_id"].startswith(old_meter + "-")
        and _local(world, s["segment_start"]).date() >= move_out
    ]
    assert after_move == []
    ids = [s["cds_usagesegment_id"] for s in listed]
    assert len(ids) == len(set(ids))


@pytest.mark.req("WG3-10.8.1-a", "WG3-10.8.3-a", "WG3-10.8.5.1-a", "WG3-10.8.5.5-a")
def test_values_are_the_stored_readings_with_nulls_for_missing_ones(world: DataWorld) -> None:
    token = _usage(world, "business")
    listed = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
    with world.session() as session:
        channels = {
            c.id: c
            for c in session.scalars(
                select(Channel).where(
                    Channel.meter_id.in_({s["related_meterdevices"][0] for s in listed})
                )
            )
        }
        blocks = {
            (b.channel_id, b.start): b
            for b in session.scalars(
                select(UsageBlock).where(UsageBlock.channel_id.in_(list(channels)))
            )
        }
    nulls = 0
    for segment in listed:
        body = loads(_raw(segment))
        start = datetime.fromisoformat(segment["segment_start"].replace("Z", "+00:00"))
        meter = segment["related_meterdevices"][0]
        for index, value_format in enumerate(body["formats"]):
            assert value_format["type"] in ("electric_usage", "natural_gas_usage")
            key = {"electric_usage": "eu", "natural_gas_usage": "gu"}[value_format["type"]]
            [channel] = [
                c
                for c in channels.values()
                if c.meter_id == meter
                and c.kind == value_format["type"]
                and c.units == value_format["units"]
                and c.direction == value_format.get("direction")
            ]
            stored = codec.unpack_decimals(blocks[channel.id, start].values)
            quality = codec.unpack_quality(blocks[channel.id, start].quality, len(stored))
            shown = [value_set[index] for value_set in body["values"]]
            assert len(shown) == len(stored)
            for value, expected, code in zip(shown, stored, quality.tolist(), strict=True):
                if expected is None:
                    assert value is None
                    nulls += 1
                else:
                    assert value[key] == expected
                    assert value.get("quality", "valid") == codec.QUALITIES[code]
    assert nulls >= 4, "the business customer has an hour of readings missing"


def _raw(segment: dict[str, Any]) -> str:
    """The segment as JSON text again (a float's repr is the number orjson wrote), to be read
    with numbers as exact Decimals."""
    return json.dumps(segment)


@pytest.mark.req("WG3-10.8.1-b", "WG3-10.8.3-a")
def test_dst_days_have_92_and_100_values_and_segment_end_is_the_last_interval_end(
    world: DataWorld,
) -> None:
    token = _usage(world, "home")
    listed = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
    electric = [s for s in listed if s["interval"] == 900]
    by_day = {_local(world, s["segment_start"]).date(): s for s in electric}
    assert len(by_day[date(2024, 11, 3)]["values"]) == 100
    assert len(by_day[date(2025, 3, 9)]["values"]) == 92
    for segment in electric:
        start = datetime.fromisoformat(segment["segment_start"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(segment["segment_end"].replace("Z", "+00:00"))
        assert (end - start).total_seconds() == 900 * len(segment["values"])
    estimated = [v for s in electric for [v] in s["values"] if v and "quality" in v]
    assert estimated and {v["quality"] for v in estimated} == {"estimated"}


@pytest.mark.req("WG3-10.8.1-b")
def test_read_periods_are_one_segment_each_with_the_period_as_interval(world: DataWorld) -> None:
    token = _usage(world, "rural")
    listed = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
    periods = [s for s in listed if s["cds_usagesegment_id"].split("-")[-2] == "0"]
    assert periods, "the rural customer has a monthly-read meter"
    for segment in periods:
        start = datetime.fromisoformat(segment["segment_start"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(segment["segment_end"].replace("Z", "+00:00"))
        assert segment["interval"] == (end - start).total_seconds()
        assert 27 * 86400 < segment["interval"] < 32 * 86400
        assert len(segment["values"]) == 1
        assert isinstance(segment["values"][0][0]["eu"], (int, float))


@pytest.mark.req("WG3-7.3.6-a", "WG3-7.3.6-b")
def test_segments_are_trimmed_to_segment_start(world: DataWorld) -> None:
    token = _usage(world, "home", segment_start="2025-01-15T10:07:00Z")
    listed = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
    electric = [s for s in listed if s["interval"] == 900]
    gas = [s for s in listed if s["interval"] == 3600]
    # Intervals that start on or after segment_start: 10:15Z and 11:00Z (local day from 08:00Z).
    assert electric[0]["segment_start"] == "2025-01-15T10:15:00Z"
    assert gas[0]["segment_start"] == "2025-01-15T11:00:00Z"
    assert electric[0]["segment_end"] == "2025-01-16T08:00:00Z"
    assert len(electric[0]["values"]) == 96 - 9
    assert len(gas[0]["values"]) == 24 - 3
    # The piece keeps its day's id with the index of its first value.
    assert electric[0]["cds_usagesegment_id"].endswith("-20250115-9")
    assert electric[1]["cds_usagesegment_id"].endswith("-20250116")
    assert all(s["segment_start"] >= "2025-01-15T10:07:00Z" for s in listed)
    assert len(electric) == len(gas) == (date(2025, 3, 31) - date(2025, 1, 15)).days + 1


@pytest.mark.req("WG3-7.2.8.1-b", "WG3-7.2.8.1-c", "WG3-10.8.2-a")
def test_value_types_follow_the_grant(world: DataWorld) -> None:
    gas_only = _usage(world, "home", include_usage_segment_value_types=["natural_gas_usage_therm"])
    listed = world.every_page(urls.USAGE_SEGMENTS, gas_only, SEGMENT)
    assert listed
    for segment in listed:
        assert segment["formats"] == [
            {"id": "natural_gas_usage_therm", "type": "natural_gas_usage", "units": "therm"}
        ]
        assert all(set(v) == {"gu"} for [v] in segment["values"] if v is not None)
    durations = _usage(world, "home", include_usage_segment_value_types=None)
    listed = world.every_page(urls.USAGE_SEGMENTS, durations, SEGMENT)
    assert listed
    assert all(s["formats"] == [] and s["values"] == [] for s in listed)
    # Demand has no value-type choice: the default choices never show it.
    business = world.every_page(urls.USAGE_SEGMENTS, _usage(world, "business"), SEGMENT)
    assert business
    assert all(f["type"] != "electric_demand" for s in business for f in s["formats"])


@pytest.mark.req("WG3-10.8.1-c")
def test_related_ids_are_only_those_the_token_reaches(world: DataWorld) -> None:
    bare = _usage(world, "home", include_meter_devices=False)
    [first, *_] = world.every_page(urls.USAGE_SEGMENTS, bare, SEGMENT)
    assert first["related_meterdevices"] == []
    assert first["related_accounts"] == first["related_servicecontracts"] == []
    wide = _usage(
        world,
        "home",
        include_accounts=True,
        include_service_contracts=True,
        include_service_points=True,
        include_bill_sections=True,
    )
    listed = world.every_page(urls.USAGE_SEGMENTS, wide, SEGMENT)
    with world.session() as session:
        accounts = set(
            session.scalars(select(Account.id).join(Customer).where(Customer.username == "home"))
        )
    for segment in listed:
        assert len(segment["related_servicecontracts"]) == 1
        assert set(segment["related_accounts"]) <= accounts
        assert len(segment["related_servicepoints"]) == 1
    assert any(s["related_billsections"] for s in listed)


@pytest.mark.req("WG3-10.8.8-b")
def test_filters(world: DataWorld) -> None:
    token = _usage(
        world,
        "home",
        include_accounts=True,
        include_service_contracts=True,
        include_contract_numbers=True,
        include_bill_sections=True,
    )
    every = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
    meter = every[-1]["related_meterdevices"][0]
    by_meter = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT, cds_meterdevice_ids=meter)
    assert by_meter and {s["related_meterdevices"][0] for s in by_meter} == {meter}
    assert len(by_meter) == len([s for s in every if s["related_meterdevices"] == [meter]])
    picked = [every[3]["cds_usagesegment_id"], every[-2]["cds_usagesegment_id"], "nonsense"]
    named = world.every_page(
        urls.USAGE_SEGMENTS, token, SEGMENT, cds_usagesegment_ids=" ".join(picked)
    )
    assert [s["cds_usagesegment_id"] for s in named] == picked[:2]
    window = world.every_page(
        urls.USAGE_SEGMENTS,
        token,
        SEGMENT,
        after="2025-02-01T08:00:00Z",
        before="2025-02-03T08:00:00Z",
    )
    assert window
    for segment in window:
        assert segment["segment_start"] <= "2025-02-03T08:00:00Z"
        assert segment["segment_end"] >= "2025-02-01T08:00:00Z"
    # 31 Jan (ends at the 1 Feb bound) to 3 Feb (starts at the other), electric and gas.
    assert len(window) == 2 * 4
    contract = every[0]["related_servicecontracts"][0]
    by_contract = world.every_page(
        urls.USAGE_SEGMENTS, token, SEGMENT, cds_servicecontract_ids=contract
    )
    assert by_contract and all(s["related_servicecontracts"] == [contract] for s in by_contract)
    with world.session() as session:
        number = session.scalar(
            select(ServiceContract.contract_number).where(ServiceContract.id == contract)
        )
    assert number is not None
    by_number = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT, contract_numbers=number)
    assert [s["cds_usagesegment_id"] for s in by_number] == [
        s["cds_usagesegment_id"] for s in by_contract
    ]
    section = next(s for s in every if s["related_billsections"])["related_billsections"][0]
    by_section = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT, cds_billsection_ids=section)
    assert by_section and all(section in s["related_billsections"] for s in by_section)
    assert len(by_section) < len(every)
    assert world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT, account_numbers="x") == []


@pytest.mark.req("WG3-10.8.8-c", "WG3-10.8.8-a")
def test_order_and_paging(world: DataWorld) -> None:
    token = _usage(world, "home", include_accounts=True, include_service_contracts=True)
    small = TestClient(
        create_app(
            world.demo.settings.model_copy(update={"usage_page_size": 100}), world.demo.engine
        )
    )
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    first = small.get(urls.USAGE_SEGMENTS, headers=bearer)
    assert first.status_code == 200
    page = first.json()
    assert len(page[SEGMENT]) == 100
    assert page["previous"] is None and page["next"] is not None
    second = small.get(page["next"], headers=bearer).json()
    back = small.get(second["previous"], headers=bearer).json()
    assert [s["cds_usagesegment_id"] for s in back[SEGMENT]] == [
        s["cds_usagesegment_id"] for s in page[SEGMENT]
    ]
    every = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
    ids = [s["cds_usagesegment_id"] for s in every]
    assert len(ids) == len(set(ids))
    assert ids[: 2 * len(page[SEGMENT])] == ids_of(page) + ids_of(second)
    with world.session() as session:
        numbers = dict(session.execute(select(Account.id, Account.account_number)).all())
        contract_numbers = dict(
            session.execute(select(ServiceContract.id, ServiceContract.contract_number)).all()
        )
    keys = [
        (
            min(numbers[a] or "" for a in s["related_accounts"]),
            min(contract_numbers[c] or "" for c in s["related_servicecontracts"]),
            s["segment_start"],
        )
        for s in every
    ]
    assert keys == sorted(keys)
    assert len({k[:2] for k in keys}) == 4, "home's four contracts: old and new, electric and gas"


def test_a_page_holds_the_usage_page_size_not_the_listing_page_size(world: DataWorld) -> None:
    token = _usage(world, "home")
    every = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
    assert world.demo.settings.page_size < len(every)
    first = world.get(urls.USAGE_SEGMENTS, token).json()
    assert len(first[SEGMENT]) == min(len(every), world.demo.settings.usage_page_size)


def _whole(world: DataWorld, segment: dict[str, Any]) -> bool:
    """Whether the segment is its blocks' whole local day (or read period)."""
    matched = re.match(r"^.+-(\d+)-(\d{8})(-\d+)?$", segment["cds_usagesegment_id"])
    assert matched is not None
    interval, day, piece = matched.groups()
    if piece is not None:
        return False
    if interval == "0":
        return True
    local = datetime.strptime(day, "%Y%m%d").date()
    return len(segment["values"]) == intervals_in_day(local, world.demo.settings.tz, int(interval))


def _bodies(world: DataWorld, token: dict[str, Any]) -> list[bytes]:
    """Every page of the token's segments, as the bytes the API sent."""
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    bodies = []
    answer = world.http.get(urls.USAGE_SEGMENTS, headers=bearer)
    while True:
        assert answer.status_code == 200, answer.text
        bodies.append(answer.content)
        link = answer.json()["next"]
        if link is None:
            return bodies
        answer = world.http.get(link, headers=bearer)


def test_stored_values_json_is_served_and_blocks_without_it_serve_the_same_bytes(
    world: DataWorld,
) -> None:
    """DESIGN rule 3: a whole segment of one channel copies its block's stored `values_json`;
    a block written before migration 0006 (none stored) is decoded into the same bytes."""
    token = _usage(world, "business")
    served = _bodies(world, token)
    segments = [s for body in served for s in loads(body)[SEGMENT]]
    whole = [s for s in segments if len(s["formats"]) == 1 and _whole(world, s)]
    assert whole, "the business customer has whole segments of one channel"
    with world.session() as session:
        kept = {
            (channel_id, start): encoded
            for channel_id, start, encoded in session.execute(
                select(UsageBlock.channel_id, UsageBlock.start, UsageBlock.values_json)
            )
        }
    keep_stamp = {"modified": UsageBlock.modified}
    try:
        with transaction(session_factory(world.demo.engine)) as session:
            session.execute(update(UsageBlock).values(values_json=None, **keep_stamp))
        assert _bodies(world, token) == served
        marked = b'[[{"eu":12345}]]'
        with transaction(session_factory(world.demo.engine)) as session:
            session.execute(update(UsageBlock).values(values_json=marked, **keep_stamp))
        again = [s for body in _bodies(world, token) for s in loads(body)[SEGMENT]]
        copied = [s for s in again if s["values"] == [[{"eu": 12345}]]]
        assert {s["cds_usagesegment_id"] for s in copied} == {
            s["cds_usagesegment_id"] for s in whole
        }
    finally:
        with transaction(session_factory(world.demo.engine)) as session:
            for (channel_id, start), encoded in kept.items():
                session.execute(
                    update(UsageBlock)
                    .where(UsageBlock.channel_id == channel_id, UsageBlock.start == start)
                    .values(values_json=encoded, **keep_stamp)
                )
    assert _bodies(world, token) == served


def ids_of(page: dict[str, Any]) -> list[str]:
    return [s["cds_usagesegment_id"] for s in page[SEGMENT]]


def test_direct_access_lists_every_measured_segment_once(world: DataWorld) -> None:
    token = world.direct_token(
        "cds_query_usage_1", [{"type": "cds_query_usage_1", "segment_start": SINCE}]
    )
    every = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
    ids = [s["cds_usagesegment_id"] for s in every]
    assert len(ids) == len(set(ids))
    home = world.every_page(urls.USAGE_SEGMENTS, _usage(world, "home"), SEGMENT)
    assert {s["cds_usagesegment_id"] for s in home} < set(ids)


@pytest.mark.req("WG3-10.8.8-b")
def test_precise_errors(world: DataWorld) -> None:
    token = _usage(world, "home")
    for name, value in (
        ("before", "2025-01-01"),
        ("after", "yesterday"),
        ("cds_meterdevice_ids", " ".join(["m"] * 1001)),
        ("cursor", "nonsense"),
        ("cds_usagesegment_ids", " "),
    ):
        answer = world.get(urls.USAGE_SEGMENTS, token, **{name: value})
        assert answer.status_code == 400, name
        assert answer.json()["error"] == "invalid_request"
        assert name in answer.json()["error_description"]


def test_without_a_token_401_and_without_a_usage_scope_403(world: DataWorld) -> None:
    assert world.http.get(urls.USAGE_SEGMENTS).status_code == 401
    accounts_only = world.customer_token("home", "cds_accounts_1")
    answer = world.get(urls.USAGE_SEGMENTS, accounts_only)
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient_scope"


def test_exact_decimals_survive_the_float_path() -> None:
    """The fast path prints each stored decimal exactly (module docstring of usage_read)."""

    values = [Decimal("0.1"), Decimal("2.675"), None, Decimal("-0.003"), Decimal("123456789.123")]
    block = codec.pack_decimals(values)
    body = loads(value_sets([Column(b"eu", block, None, 0, len(values))], len(values)))
    assert [None if v is None else v["eu"] for [v] in body] == values
    big = codec.pack_decimals([Decimal("12345678901234567.8"), None])
    body = loads(value_sets([Column(b"eu", big, None, 0, 2)], 2))
    assert body == [[{"eu": Decimal("12345678901234567.8")}], [None]]
    mixed = value_sets(
        [
            Column(b"eu", codec.pack_decimals([Decimal("1.5")]), None, 0, 1),
            Column(b"ed", codec.pack_decimals([Decimal("6")]), None, 0, 1),
            Column(b"gu", None, None, 0, 1),
        ],
        1,
    )
    assert loads(mixed) == [[{"eu": Decimal("1.5")}, {"ed": 6}, None]]
