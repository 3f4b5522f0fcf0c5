"""The demo utility is deterministic, complete (every archetype and CDS-WG3-01 §10 object) and
physically consistent: service points inside the territory, solar net = forward + reverse, one
block per local day with 92 or 100 fifteen-minute values on DST change days."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from gridshare.demo.generator import build, default_until
from gridshare.store.tables import Base
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import (
    Aggregation,
    AggregationMember,
    AggregationRegion,
    ConsentRequirement,
)
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.coverage import CoverageEntry
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.eacs import EnergyAttributeCertificate, SupplyMix
from gridshare.store.tables.meters import MeterApp, MeterInstallation
from gridshare.store.tables.programs import Entity, Participation, Program
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility import codec
from gridshare.utility.customers import verify_password
from gridshare.utility.usage import intervals_in_day
from tests.demo.conftest import SmallDemo, build_small

BUILD_TIME_COLUMNS = {"created", "modified", "synced", "updated"}


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows without build-time timestamps, primary key first, sorted by it in
    Python (so collations cannot reorder them)."""
    dump = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            key = list(table.primary_key.columns)
            rest = [c for c in table.columns if c.name not in BUILD_TIME_COLUMNS and c not in key]
            rows = [tuple(r) for r in connection.execute(select(*key, *rest))]
            dump[table.name] = sorted(rows, key=lambda row: row[: len(key)])
    return dump


def _scalars(engine: Engine, statement: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(statement).scalars())


def _all(engine: Engine, model: type[Any]) -> list[Any]:
    with Session(engine) as session:
        return list(session.scalars(select(model)))


def test_the_same_seed_builds_the_same_utility_on_any_engine(
    demo: SmallDemo, tmp_path: Path
) -> None:
    again = build_small(f"sqlite:///{tmp_path / 'again.sqlite3'}", tmp_path)
    try:
        first, second = _rows(demo.engine), _rows(again.engine)
    finally:
        again.engine.dispose()
    assert first["usage_blocks"], "the demo wrote no usage"
    for table, rows in first.items():
        assert rows == second[table], f"{table} differs between two builds with the same seed"


def test_another_seed_builds_another_utility(demo: SmallDemo, tmp_path: Path) -> None:
    other = build_small(f"sqlite:///{tmp_path / 'other.sqlite3'}", tmp_path, seed=8)
    try:
        ours = set(_scalars(demo.engine, select(Account.id)))
        theirs = set(_scalars(other.engine, select(Account.id)))
        first_blocks = select(UsageBlock.values).order_by(UsageBlock.channel_id, UsageBlock.start)
        values = _scalars(demo.engine, first_blocks.limit(50))
        other_values = _scalars(other.engine, first_blocks.limit(50))
    finally:
        other.engine.dispose()
    assert not ours & theirs
    assert values != other_values


def test_sandbox_test_customers_log_in_with_their_documented_passwords(demo: SmallDemo) -> None:
    customers = {c.username: c for c in _all(demo.engine, Customer) if c.is_test}
    assert set(customers) == {"home", "solar", "business", "tenant", "chain", "rural"}
    for username, customer in customers.items():
        assert verify_password(f"demo-{username}", customer.password_hash)
        assert not verify_password("demo-wrong", customer.password_hash)
        assert customer.description and customer.email and customer.phone
        assert customer.phone.startswith("+1") and customer.phone[1:].isdigit()
    documented = (Path(__file__).parents[2] / "docs" / "demo.md").read_text()
    for username in customers:
        assert f"`{username}`" in documented and f"`demo-{username}`" in documented


