"""CDS-WG3-01 §10.3 Service Points API over HTTP: what each token reaches, current and previous
Service Contracts, field gating, Premises, exact coordinates, filters, order, paging and errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from gridshare import urls
from gridshare.store.db import utcnow
from gridshare.store.jsontext import loads
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.servicepoints import (
    Premise,
    ServicePoint,
    ServicePointContract,
    ServicePointPremise,
)
from tests.cds.data_setup import DataWorld, check_newest_first_and_paged, data_world
from tests.demo.conftest import SmallDemo

SCOPES = ["cds_meters_1", "cds_accounts_1", "cds_query_service_points_1"]
REQUIRED = {
    "cds_servicepoint_id",
    "cds_created",
    "cds_modified",
    "cds_synced",
    "servicepoint_number",
    "servicepoint_types",
    "current_servicecontracts",
    "previous_servicecontracts",
}


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    yield data_world(demo, SCOPES)


def _links_of(world: DataWorld, username: str) -> list[ServicePointContract]:
    """Which of the customer's contracts served through which point, and when."""
    with world.session() as session:
        return list(
            session.scalars(
                select(ServicePointContract)
                .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
                .join(Account, Account.id == ServiceContract.account_id)
                .join(Customer, Customer.id == Account.customer_id)
                .where(Customer.username == username)
            )
        )


def _meters_token(world: DataWorld, username: str, **flags: bool) -> dict[str, Any]:
    """A cds_meters_1 token for every contract of `username` (Service Contract Selection)."""
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
    )


@pytest.mark.req("WG3-10.3.1-a", "WG3-10.3.5-a", "WG3-7.2.3-a")
def test_points_with_their_current_and_previous_contracts(world: DataWorld) -> None:
    """`home` moved house: its old points list the closed contracts as previous, the new ones the
    active contracts as current."""
    links = _links_of(world, "home")
    token = _meters_token(
        world, "home", include_service_points=True, include_service_contracts=True
    )
    answer = world.get(urls.SERVICE_POINTS, token)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"service_points", "next", "previous"}
    points = {p["cds_servicepoint_id"]: p for p in body["service_points"]}
    assert set(points) == {link.service_point_id for link in links}
    for link in links:
        point = points[link.service_point_id]
        assert set(point) == REQUIRED
        if link.end is None:
            assert point["current_servicecontracts"] == [link.contract_id]
            assert point["previous_servicecontracts"] == []
        else:
            assert point["current_servicecontracts"] == []
            assert point["previous_servicecontracts"] == [link.contract_id]
        assert point["servicepoint_number"].startswith("SP")
        assert {"single_service", "physical", "edge"} <= set(point["servicepoint_types"])


@pytest.mark.req("WG3-10.3.1-a")
def test_contract_lists_name_only_contracts_the_token_reaches(world: DataWorld) -> None:
    token = _meters_token(world, "home", include_service_points=True)
    listed = world.every_page(urls.SERVICE_POINTS, token, "service_points")
    assert len(listed) == len({link.service_point_id for link in _links_of(world, "home")})
    for point in listed:
        assert point["current_servicecontracts"] == []
        assert point["previous_servicecontracts"] == []
    # ...and filtering by a contract the token does not reach matches nothing
    contract = _links_of(world, "home")[0].contract_id
    for name in ("current_servicecontracts", "previous_servicecontracts"):
        assert (
            world.every_page(urls.SERVICE_POINTS, token, "service_points", **{name: contract}) == []
        )


@pytest.mark.req("WG3-7.2.3.1-a", "WG3-7.2.3.2-a", "WG3-7.2.3.3-a", "WG3-10.3.3-a")
def test_optional_fields_follow_the_include_flags(world: DataWorld) -> None:
    bare = _meters_token(world, "tenant", include_service_points=True)
    [point] = world.every_page(urls.SERVICE_POINTS, bare, "service_points")
    assert set(point) == REQUIRED
    full = _meters_token(
        world,
        "tenant",
        include_service_points=True,
        include_premises=True,
        include_service_point_addresses=True,
        include_coordinates=True,
    )
    answer = world.get(urls.SERVICE_POINTS, full)
    [point] = answer.json()["service_points"]
    with world.session() as session:
        record = session.get_one(ServicePoint, point["cds_servicepoint_id"])
        premises = session.scalars(
            select(Premise)
            .join(ServicePointPremise, ServicePointPremise.premise_id == Premise.id)
            .where(ServicePointPremise.service_point_id == record.id)
            .order_by(Premise.premise_number)
        ).all()
    assert point["servicepoint_address"] == record.address
    assert [p["premise_number"] for p in point["premises"]] == [p.premise_number for p in premises]
    # the apartment building's unit: a building premise and its meter panel's service group
    assert {t for p in point["premises"] for t in p["types"]} == {"building", "service_group"}
    for premise in point["premises"]:
        assert set(premise) == {"id", "premise_number", "types"}
    # coordinates leave as the exact decimals stored, not as binary floats
    [raw] = loads(answer.content)["service_points"]
    assert isinstance(raw["latitude"], Decimal) and raw["latitude"] == record.latitude
    assert isinstance(raw["longitude"], Decimal) and raw["longitude"] == record.longitude
    assert f'"latitude":{record.latitude}' in answer.text


