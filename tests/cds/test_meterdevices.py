"""CDS-WG3-01 §10.4 Meter Devices API over HTTP: what each token reaches (a meter swap under a
selected Service Contract), current and previous Service Points, Meter Apps, field gating, filters,
order, paging and errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gridshare import urls
from gridshare.store.db import utcnow
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterApp, MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePointContract
from tests.cds.data_setup import DataWorld, check_newest_first_and_paged, data_world
from tests.demo.conftest import SmallDemo

SCOPES = ["cds_meters_1", "cds_accounts_1", "cds_query_meter_devices_1"]
REQUIRED = {
    "cds_meterdevice_id",
    "cds_created",
    "cds_modified",
    "cds_synced",
    "meter_types",
    "current_servicepoints",
    "previous_servicepoints",
}
METER_TYPES = {
    "electric_usage",
    "water_usage",
    "natural_gas_usage",
    "fuel_oil_usage",
    "forward_only",
    "reverse_only",
    "bidirectional",
    "physical_meter",
    "virtual_meter",
    "electric_demand",
    "ami_meter",
    "amr_meter",
    "analog_meter",
    "wifi_capable",
    "wifi_enabled",
    "wifi_configured",
    "zigbee_capable",
    "zigbee_enabled",
    "zigbee_configured",
    "central_apps_capable",
    "customer_apps_capable",
}


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    yield data_world(demo, SCOPES)


def _installations(world: DataWorld, username: str | None = None) -> list[MeterInstallation]:
    """The installations at points the customer's contracts served (everyone's when None)."""
    query = (
        select(MeterInstallation)
        .join(
            ServicePointContract,
            ServicePointContract.service_point_id == MeterInstallation.service_point_id,
        )
        .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
        .join(Account, Account.id == ServiceContract.account_id)
        .join(Customer, Customer.id == Account.customer_id)
    )
    if username is not None:
        query = query.where(Customer.username == username)
    with world.session() as session:
        return list(session.scalars(query.distinct()))


def _swap(world: DataWorld) -> tuple[str, str, str, str]:
    """The solar customer's electric contract, its point, and the meters before and after."""
    installs = _installations(world, "solar")
    by_point: dict[str, list[MeterInstallation]] = {}
    for installed in installs:
        by_point.setdefault(installed.service_point_id, []).append(installed)
    [(point_id, pair)] = [(p, i) for p, i in by_point.items() if len(i) == 2]
    old, new = sorted(pair, key=lambda i: i.start)
    assert old.end == new.start and new.end is None
    with world.session() as session:
        contract_id = session.scalars(
            select(ServicePointContract.contract_id).where(
                ServicePointContract.service_point_id == point_id
            )
        ).one()
    return contract_id, point_id, old.meter_id, new.meter_id


def _token(
    world: DataWorld, username: str, contracts: set[str] | None = None, **flags: bool
) -> dict[str, Any]:
    """A cds_meters_1 token whose Customer ticked `contracts` (every one when None) on a Service
    Contract Selection."""
    return world.customer_token(
        username,
        "cds_meters_1",
        [
            {
                "type": "cds_meters_1",
                "authorization_form_selection_type": "service_contract_selection",
                **flags,
            }
        ],
        choose=(lambda all_: all_)
        if contracts is None
        else (lambda all_: [(n, v) for n, v in all_ if v in contracts]),
    )


@pytest.mark.req("WG3-6.1.6-d", "WG3-10.4.5-a", "WG3-10.4.1-a")
def test_a_meter_swap_under_a_selected_contract_shows_both_meters(world: DataWorld) -> None:
    """The solar home's forward-only meter was swapped for a bidirectional one: a Grant on the
    electric Service Contract reaches both (docs/spec-decisions.md), and no other meter."""
    contract_id, point_id, old, new = _swap(world)
    token = _token(world, "solar", {contract_id}, include_service_points=True)
    answer = world.get(urls.METER_DEVICES, token)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"meter_devices", "next", "previous"}
    meters = {m["cds_meterdevice_id"]: m for m in body["meter_devices"]}
    assert set(meters) == {old, new}
    assert meters[old]["current_servicepoints"] == []
    assert meters[old]["previous_servicepoints"] == [point_id]
    assert meters[new]["current_servicepoints"] == [point_id]
    assert meters[new]["previous_servicepoints"] == []
    assert "forward_only" in meters[old]["meter_types"]
    assert "bidirectional" in meters[new]["meter_types"]
    # The solar home's gas meter (another, unticked contract) and every other customer's meters
    # never appear, even when asked for by id.
    others = {i.meter_id for i in _installations(world)} - {old, new}
    assert others
    asked = world.every_page(
        urls.METER_DEVICES, token, "meter_devices", cds_meterdevice_ids=" ".join(sorted(others))
    )
    assert asked == []
    assert others.isdisjoint(
        m["cds_meterdevice_id"]
        for m in world.every_page(urls.METER_DEVICES, token, "meter_devices", q="mtr_")
    )