def test_every_archetype_and_record_kind_is_present(demo: SmallDemo) -> None:
    engine = demo.engine
    accounts = _all(engine, Account)
    children = [a for a in accounts if a.parent_id]
    assert len(children) >= 2 and all("child" in a.types for a in children)
    assert {"parent"} <= set(next(a for a in accounts if a.id == children[0].parent_id).types)

    contracts = _all(engine, ServiceContract)
    assert any(c.status == "closed" and c.end is not None for c in contracts)
    entities = {e.id: e for e in _all(engine, Entity)}
    suppliers = [entities[c.supply_entity_id] for c in contracts if c.supply_entity_id]
    assert any("iou" in e.types for e in suppliers) and any("cca" in e.types for e in suppliers)
    assert {"electric", "natural_gas", "water"} <= {t for c in contracts for t in c.service_types}

    installations = _all(engine, MeterInstallation)
    by_point: dict[str, list[MeterInstallation]] = defaultdict(list)
    for install in installations:
        by_point[install.service_point_id].append(install)
    swaps = [p for p, meters in by_point.items() if len(meters) > 1]
    assert swaps, "no service point had its meter swapped"
    assert any(i.end is not None for i in by_point[swaps[0]])

    channels = {(c.kind, c.direction, c.units, c.interval_seconds) for c in _all(engine, Channel)}
    assert {
        ("electric_usage", "net", "kWh", 900),
        ("electric_usage", "forward", "kWh", 900),
        ("electric_usage", "reverse", "kWh", 900),
        ("electric_demand", "forward", "kW", 900),
        ("electric_usage", "forward", "kWh", 0),
        ("natural_gas_usage", None, "therm", 3600),
        ("water_usage", None, "gal", 3600),
    } <= channels

    structures = {(p.commodity, p.tariff["structure"]) for p in _all(engine, RatePlan)}
    assert {("electric", "tou"), ("electric", "tiered"), ("natural_gas", "tiered")} <= structures
    assert any(commodity == "water" for commodity, _ in structures)

    programs = {p.id: p for p in _all(engine, Program)}
    kinds = {p.kinds[0]: p.level for p in programs.values()}
    assert kinds == {
        "low_income": "account",
        "demand_response": "service",
        "credit_bank": "service",
    }
    demand_response = next(p for p in programs.values() if p.kinds == ["demand_response"])
    assert set(demand_response.details) >= {"pnode", "anode", "aggregated", "automated"}
    participations = _all(engine, Participation)
    assert {p.status for p in participations} >= {"active", "inactive", "eligible"}
    assert any(p.balance is not None and p.balance_units == "kWh" for p in participations)

    apps = _all(engine, MeterApp)
    assert len({a.meter_id for a in apps}) >= 2
    assert {t for a in apps for t in a.types} >= {"installed", "uninstalled", "compatible"}

    eacs = _all(engine, EnergyAttributeCertificate)
    assert {e.beneficiary_type for e in eacs} == {"general", "account"}
    account_ids = {a.id for a in accounts}
    assert all(set(e.beneficiaries) <= account_ids for e in eacs if e.beneficiary_type == "account")

    aggregation = _all(engine, Aggregation)[0]
    assert "building" in aggregation.types and aggregation.addresses
    assert _all(engine, AggregationRegion)[0].aggregation_id == aggregation.id
    assert _all(engine, ConsentRequirement)[0].aggregation_id == aggregation.id
    members = _all(engine, AggregationMember)
    assert len([m for m in members if m.meter_id]) >= 3

    coverage = {c.commodity_types[0]: c for c in _all(engine, CoverageEntry)}
    assert set(coverage) == {"electricity", "natural_gas", "water"}
    electric = coverage["electricity"]
    assert (electric.type, electric.role, electric.country) == ("geographic", "authoritative", "US")
    assert electric.entity_abbreviation == "DG&E" and electric.capabilities == []
    assert electric.infrastructure_types == [
        "distribution_utility",
        "supplier",
        "metering_provider",
    ]
    assert coverage["natural_gas"].geojson and coverage["water"].type == "logical"


def test_supply_mix_shares_sum_to_exactly_one_each_month(demo: SmallDemo) -> None:
    months: dict[datetime, Decimal] = defaultdict(Decimal)
    for row in _all(demo.engine, SupplyMix):
        months[row.period_start] += row.share
        assert Decimal(0) <= row.share <= Decimal(1) and row.carbon_intensity is not None
    assert len(months) == 6
    assert set(months.values()) == {Decimal(1)}


def _inside(ring: list[list[float]], lon: float, lat: float) -> bool:
    """Even-odd rule, written here independently of the generator's own check."""
    crossings = 0
    ring = [[float(x), float(y)] for x, y in ring]  # JSON numbers come back as exact decimals
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if min(y1, y2) < lat <= max(y1, y2) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            crossings += 1
    return crossings % 2 == 1


def test_every_service_point_lies_inside_its_territory(demo: SmallDemo) -> None:
    coverage = {c.commodity_types[0]: c for c in _all(demo.engine, CoverageEntry)}
    rings = {
        commodity: coverage[name].geojson["features"][0]["geometry"]["coordinates"][0]
        for commodity, name in (("electric", "electricity"), ("natural_gas", "natural_gas"))
    }
    for ring in rings.values():
        assert ring[0] == ring[-1], "a GeoJSON ring closes on its first point"
    points = _all(demo.engine, ServicePoint)
    assert points
    for point in points:
        assert point.latitude is not None and point.longitude is not None
        lon, lat = float(point.longitude), float(point.latitude)
        assert _inside(rings["electric"], lon, lat), point.address
        if "natural_gas" in point.types:
            assert _inside(rings["natural_gas"], lon, lat), point.address
    assert not _inside(rings["electric"], -122.4194, 37.7749)  # San Francisco is not DG&E's