@pytest.mark.req("WG3-10.3.5-b")
def test_filters(world: DataWorld) -> None:
    token = _meters_token(
        world, "home", include_service_points=True, include_service_contracts=True
    )
    links = _links_of(world, "home")
    ended = {link.contract_id: link.service_point_id for link in links if link.end is not None}
    running = {link.contract_id: link.service_point_id for link in links if link.end is None}

    def ids(**params: str) -> set[str]:
        found = world.every_page(urls.SERVICE_POINTS, token, "service_points", **params)
        return {p["cds_servicepoint_id"] for p in found}

    assert ids(previous_servicecontracts=" ".join(ended)) == set(ended.values())
    assert ids(current_servicecontracts=" ".join(ended)) == set()
    assert ids(current_servicecontracts=" ".join(running)) == set(running.values())
    assert ids(previous_servicecontracts=" ".join(running)) == set()
    every = world.every_page(urls.SERVICE_POINTS, token, "service_points")
    number = every[0]["servicepoint_number"]
    assert ids(servicepoint_numbers=number) == {every[0]["cds_servicepoint_id"]}
    assert ids(cds_servicepoint_ids=every[1]["cds_servicepoint_id"]) == {
        every[1]["cds_servicepoint_id"]
    }
    assert ids(q=number.lower()) == {every[0]["cds_servicepoint_id"]}
    assert ids(servicepoint_numbers=number, current_servicecontracts=" ".join(ended)) == set()


@pytest.mark.req("WG3-10.3.5-b")
def test_search_sees_only_the_fields_the_token_may_see(world: DataWorld) -> None:
    with world.session() as session:
        premise = next(p for p in session.scalars(select(Premise)) if "service_group" in p.types)
        number = premise.premise_number
        point_ids = set(
            session.scalars(
                select(ServicePointPremise.service_point_id).where(
                    ServicePointPremise.premise_id == premise.id
                )
            )
        )
    hidden = world.direct_token("cds_query_service_points_1")
    shown = world.direct_token(
        "cds_query_service_points_1",
        [{"type": "cds_query_service_points_1", "include_premises": True}],
    )
    assert world.every_page(urls.SERVICE_POINTS, hidden, "service_points", q=number) == []
    found = world.every_page(urls.SERVICE_POINTS, shown, "service_points", q=number.lower())
    assert {p["cds_servicepoint_id"] for p in found} == point_ids
    street = "sycamore"
    assert world.every_page(urls.SERVICE_POINTS, hidden, "service_points", q=street) == []
    addresses = world.direct_token(
        "cds_query_service_points_1",
        [{"type": "cds_query_service_points_1", "include_service_point_addresses": True}],
    )
    found = world.every_page(urls.SERVICE_POINTS, addresses, "service_points", q=street)
    assert found and all(street in p["servicepoint_address"].lower() for p in found)


@pytest.mark.req("WG3-10.3.5-c", "WG3-10.3.5-a", "WG3-6.2.3-a")
def test_newest_modified_first_and_paged_both_ways(world: DataWorld) -> None:
    token = world.direct_token("cds_query_service_points_1")
    check_newest_first_and_paged(
        world, urls.SERVICE_POINTS, token, "service_points", "cds_servicepoint_id", ServicePoint, 5
    )


@pytest.mark.req("WG3-10.3.5-b")
def test_malformed_filters_are_400_naming_the_parameter(world: DataWorld) -> None:
    token = world.direct_token("cds_query_service_points_1")
    for name, value in (
        ("cds_servicepoint_ids", " "),
        ("servicepoint_numbers", ""),
        ("current_servicecontracts", " ".join(["x"] * 1001)),
        ("previous_servicecontracts", "  "),
        ("cursor", "nonsense"),
        ("q", " "),
    ):
        answer = world.get(urls.SERVICE_POINTS, token, **{name: value})
        assert answer.status_code == 400, (name, answer.text)
        body = answer.json()
        assert body["error"] == "invalid_request"
        assert name in body["error_description"]


def test_401_without_a_token_and_403_without_a_point_scope(world: DataWorld) -> None:
    assert world.http.get(urls.SERVICE_POINTS).status_code == 401
    accounts_only = world.customer_token("home", "cds_accounts_1")
    answer = world.get(urls.SERVICE_POINTS, accounts_only)
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient_scope"
    meters_only = _meters_token(world, "home")
    assert world.get(urls.SERVICE_POINTS, meters_only).status_code == 403


@pytest.mark.req("WG3-10.3.1-a")
def test_current_and_previous_are_as_of_today_in_the_utility_timezone(world: DataWorld) -> None:
    """A contract ending tomorrow still serves the point; one ending today does not."""
    [link] = [link for link in _links_of(world, "home") if link.end is not None][:1]
    today = utcnow().astimezone(world.demo.settings.tz).date()
    token = _meters_token(
        world, "home", include_service_points=True, include_service_contracts=True
    )

    def lists(end: date) -> tuple[list[str], list[str]]:
        with world.session() as session:
            session.execute(
                update(ServicePointContract)
                .where(
                    ServicePointContract.service_point_id == link.service_point_id,
                    ServicePointContract.contract_id == link.contract_id,
                )
                .values(end=end)
            )
            session.commit()
        [point] = world.every_page(
            urls.SERVICE_POINTS, token, "service_points", cds_servicepoint_ids=link.service_point_id
        )
        return point["current_servicecontracts"], point["previous_servicecontracts"]

    def filtered(name: str) -> list[str]:
        found = world.every_page(
            urls.SERVICE_POINTS, token, "service_points", **{name: link.contract_id}
        )
        return [p["cds_servicepoint_id"] for p in found]

    try:
        assert lists(today + timedelta(days=1)) == ([link.contract_id], [])
        assert filtered("current_servicecontracts") == [link.service_point_id]
        assert filtered("previous_servicecontracts") == []
        assert lists(today) == ([], [link.contract_id])
        assert filtered("current_servicecontracts") == []
        assert filtered("previous_servicecontracts") == [link.service_point_id]
    finally:
        lists(link.end or today)
