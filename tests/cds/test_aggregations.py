"""CDS-WG3-01 §10.7 Aggregations API over HTTP: what each token reaches, which members it sees,
field gating, filters, order, paging and errors.

Besides the demo's whole-building Aggregation (Sycamore Court, whose units include the `tenant`
login), the module adds a second building grouping the `home` login's meter, a municipality
grouping both buildings, a state-wide one with a geographic region and no members, and one
without an `aggregation_number`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gridshare import urls
from gridshare.app import create_app
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import (
    Aggregation,
    AggregationMember,
    AggregationRegion,
    ConsentRequirement,
)
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import ServicePointContract
from tests.cds.data_setup import DataWorld, data_world
from tests.demo.conftest import SmallDemo

SCOPES = ["cds_usage_1", "cds_accounts_1", "cds_query_aggregations_1"]
BUILDING = "BLDG-DAVIS-0120"
OTHER_BUILDING = "BLDG-DAVIS-0450"
REQUIRED = {
    "cds_aggregation_id",
    "cds_created",
    "cds_modified",
    "cds_synced",
    "aggregation_types",
    "aggregation_number",
    "scope",
    "authorization_details",
    "grouped_accounts",
    "grouped_servicecontracts",
    "grouped_servicepoints",
    "grouped_meterdevices",
    "grouped_aggregations",
    "grouped_regions",
    "consent_requirements",
}


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    found = data_world(demo, SCOPES)
    _add_aggregations(found)
    yield found


def _moment(day: int) -> datetime:
    return datetime(2025, 2, day, 12, tzinfo=UTC)


def _add_aggregations(world: DataWorld) -> None:
    with world.session() as session:
        building = session.scalars(
            select(Aggregation).where(Aggregation.aggregation_number == BUILDING)
        ).one()
        home_meter = _meters_of(session, "home")[0]
        session.add_all(
            [
                Aggregation(
                    id="agg_test_elm",
                    aggregation_number=OTHER_BUILDING,
                    name="450 Elm (whole building)",
                    types=["building", "confidential"],
                    details={},
                    addresses=["450 Elm St\nDavis, CA 95616"],
                    created=_moment(1),
                    modified=_moment(5),
                    synced=_moment(5),
                ),
                Aggregation(
                    id="agg_test_davis",
                    aggregation_number="MUNI-DAVIS",
                    name="City of Davis",
                    types=["municipality", "public"],
                    details={"municipalities": ["Davis"]},
                    addresses=[],
                    created=_moment(1),
                    modified=_moment(4),
                    synced=_moment(4),
                ),
                Aggregation(
                    id="agg_test_ca",
                    aggregation_number="STATE-CA",
                    name="California",
                    types=["country", "province", "region", "public"],
                    details={"countries": ["US"], "provinces": ["California"]},
                    addresses=[],
                    created=_moment(1),
                    modified=_moment(4),
                    synced=_moment(4),
                ),
                Aggregation(
                    id="agg_test_unnumbered",
                    aggregation_number=None,
                    name="Internal study group",
                    types=["confidential"],
                    details={},
                    addresses=[],
                    created=_moment(1),
                    modified=_moment(2),
                    synced=_moment(2),
                ),
            ]
        )
        session.flush()
        session.add_all(
            [
                AggregationMember(aggregation_id="agg_test_elm", meter_id=home_meter),
                AggregationMember(
                    aggregation_id="agg_test_davis", member_aggregation_id=building.id
                ),
                AggregationMember(
                    aggregation_id="agg_test_davis", member_aggregation_id="agg_test_elm"
                ),
                AggregationRegion(
                    id="region_test_ca",
                    aggregation_id="agg_test_ca",
                    name="California service territory",
                    types=["geographic"],
                    details={
                        "map_resource": None,
                        "map_content_type": None,
                        "geojson_resource": "http://testserver/maps/ca.geojson",
                    },
                ),
                ConsentRequirement(
                    id="consent_test_elm",
                    aggregation_id="agg_test_elm",
                    name="Owner consent",
                    types=["never"],
                    documentation="http://testserver/docs/aggregations#owner",
                ),
            ]
        )
        session.commit()


def _meters_of(session: Any, username: str) -> list[str]:
    return sorted(
        set(
            session.scalars(
                select(MeterInstallation.meter_id)
                .join(
                    ServicePointContract,
                    ServicePointContract.service_point_id == MeterInstallation.service_point_id,
                )
                .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
                .join(Account, Account.id == ServiceContract.account_id)
                .join(Customer, Customer.id == Account.customer_id)
                .where(Customer.username == username)
            )
        )
    )


def _contracts_of(session: Any, username: str) -> set[str]:
    return set(
        session.scalars(
            select(ServiceContract.id)
            .join(Account, Account.id == ServiceContract.account_id)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Customer.username == username)
        )
    )


def _members(world: DataWorld, number: str) -> dict[str, set[str]]:
    with world.session() as session:
        rows = session.scalars(
            select(AggregationMember)
            .join(Aggregation, Aggregation.id == AggregationMember.aggregation_id)
            .where(Aggregation.aggregation_number == number)
        ).all()
        return {
            "contracts": {r.contract_id for r in rows if r.contract_id},
            "points": {r.service_point_id for r in rows if r.service_point_id},
            "meters": {r.meter_id for r in rows if r.meter_id},
        }


def _by_number(listed: list[dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
    return {a["aggregation_number"]: a for a in listed}


@pytest.mark.req("WG3-7.2.7-a", "WG3-10.7.1-a", "WG3-10.7.8-a")
def test_a_tenant_sees_only_their_own_unit_in_the_building(world: DataWorld) -> None:
    token = world.customer_token(
        "tenant", "cds_usage_1", [{"type": "cds_usage_1", "include_aggregations": True}]
    )
    answer = world.get(urls.AGGREGATIONS, token)
    assert answer.status_code == 200
    assert set(answer.json()) == {"aggregations", "next", "previous"}
    listed = _by_number(answer.json()["aggregations"])
    assert BUILDING in listed
    assert OTHER_BUILDING not in listed and "STATE-CA" not in listed and None not in listed
    building = listed[BUILDING]
    assert set(building) == REQUIRED
    members = _members(world, BUILDING)
    with world.session() as session:
        own_meters = set(_meters_of(session, "tenant"))
    assert len(members["meters"]) > 1
    assert building["grouped_meterdevices"] == sorted(members["meters"] & own_meters)
    assert len(building["grouped_meterdevices"]) == 1
    # cds_usage_1 reaches no Accounts, Service Contracts or Service Points unless asked.
    assert building["grouped_accounts"] == []
    assert building["grouped_servicecontracts"] == []
    assert building["grouped_servicepoints"] == []
    every_id = {a["cds_aggregation_id"] for a in listed.values()}
    for aggregation in listed.values():
        assert set(aggregation["grouped_aggregations"]) <= every_id
        assert "agg_test_elm" not in aggregation["grouped_aggregations"]


@pytest.mark.req("WG3-7.2.7.1-a", "WG3-7.2.7-a")
def test_more_flags_show_more_members_and_the_addresses(world: DataWorld) -> None:
    token = world.customer_token(
        "tenant",
        "cds_usage_1",
        [
            {
                "type": "cds_usage_1",
                "include_aggregations": True,
                "include_aggregation_addresses": True,
                "include_service_contracts": True,
            }
        ],
    )
    building = _by_number(world.every_page(urls.AGGREGATIONS, token, "aggregations"))[BUILDING]
    with world.session() as session:
        own_contracts = _contracts_of(session, "tenant")
    members = _members(world, BUILDING)
    assert len(members["contracts"]) > 1
    assert building["grouped_servicecontracts"] == sorted(members["contracts"] & own_contracts)
    assert building["grouped_servicecontracts"] != []
    assert building["grouped_addresses"] == ["120 Sycamore Ln\nDavis, CA 95616"]


@pytest.mark.req("WG3-7.2.7-a")
def test_another_customer_reaches_only_their_own_building(world: DataWorld) -> None:
    token = world.customer_token(
        "home", "cds_usage_1", [{"type": "cds_usage_1", "include_aggregations": True}]
    )
    listed = _by_number(world.every_page(urls.AGGREGATIONS, token, "aggregations"))
    assert OTHER_BUILDING in listed
    assert BUILDING not in listed
    with world.session() as session:
        home_meter = _meters_of(session, "home")[0]
    assert listed[OTHER_BUILDING]["grouped_meterdevices"] == [home_meter]
    without = world.customer_token("home", "cds_usage_1")
    assert world.get(urls.AGGREGATIONS, without).status_code == 403


@pytest.mark.req(
    "WG3-6.2.7-a",
    "WG3-10.7.1-a",
    "WG3-10.7.2-b",
    "WG3-10.7.3-a",
    "WG3-10.7.4-b",
    "WG3-10.7.4-c",
    "WG3-10.7.5-a",
    "WG3-10.7.6-a",
)
def test_direct_access_lists_every_aggregation_with_its_objects(world: DataWorld) -> None:
    token = world.direct_token("cds_query_aggregations_1")
    every = world.every_page(urls.AGGREGATIONS, token, "aggregations")
    with world.session() as session:
        assert {a["cds_aggregation_id"] for a in every} == set(
            session.scalars(select(Aggregation.id))
        )
    listed = _by_number(every)
    for aggregation in every:
        assert set(aggregation) == REQUIRED | _type_fields(aggregation)
    # No Service Point, Meter Device, ... is reached: the grouped lists stay empty.
    assert listed[BUILDING]["grouped_servicepoints"] == []
    assert listed[BUILDING]["grouped_meterdevices"] == []
    assert listed["MUNI-DAVIS"]["municipalities"] == ["Davis"]
    assert sorted(listed["MUNI-DAVIS"]["grouped_aggregations"]) == sorted(
        [listed[BUILDING]["cds_aggregation_id"], "agg_test_elm"]
    )
    state = listed["STATE-CA"]
    assert state["countries"] == ["US"] and state["provinces"] == ["California"]
    assert state["grouped_regions"] == [
        {
            "id": "region_test_ca",
            "name": "California service territory",
            "types": ["geographic"],
            "map_resource": None,
            "map_content_type": None,
            "geojson_resource": "http://testserver/maps/ca.geojson",
        }
    ]
    [region] = listed[BUILDING]["grouped_regions"]
    assert region["types"] == ["postal_code"] and region["postal_codes"] == ["95616"]
    [requirement] = listed[BUILDING]["consent_requirements"]
    assert set(requirement) == {"id", "name", "types", "documentation"}
    assert requirement["types"][0] in ("always", "sometimes", "never")
    assert listed[OTHER_BUILDING]["consent_requirements"][0]["types"] == ["never"]
    assert listed[None]["aggregation_number"] is None


def _type_fields(aggregation: dict[str, Any]) -> set[str]:
    fields = {"country": "countries", "province": "provinces", "municipality": "municipalities"}
    return {fields[t] for t in aggregation["aggregation_types"] if t in fields}


@pytest.mark.req("WG3-10.7.1-a")
def test_scope_names_the_usage_query_for_aggregations_with_data(world: DataWorld) -> None:
    token = world.direct_token("cds_query_aggregations_1")
    listed = _by_number(world.every_page(urls.AGGREGATIONS, token, "aggregations"))
    assert listed[BUILDING]["scope"] == "cds_query_usage_1"
    assert listed[BUILDING]["authorization_details"] == [
        {"type": "cds_query_usage_1", "aggregation_numbers": [BUILDING]}
    ]
    # Without members (no data) or without a number to request it by: nothing to request.
    for number in ("STATE-CA", None):
        assert listed[number]["scope"] == ""
        assert listed[number]["authorization_details"] == []


@pytest.mark.req("WG3-7.2.7.1-a", "WG3-7.2.7-a")
def test_direct_flags_show_addresses_and_members(world: DataWorld) -> None:
    plain = world.direct_token("cds_query_aggregations_1")
    for aggregation in world.every_page(urls.AGGREGATIONS, plain, "aggregations"):
        assert "grouped_addresses" not in aggregation
    token = world.direct_token(
        "cds_query_aggregations_1",
        [
            {
                "type": "cds_query_aggregations_1",
                "include_aggregation_addresses": True,
                "include_service_points": True,
            }
        ],
    )
    listed = _by_number(world.every_page(urls.AGGREGATIONS, token, "aggregations"))
    assert listed[BUILDING]["grouped_addresses"] == ["120 Sycamore Ln\nDavis, CA 95616"]
    assert listed["STATE-CA"]["grouped_addresses"] == []
    assert set(listed[BUILDING]["grouped_servicepoints"]) == _members(world, BUILDING)["points"]
    assert listed[BUILDING]["grouped_meterdevices"] == []


@pytest.mark.req("WG3-10.7.8-b")
def test_filters(world: DataWorld) -> None:
    token = world.direct_token("cds_query_aggregations_1")

    def numbers(**params: str) -> list[str | None]:
        found = world.every_page(urls.AGGREGATIONS, token, "aggregations", **params)
        return sorted((a["aggregation_number"] for a in found), key=str)

    assert numbers(aggregation_numbers=f"{BUILDING} STATE-CA") == [BUILDING, "STATE-CA"]
    assert numbers(cds_aggregation_ids="agg_test_elm agg_unknown") == [OTHER_BUILDING]
    assert numbers(aggregation_types="building") == [BUILDING, OTHER_BUILDING]
    assert numbers(aggregation_types="municipality province") == ["MUNI-DAVIS", "STATE-CA"]
    assert numbers(aggregation_types="account_number") == []
    assert numbers(aggregation_types="building public", aggregation_numbers="STATE-CA") == [
        "STATE-CA"
    ]
    assert numbers(q="bldg-davis-01") == [BUILDING]
    assert numbers(q="AGG_TEST_UNNUM") == [None]
    assert numbers(q="territory") == ["STATE-CA"]  # an Aggregation Region's name
    assert numbers(q="region_test_ca") == ["STATE-CA"]  # and its id
    # Addresses are searched only when the token may see them.
    assert numbers(q="elm st") == []
    with_addresses = world.direct_token(
        "cds_query_aggregations_1",
        [{"type": "cds_query_aggregations_1", "include_aggregation_addresses": True}],
    )
    found = world.every_page(urls.AGGREGATIONS, with_addresses, "aggregations", q="elm st")
    assert [a["aggregation_number"] for a in found] == [OTHER_BUILDING]


@pytest.mark.req("WG3-10.7.8-b")
def test_bad_filters_are_400_naming_the_parameter(world: DataWorld) -> None:
    token = world.direct_token("cds_query_aggregations_1")
    for params, name in (
        ({"aggregation_types": "building town"}, "aggregation_types"),
        ({"cds_aggregation_ids": " "}, "cds_aggregation_ids"),
        ({"aggregation_numbers": " ".join(["x"] * 1001)}, "aggregation_numbers"),
        ({"q": " "}, "q"),
        ({"cursor": "nonsense"}, "cursor"),
    ):
        answer = world.get(urls.AGGREGATIONS, token, **params)
        assert answer.status_code == 400, params
        assert answer.json()["error"] == "invalid_request"
        assert name in answer.json()["error_description"]


@pytest.mark.req("WG3-10.7.8-a", "WG3-10.7.8-c")
def test_newest_modified_first_and_paged(world: DataWorld) -> None:
    small = world.demo.settings.model_copy(update={"page_size": 2})
    http = TestClient(create_app(small, world.demo.engine))
    token = world.direct_token("cds_query_aggregations_1")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    pages = [http.get(urls.AGGREGATIONS, headers=headers).json()]
    while pages[-1]["next"] is not None:
        pages.append(http.get(pages[-1]["next"], headers=headers).json())
    assert len(pages) == 3
    assert pages[0]["previous"] is None and pages[1]["previous"] is not None
    listed = [a for page in pages for a in page["aggregations"]]
    with world.session() as session:
        expected = [
            a.id
            for a in sorted(
                session.scalars(select(Aggregation)), key=lambda a: (-a.modified.timestamp(), a.id)
            )
        ]
    assert [a["cds_aggregation_id"] for a in listed] == expected
    # Two Aggregations share a cds_modified: the id breaks the tie.
    assert expected.index("agg_test_ca") < expected.index("agg_test_davis")
    back = http.get(pages[1]["previous"], headers=headers).json()
    assert back["aggregations"] == pages[0]["aggregations"]


def test_without_a_token_401_and_without_the_scope_403(world: DataWorld) -> None:
    assert world.http.get(urls.AGGREGATIONS).status_code == 401
    assert world.get(urls.AGGREGATIONS, "not-a-token").status_code == 401
    accounts_only = world.customer_token("tenant", "cds_accounts_1")
    answer = world.get(urls.AGGREGATIONS, accounts_only)
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient_scope"
