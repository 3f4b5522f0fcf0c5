"""CDS-WG3-01 §10.8.5.3 Electric Supply Mix and §10.8.5.7 Interval Cost in Usage Segments: values
from the `supply_mix` rows and the rate plan's tariff, checked against those records computed
here, gated by the Grant's value types; EACs listed only when the token reaches them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from gridshare import urls
from gridshare.store.jsontext import loads
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.eacs import SupplyMix
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility import codec
from tests.cds.data_setup import DataWorld, data_world
from tests.demo.conftest import SmallDemo

SCOPES = ["cds_usage_1", "cds_query_usage_1", "cds_accounts_1"]
SINCE = "2024-01-01T00:00:00Z"
SEGMENT = "usage_segments"
MIX = ["electric_supply_mix_base_wind", "electric_supply_mix_base_solar"]
USAGE = ["electric_usage_net_kwh", "electric_usage_forward_kwh", "natural_gas_usage_therm"]


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    yield data_world(demo, SCOPES)


def _segments(world: DataWorld, username: str, **fields: Any) -> list[dict[str, Any]]:
    token = world.customer_token(
        username, "cds_usage_1", [{"type": "cds_usage_1", "segment_start": SINCE, **fields}]
    )
    listed = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
    assert listed
    return [loads(json.dumps(s)) for s in listed]  # numbers as exact Decimals


def _at(segment: dict[str, Any], index: int) -> datetime:
    start = datetime.fromisoformat(segment["segment_start"].replace("Z", "+00:00"))
    return start + timedelta(seconds=int(segment["interval"]) * index)


def _contract(world: DataWorld, segment: dict[str, Any]) -> ServiceContract:
    with world.session() as session:
        [contract_id] = segment["related_servicecontracts"]
        contract = session.get(ServiceContract, contract_id)
        assert contract is not None
        session.expunge(contract)
        return contract


@pytest.mark.req("WG3-10.8.5.3-a", "WG3-10.8.2-a")
def test_supply_mix_is_the_supplier_rows_for_each_interval(world: DataWorld) -> None:
    listed = _segments(
        world,
        "home",
        include_service_contracts=True,
        include_usage_segment_value_types=USAGE + MIX,
    )
    electric = [s for s in listed if s["interval"] == 900]
    gas = [s for s in listed if s["formats"][0]["type"] == "natural_gas_usage"]
    assert electric and gas
    assert all(f["type"] != "electric_supply_mix" for s in gas for f in s["formats"])
    with world.session() as session:
        rows = list(session.scalars(select(SupplyMix)))
    checked = 0
    for segment in electric[::17]:
        contract = _contract(world, segment)
        entity = contract.supply_entity_id or contract.distribution_entity_id
        mixes = [f for f in segment["formats"] if f["type"] == "electric_supply_mix"]
        assert {f["supply_type"] for f in mixes} == {"wind", "solar"}
        usage_at = [
            i
            for i, f in enumerate(segment["formats"])
            if f["type"] == "electric_usage" and f.get("direction") != "reverse"
        ]
        for value_format in mixes:
            assert value_format["indexes"] == usage_at
            assert value_format["attribution"] == "base"
            position = segment["formats"].index(value_format)
            for index in (0, len(segment["values"]) // 2, len(segment["values"]) - 1):
                start = _at(segment, index)
                [row] = [
                    r
                    for r in rows
                    if r.entity_id == entity
                    and r.supply_type == value_format["supply_type"]
                    and r.attribution == "base"
                    and r.period_start <= start < r.period_end
                ]
                shown = segment["values"][index][position]
                assert shown["sm"] == row.share
                assert shown["ci"] == row.carbon_intensity
                assert "eacs" not in shown, "the token does not reach EACs"
                checked += 1
    assert checked > 20


def _rate(tariff: dict[str, Any], local: datetime) -> Decimal:
    """The tariff's energy rate (every component) of a reading starting at `local`, by hand."""
    [season] = [s for s, months in tariff["seasons"].items() if local.month in months]
    bucket = "flat"
    if tariff["structure"] == "tou":
        bucket = "off_peak"
        for period in tariff["tou_periods"]:
            days = period.get("days", "all")
            weekday = local.weekday()
            if (days == "all" or (days == "weekdays") == (weekday < 5)) and period[
                "from_hour"
            ] <= local.hour < period["to_hour"]:
                bucket = period["tou"]
                break
    return sum((Decimal(r) for r in tariff["energy_rates"][season][bucket].values()), Decimal(0))