@pytest.mark.req("WG3-10.4.1-a", "WG3-10.4.2-a")
def test_point_lists_name_only_points_the_token_reaches(world: DataWorld) -> None:
    _, point_id, old, new = _swap(world)
    token = _token(world, "solar")
    listed = world.every_page(urls.METER_DEVICES, token, "meter_devices")
    assert {old, new} <= {m["cds_meterdevice_id"] for m in listed}
    for meter in listed:
        assert meter["current_servicepoints"] == []
        assert meter["previous_servicepoints"] == []
        assert set(meter["meter_types"]) <= METER_TYPES
    for name in ("current_servicepoints", "previous_servicepoints"):
        assert (
            world.every_page(urls.METER_DEVICES, token, "meter_devices", **{name: point_id}) == []
        )


@pytest.mark.req("WG3-7.2.4.1-a", "WG3-7.2.4.2-a", "WG3-10.4.3-a", "WG3-10.4.4-a")
def test_optional_fields_follow_the_include_flags(world: DataWorld) -> None:
    contract_id, _, old, new = _swap(world)
    bare = _token(world, "solar", {contract_id}, include_meter_numbers=False)
    for meter in world.every_page(urls.METER_DEVICES, bare, "meter_devices"):
        assert set(meter) == REQUIRED
    full = _token(world, "solar", {contract_id}, include_meter_apps=True)
    meters = {
        m["cds_meterdevice_id"]: m
        for m in world.every_page(urls.METER_DEVICES, full, "meter_devices")
    }
    with world.session() as session:
        numbers = {m.id: m.meter_number for m in session.scalars(select(MeterDevice))}
        apps = {
            a.app_number: a
            for a in session.scalars(select(MeterApp).where(MeterApp.meter_id == new))
        }
    for meter_id, meter in meters.items():
        assert meter["meter_number"] == numbers[meter_id]  # cds_meters_1 default: true
    assert meters[old]["meter_apps"] == []
    shown = {a["app_number"]: a for a in meters[new]["meter_apps"]}
    assert set(shown) == set(apps) and len(shown) == 2
    for number, app in shown.items():
        assert {"id", "app_number", "types", "name"} <= set(app)
        assert app["types"] == apps[number].types
        assert app["name"] == apps[number].name
    uninstalled = next(a for a in shown.values() if "uninstalled" in a["types"])
    assert uninstalled["end"].endswith("Z") and "start" not in uninstalled
    compatible = next(a for a in shown.values() if "compatible" in a["types"])
    assert "start" not in compatible and "end" not in compatible


@pytest.mark.req("WG3-7.2.4.2-a", "WG3-10.4.4-a")
def test_an_installed_app_shows_when_it_was_installed(world: DataWorld) -> None:
    token = world.direct_token(
        "cds_query_meter_devices_1",
        [{"type": "cds_query_meter_devices_1", "include_meter_apps": True}],
    )
    every = world.every_page(urls.METER_DEVICES, token, "meter_devices")
    installed = [a for m in every for a in m["meter_apps"] if "installed" in a["types"]]
    assert installed and all(a["start"].endswith("Z") and "end" not in a for a in installed)


@pytest.mark.req("WG3-10.4.5-b")
def test_filters(world: DataWorld) -> None:
    _, point_id, old, new = _swap(world)
    token = _token(world, "solar", include_service_points=True)

    def ids(**params: str) -> set[str]:
        found = world.every_page(urls.METER_DEVICES, token, "meter_devices", **params)
        return {m["cds_meterdevice_id"] for m in found}

    assert ids(current_servicepoints=point_id) == {new}
    assert ids(previous_servicepoints=point_id) == {old}
    assert ids(cds_meterdevice_ids=f"{old} nothing") == {old}
    every = world.every_page(urls.METER_DEVICES, token, "meter_devices")
    by_number = {m["meter_number"]: m["cds_meterdevice_id"] for m in every}
    number = next(n for n, i in by_number.items() if i == new)
    assert ids(meter_number=number) == {new}
    assert ids(meter_numbers=" ".join(by_number)) == set(by_number.values())
    assert ids(q=number.lower()) == {new}
    assert ids(q=old.upper()) == {old}
    assert ids(meter_number=number, previous_servicepoints=point_id) == set()