def _blocks(engine: Engine, channel: Channel) -> dict[datetime, UsageBlock]:
    with Session(engine) as session:
        blocks = session.scalars(select(UsageBlock).where(UsageBlock.channel_id == channel.id))
        return {block.start: block for block in blocks}


def test_solar_net_is_forward_plus_reverse_with_cds_signs(demo: SmallDemo) -> None:
    channels = _all(demo.engine, Channel)
    net = next(c for c in channels if c.direction == "net")
    meter = {c.direction: c for c in channels if c.meter_id == net.meter_id}
    blocks = {d: _blocks(demo.engine, meter[d]) for d in ("net", "forward", "reverse")}
    assert blocks["net"] and set(blocks["net"]) == set(blocks["forward"]) == set(blocks["reverse"])
    exported = 0
    for start, block in blocks["net"].items():
        net_values = codec.unpack_decimals(block.values)
        forward = codec.unpack_decimals(blocks["forward"][start].values)
        reverse = codec.unpack_decimals(blocks["reverse"][start].values)
        for n, f, r in zip(net_values, forward, reverse, strict=True):
            if n is None:
                assert f is None and r is None
                continue
            assert f is not None and r is not None
            assert f >= 0 >= r and n == f + r
            exported += r < 0
    assert exported > 100, "the solar home never sent energy to the grid"


def test_blocks_are_local_days_with_92_or_100_quarter_hours_on_dst_changes(
    demo: SmallDemo,
) -> None:
    tz = demo.settings.tz
    counts: dict[tuple[int, date], int] = {}
    for channel in _all(demo.engine, Channel):
        for start, block in _blocks(demo.engine, channel).items():
            local = start.astimezone(tz)
            assert (local.hour, local.minute) == (0, 0), "blocks start at local midnight"
            assert codec.count(block.values) == block.count
            if channel.interval_seconds == 0:
                assert local.day == 1 and block.count == 1
                month_after = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
                length = month_after.astimezone(UTC) - local.astimezone(UTC)  # DST-aware
                assert block.interval_seconds == length.total_seconds()
                continue
            assert block.interval_seconds == channel.interval_seconds
            assert block.count == intervals_in_day(local.date(), tz, channel.interval_seconds)
            counts[(channel.interval_seconds, local.date())] = block.count
    assert counts[(900, date(2024, 11, 3))] == 100
    assert counts[(900, date(2025, 3, 9))] == 92
    assert counts[(3600, date(2024, 11, 3))] == 25
    assert counts[(3600, date(2025, 3, 9))] == 23
    assert counts[(900, date(2025, 1, 15))] == 96


def test_some_readings_are_estimated_and_some_missing(demo: SmallDemo) -> None:
    estimated = missing = 0
    with Session(demo.engine) as session:
        for block in session.scalars(select(UsageBlock)):
            codes = codec.unpack_quality(block.quality, block.count)
            estimated += int((codes == codec.QUALITY_CODE["estimated"]).sum())
            missing += int(codec.missing_mask(block.values).sum())
    assert estimated > 0 and missing > 0


def test_contract_links_and_installations_cover_the_history(demo: SmallDemo) -> None:
    links = _all(demo.engine, ServicePointContract)
    contracts = {c.id: c for c in _all(demo.engine, ServiceContract)}
    assert {link.contract_id for link in links} == set(contracts)
    for link in links:
        contract = contracts[link.contract_id]
        assert (link.start, link.end) == (contract.start, contract.end)


def test_building_on_a_database_that_holds_customers_is_refused(demo: SmallDemo) -> None:
    with pytest.raises(ValueError, match="already holds"):
        build(demo.engine, demo.settings, customers=2, years=1, until=date(2025, 3, 31), seed=1)


def test_default_until_is_yesterday_in_local_time(demo: SmallDemo) -> None:
    tz = demo.settings.tz
    before = datetime.now(tz).date()
    until = default_until(tz)
    after = datetime.now(tz).date()
    assert until + timedelta(days=1) in {before, after}


def test_the_summary_counts_what_was_built(demo: SmallDemo) -> None:
    with demo.engine.connect() as connection:
        blocks = connection.execute(text("SELECT count(*) FROM usage_blocks")).scalar_one()
        statements = connection.execute(text("SELECT count(*) FROM bill_statements")).scalar_one()
    assert "8 customers" in demo.summary
    assert f"{blocks:,} usage blocks" in demo.summary
    assert f"{statements:,} bill statements" in demo.summary