@pytest.mark.req("WG3-10.8.5.7-a", "WG3-10.8.2-a")
def test_interval_cost_is_the_billed_usage_at_the_rate_plan_rates(world: DataWorld) -> None:
    listed = _segments(
        world,
        "home",
        include_service_contracts=True,
        include_usage_segment_value_types=[*USAGE, "cost_usd"],
    )
    tz = world.demo.settings.tz
    priced = [s for s in listed if any(f["type"] == "cost" for f in s["formats"])]
    assert priced, "the home customer's time-of-use plan prices each interval"
    with world.session() as session:
        plans = {p.id: (p.tariff, p.currency) for p in session.scalars(select(RatePlan))}
        blocks = {(b.channel_id, b.start): b.values for b in session.scalars(select(UsageBlock))}
        channels = list(session.scalars(select(Channel)))
    seen_buckets: set[Decimal] = set()
    for segment in priced[::9]:
        contract = _contract(world, segment)
        assert contract.rate_plan_id is not None
        tariff, currency = plans[contract.rate_plan_id]
        [cost] = [f for f in segment["formats"] if f["type"] == "cost"]
        assert cost == {"id": "cost_usd", "type": "cost", "currency": currency, "indexes": [0]}
        billed = segment["formats"][0]
        assert billed["type"] == "electric_usage" and billed.get("direction") != "reverse"
        [channel] = [
            c
            for c in channels
            if c.meter_id == segment["related_meterdevices"][0]
            and c.kind == billed["type"]
            and c.direction == billed.get("direction")
        ]
        start = _at(segment, 0)
        stored = codec.unpack_decimals(blocks[channel.id, start])
        position = segment["formats"].index(cost)
        for index, usage in enumerate(stored):
            shown = segment["values"][index][position]
            if usage is None:
                assert shown is None
                continue
            rate = _rate(tariff, _at(segment, index).astimezone(tz).replace(tzinfo=None))
            seen_buckets.add(rate)
            assert shown["c"] == usage * rate, (segment["cds_usagesegment_id"], index)
    assert len(seen_buckets) >= 2, "peak and off-peak rates both priced"


def test_interval_cost_is_exact_and_only_with_the_usage_it_prices(world: DataWorld) -> None:
    listed = _segments(world, "home", include_usage_segment_value_types=[*USAGE, "cost_usd"])
    costs = [
        v[-1]["c"]
        for s in listed
        if s["formats"][-1]["type"] == "cost"
        for v in s["values"]
        if v[-1]
    ]
    assert costs and all(isinstance(c, Decimal) for c in costs)
    gas_only = _segments(
        world, "home", include_usage_segment_value_types=["natural_gas_usage_therm", "cost_usd"]
    )
    # The electric usage the cost prices is not granted: no electric segment, no cost.
    assert all(
        f["type"] != "cost" or s["formats"][0]["type"] != "electric_usage"
        for s in gas_only
        for f in s["formats"]
    )


@pytest.mark.req("WG3-7.2.8.1-b", "WG3-7.2.8.1-c")
def test_supply_mix_and_cost_only_when_the_grant_lists_them(world: DataWorld) -> None:
    default = _segments(world, "home")
    kinds = {f["type"] for s in default for f in s["formats"]}
    assert kinds == {"electric_usage", "natural_gas_usage"}
    mix_only = _segments(
        world, "home", include_usage_segment_value_types=["electric_usage_forward_kwh", MIX[0]]
    )
    assert {f["id"] for s in mix_only for f in s["formats"]} == {
        "electric_usage_forward_kwh",
        MIX[0],
    }
    durations = _segments(world, "home", include_usage_segment_value_types=None)
    assert all(s["formats"] == [] and s["values"] == [] for s in durations)


@pytest.mark.req("WG3-7.2.9-a", "WG3-10.8.5.3-a")
def test_supply_mix_lists_the_eacs_the_token_reaches(world: DataWorld) -> None:
    """§7.2.9: EACs named in the supply mix of reached usage are related EACs; a direct-access
    Grant preselecting one account reaches them only with include_eacs."""
    with world.session() as session:
        referenced = {e for r in session.scalars(select(SupplyMix)) for e in r.eac_ids}
        number = session.scalars(
            select(Account.account_number)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Customer.username == "home")
        ).first()
    assert referenced, "the demo's wind share carries the quarter's wind certificates"
    entry = {
        "type": "cds_query_usage_1",
        "segment_start": SINCE,
        "account_numbers": [number],
        "include_usage_segment_value_types": ["electric_usage_forward_kwh", *MIX],
    }

    def mixes(**fields: Any) -> list[dict[str, Any]]:
        token = world.direct_token("cds_query_usage_1", [{**entry, **fields}])
        listed = world.every_page(urls.USAGE_SEGMENTS, token, SEGMENT)
        assert listed
        return [
            v[i]
            for s in listed
            for i, f in enumerate(s["formats"])
            if f["type"] == "electric_supply_mix"
            for v in s["values"]
            if v[i] is not None
        ]

    without = mixes(include_eacs=False)
    assert without and all("eacs" not in v for v in without)
    shown = mixes(include_eacs=True)
    wind = [v for v in shown if "eacs" in v]
    assert wind and {e for v in wind for e in v["eacs"]} <= referenced
