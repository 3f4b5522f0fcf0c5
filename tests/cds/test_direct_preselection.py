"""Direct access with preselection fields (CDS-WG3-01 §6.2, §7.1.x "Direct access"): the objects of
a kind a field names are only the listed ones, wherever the token reaches them from, and the
scope's objects are those related to what the fields name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from gridshare import urls
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import Aggregation
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import (
    Premise,
    ServicePoint,
    ServicePointContract,
    ServicePointPremise,
)
from tests.cds.data_setup import DataWorld, data_world
from tests.demo.conftest import SmallDemo

SCOPES = [
    "cds_query_service_contracts_1",
    "cds_query_service_points_1",
    "cds_query_meter_devices_1",
    "cds_query_aggregations_1",
]
EVERYTHING = {
    "include_accounts": True,
    "include_service_contracts": True,
    "include_service_points": True,
    "include_meter_devices": True,
}


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    yield data_world(demo, SCOPES)


def _ids(world: DataWorld, token: dict[str, Any], url: str, name: str, key: str) -> set[str]:
    return {item[key] for item in world.every_page(url, token, name)}


def _several(world: DataWorld) -> tuple[Account, list[ServiceContract]]:
    """An account with several contracts (the demo's home: electric and gas, old and new house)."""
    with world.session() as session:
        accounts = session.scalars(
            select(Account).join(Customer).where(Customer.username == "home")
        ).all()
        for account in sorted(accounts, key=lambda a: a.id):
            contracts = session.scalars(
                select(ServiceContract).where(ServiceContract.account_id == account.id)
            ).all()
            if len(contracts) > 1:
                return account, list(contracts)
    raise AssertionError("the demo has no account with several contracts")


@pytest.mark.req("WG3-7.1.1-c", "WG3-6.2-b")
def test_account_numbers_keep_other_accounts_out(world: DataWorld) -> None:
    account, contracts = _several(world)
    entry = {"type": "cds_query_service_contracts_1", "account_numbers": [account.account_number]}
    token = world.direct_token("cds_query_service_contracts_1", [entry | EVERYTHING])
    assert _ids(world, token, urls.ACCOUNTS, "accounts", "cds_account_id") == {account.id}
    listed = _ids(
        world, token, urls.SERVICE_CONTRACTS, "service_contracts", "cds_servicecontract_id"
    )
    assert listed == {c.id for c in contracts}


@pytest.mark.req("WG3-7.1.3-c")
def test_contract_numbers_keep_the_accounts_other_contracts_out(world: DataWorld) -> None:
    account, contracts = _several(world)
    one = sorted(contracts, key=lambda c: c.id)[0]
    entry = {"type": "cds_query_service_contracts_1", "contract_numbers": [one.contract_number]}
    token = world.direct_token("cds_query_service_contracts_1", [entry | EVERYTHING])
    listed = _ids(
        world, token, urls.SERVICE_CONTRACTS, "service_contracts", "cds_servicecontract_id"
    )
    assert listed == {one.id}
    assert _ids(world, token, urls.ACCOUNTS, "accounts", "cds_account_id") == {account.id}


@pytest.mark.req("WG3-7.1.6-c", "WG3-7.1.8-b")
def test_service_point_and_premise_numbers_keep_other_points_out(world: DataWorld) -> None:
    with world.session() as session:
        point, premise = session.execute(
            select(ServicePoint, Premise)
            .join(ServicePointPremise, ServicePointPremise.service_point_id == ServicePoint.id)
            .join(Premise, Premise.id == ServicePointPremise.premise_id)
            .join(ServicePointContract, ServicePointContract.service_point_id == ServicePoint.id)
            .order_by(ServicePoint.id)
        ).first()
        in_premise = set(
            session.scalars(
                select(ServicePointPremise.service_point_id).where(
                    ServicePointPremise.premise_id == premise.id
                )
            )
        )
    by_number = world.direct_token(
        "cds_query_service_points_1",
        [
            {
                "type": "cds_query_service_points_1",
                "servicepoint_numbers": [point.servicepoint_number],
            }
            | EVERYTHING
        ],
    )
    assert _ids(world, by_number, urls.SERVICE_POINTS, "service_points", "cds_servicepoint_id") == {
        point.id
    }
    by_premise = world.direct_token(
        "cds_query_service_points_1",
        [
            {"type": "cds_query_service_points_1", "premise_numbers": [premise.premise_number]}
            | EVERYTHING
        ],
    )
    listed = _ids(world, by_premise, urls.SERVICE_POINTS, "service_points", "cds_servicepoint_id")
    assert point.id in listed and listed <= in_premise


@pytest.mark.req("WG3-7.1.9-c")
def test_meter_numbers_keep_the_points_other_meters_out(world: DataWorld) -> None:
    """A service point with a swapped meter (the demo's solar home): naming the meter installed now
    never lists the one it replaced, though both measured the same point."""
    with world.session() as session:
        installed = session.scalars(
            select(MeterInstallation).order_by(MeterInstallation.meter_id)
        ).all()
        at: dict[str, list[MeterInstallation]] = {}
        for installation in installed:
            at.setdefault(installation.service_point_id, []).append(installation)
        swapped = next(i for i in at.values() if len(i) > 1)
        current = next(i.meter_id for i in swapped if i.end is None)
        number = session.scalar(select(MeterDevice.meter_number).where(MeterDevice.id == current))
    token = world.direct_token(
        "cds_query_meter_devices_1",
        [{"type": "cds_query_meter_devices_1", "meter_numbers": [number]} | EVERYTHING],
    )
    listed = _ids(world, token, urls.METER_DEVICES, "meter_devices", "cds_meterdevice_id")
    assert listed == {current}


@pytest.mark.req("WG3-7.1.12-c")
def test_aggregation_numbers_keep_other_aggregations_out(world: DataWorld) -> None:
    with world.session() as session:
        numbers = sorted(
            n for n in session.scalars(select(Aggregation.aggregation_number)) if n is not None
        )
        wanted = session.scalar(
            select(Aggregation.id).where(Aggregation.aggregation_number == numbers[0])
        )
    token = world.direct_token(
        "cds_query_aggregations_1",
        [{"type": "cds_query_aggregations_1", "aggregation_numbers": numbers[:1]}],
    )
    assert _ids(world, token, urls.AGGREGATIONS, "aggregations", "cds_aggregation_id") == {wanted}


@pytest.mark.req("WG3-7.1.1-c")
def test_a_listed_child_accounts_parent_stays_out(world: DataWorld) -> None:
    """With include_accounts a child account's parent is related (§7.2.1); naming the child in
    `account_numbers` keeps the parent out all the same."""
    with world.session() as session:
        child = session.scalars(
            select(Account).where(Account.parent_id.is_not(None)).order_by(Account.id)
        ).first()
        assert child is not None
    entry = {"type": "cds_query_service_contracts_1", "account_numbers": [child.account_number]}
    token = world.direct_token("cds_query_service_contracts_1", [entry | EVERYTHING])
    assert _ids(world, token, urls.ACCOUNTS, "accounts", "cds_account_id") == {child.id}
    for contract in world.every_page(urls.SERVICE_CONTRACTS, token, "service_contracts"):
        assert contract["cds_account_id"] == child.id