@pytest.mark.req("WG3-10.4.5-b", "WG3-7.2.4.1-a")
def test_number_filter_and_search_need_include_meter_numbers(world: DataWorld) -> None:
    _, _, _, new = _swap(world)
    with world.session() as session:
        number = session.get_one(MeterDevice, new).meter_number or ""
    hidden = world.direct_token("cds_query_meter_devices_1")
    shown = world.direct_token(
        "cds_query_meter_devices_1",
        [{"type": "cds_query_meter_devices_1", "include_meter_numbers": True}],
    )
    for token, expected in ((hidden, []), (shown, [new])):
        for params in ({"meter_number": number}, {"q": number}):
            found = world.every_page(urls.METER_DEVICES, token, "meter_devices", **params)
            assert [m["cds_meterdevice_id"] for m in found] == expected


@pytest.mark.req("WG3-10.4.5-c", "WG3-10.4.5-a", "WG3-6.2.4-a")
def test_newest_modified_first_and_paged_both_ways(world: DataWorld) -> None:
    token = world.direct_token("cds_query_meter_devices_1")
    check_newest_first_and_paged(
        world, urls.METER_DEVICES, token, "meter_devices", "cds_meterdevice_id", MeterDevice, 5
    )


@pytest.mark.req("WG3-10.4.5-b")
def test_malformed_filters_are_400_naming_the_parameter(world: DataWorld) -> None:
    token = world.direct_token("cds_query_meter_devices_1")
    for name, value in (
        ("cds_meterdevice_ids", " "),
        ("meter_number", ""),
        ("meter_numbers", " ".join(["x"] * 1001)),
        ("current_servicepoints", " "),
        ("previous_servicepoints", " "),
        ("cursor", "nonsense"),
        ("q", "x" * 201),
    ):
        answer = world.get(urls.METER_DEVICES, token, **{name: value})
        assert answer.status_code == 400, (name, answer.text)
        body = answer.json()
        assert body["error"] == "invalid_request"
        assert name in body["error_description"]


def test_401_without_a_token_and_403_without_a_meter_scope(world: DataWorld) -> None:
    assert world.http.get(urls.METER_DEVICES).status_code == 401
    accounts_only = world.customer_token("home", "cds_accounts_1")
    answer = world.get(urls.METER_DEVICES, accounts_only)
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient_scope"


@pytest.mark.req("WG3-10.4.1-a")
def test_current_and_previous_are_as_of_today_in_the_utility_timezone(world: DataWorld) -> None:
    """A meter removed tomorrow is still installed; one removed today is not."""
    contract_id, point_id, old, _ = _swap(world)
    today = utcnow().astimezone(world.demo.settings.tz).date()
    token = _token(world, "solar", {contract_id}, include_service_points=True)
    with world.session() as session:
        removed = session.get_one(MeterInstallation, (old, point_id)).end

    def lists(end: date) -> tuple[list[str], list[str]]:
        with world.session() as session:
            session.get_one(MeterInstallation, (old, point_id)).end = end
            session.commit()
        [meter] = world.every_page(
            urls.METER_DEVICES, token, "meter_devices", cds_meterdevice_ids=old
        )
        return meter["current_servicepoints"], meter["previous_servicepoints"]

    def filtered(name: str) -> set[str]:
        found = world.every_page(urls.METER_DEVICES, token, "meter_devices", **{name: point_id})
        return {m["cds_meterdevice_id"] for m in found}

    try:
        assert lists(today + timedelta(days=1)) == ([point_id], [])
        assert old in filtered("current_servicepoints")
        assert old not in filtered("previous_servicepoints")
        assert lists(today) == ([], [point_id])
        assert old not in filtered("current_servicepoints")
        assert old in filtered("previous_servicepoints")
    finally:
        lists(removed or today)


@pytest.mark.req("WG3-7.2.2-b", "WG3-7.2.4-b")
def test_meters_with_contracts_also_reach_the_points_linking_them(world: DataWorld) -> None:
    contract_id, point_id, old, new = _swap(world)
    token = _token(world, "solar", {contract_id}, include_service_contracts=True)
    meters = {
        m["cds_meterdevice_id"]: m
        for m in world.every_page(urls.METER_DEVICES, token, "meter_devices")
    }
    assert meters[new]["current_servicepoints"] == [point_id]
    assert meters[old]["previous_servicepoints"] == [point_id]
    points = world.every_page(urls.SERVICE_POINTS, token, "service_points")
    assert [p["cds_servicepoint_id"] for p in points] == [point_id]
    assert points[0]["current_servicecontracts"] == [contract_id]
