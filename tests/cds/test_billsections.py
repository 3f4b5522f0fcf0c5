"""CDS-WG3-01 §10.6 Bill Sections API over HTTP: what each token reaches (delivery and generation
sections, sub-account sections, the section date window), related ids, field gating, usage, cost
and line item details, filters, order, paging and errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gridshare import urls
from gridshare.app import create_app
from gridshare.store.jsontext import loads
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.bills import BillLineItem, BillSection, BillUsageDetail
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.programs import Entity
from gridshare.store.tables.servicepoints import ServicePointContract
from tests.cds.data_setup import DataWorld, data_world
from tests.demo.conftest import SmallDemo

SCOPES = [
    "cds_service_bills_1",
    "cds_accounts_1",
    "cds_query_bill_sections_1",
    "cds_query_bill_statements_1",
]
HISTORY = "P3Y"
"""The furthest back a Grant may reach: the demo's bills (2024-10 to 2025-03) lie within it."""
REQUIRED = {
    "cds_billsection_id",
    "cds_created",
    "cds_modified",
    "cds_synced",
    "cds_billstatement_id",
    "cds_account_id",
    "section_types",
    "start_date",
    "end_date",
    "currency",
    "distribution_entity",
    "supply_entity",
    "related_servicecontracts",
    "related_servicepoints",
    "related_meterdevices",
    "related_billsections",
    "usage_details",
    "cost_details",
}


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    yield data_world(demo, SCOPES)


def _consent(**fields: Any) -> list[dict[str, Any]]:
    return [{"type": "cds_service_bills_1", "start_date": HISTORY, **fields}]


def _query(**fields: Any) -> list[dict[str, Any]]:
    return [{"type": "cds_query_bill_sections_1", "start_date": HISTORY, **fields}]


def _sections(world: DataWorld, username: str | None = None) -> dict[str, BillSection]:
    query = select(BillSection).join(Account, Account.id == BillSection.account_id)
    if username is not None:
        query = query.join(Customer, Customer.id == Account.customer_id).where(
            Customer.username == username
        )
    with world.session() as session:
        return {s.id: s for s in session.scalars(query)}


def _listed(world: DataWorld, token: dict[str, Any], **params: str) -> list[Any]:
    """Every Bill Section listed, decimals read exactly."""
    found: list[Any] = []
    answer = world.get(urls.BILL_SECTIONS, token, **params)
    while True:
        assert answer.status_code == 200, answer.text
        body = loads(answer.text)
        found += body["bill_sections"]
        if body["next"] is None:
            return found
        answer = world.http.get(
            body["next"], headers={"Authorization": f"Bearer {token['access_token']}"}
        )


def _ids(sections: list[Any]) -> set[str]:
    return {s["cds_billsection_id"] for s in sections}


@pytest.mark.req("WG3-6.1.8-c", "WG3-7.2.6-a", "WG3-10.6.1-a", "WG3-10.6.1-b", "WG3-10.6.9-a")
def test_each_bill_has_a_delivery_and_a_generation_section(world: DataWorld) -> None:
    held = _sections(world, "tenant")
    token = world.customer_token("tenant", "cds_service_bills_1", _consent())
    answer = world.get(urls.BILL_SECTIONS, token)
    assert answer.status_code == 200
    assert set(answer.json()) == {"bill_sections", "next", "previous"}
    listed = _listed(world, token)
    assert _ids(listed) == set(held) and len(held) == 12
    with world.session() as session:
        entities = {e.id: e.abbreviation for e in session.scalars(select(Entity))}
    by_id = {s["cds_billsection_id"]: s for s in listed}
    for section in listed:
        stored = held[section["cds_billsection_id"]]
        assert set(section) == REQUIRED | {"account_number", "line_items"}
        assert section["related_servicecontracts"] == [stored.contract_id]
        [other] = section["related_billsections"]
        assert by_id[other]["related_billsections"] == [section["cds_billsection_id"]]
        assert by_id[other]["start_date"] == section["start_date"]
        if "distribution" in section["section_types"]:
            assert section["supply_entity"] is None
            assert entities[section["distribution_entity"]["id"]] == "DG&E"
        else:
            assert section["section_types"][-1] == "supply"
            assert section["distribution_entity"] is None
            assert entities[section["supply_entity"]["id"]] != "DG&E"
        # The Grant does not include Service Points, Meter Devices or Bill Statements.
        assert section["related_servicepoints"] == section["related_meterdevices"] == []
        assert section["cds_billstatement_id"] is None


@pytest.mark.req("WG3-10.6.1-b")
def test_one_entity_supplying_and_delivering_is_the_same_object(world: DataWorld) -> None:
    token = world.customer_token("home", "cds_service_bills_1", _consent())
    both = [
        s for s in _listed(world, token) if {"distribution", "supply"} <= set(s["section_types"])
    ]
    assert both and all(s["distribution_entity"] == s["supply_entity"] for s in both)
    assert set(both[0]["supply_entity"]) == {
        "id",
        "types",
        "entity_number",
        "entity_name",
        "entity_abbreviation",
    }


@pytest.mark.req("WG3-10.6.2-a", "WG3-6.1.8-e", "WG3-7.2.6-a")
def test_a_sub_account_section_comes_with_the_sub_accounts_contract(world: DataWorld) -> None:
    held = _sections(world, "chain")
    pooled = [s for s in held.values() if s.section_types == ["sub_account"]]
    store = pooled[0].account_id
    contracts = {s.contract_id for s in held.values() if s.account_id == store} - {None}
    token = world.customer_token(
        "chain",
        "cds_service_bills_1",
        _consent(include_bill_statements=True, statement_date_start=HISTORY),
        lambda all_: [t for t in all_ if t[1] in contracts],
    )
    listed = _listed(world, token)
    assert _ids(listed) == {s.id for s in held.values() if s.account_id == store}
    subs = [s for s in listed if s["section_types"] == ["sub_account"]]
    assert len(subs) == 6
    for section in subs:
        stored = held[section["cds_billsection_id"]]
        assert section["cds_account_id"] == store  # the store's account, not its parent's
        assert section["related_servicecontracts"] == sorted(contracts)
        assert stored.statement_id is not None
        assert section["cds_billstatement_id"] == stored.statement_id
        assert "line_items" in section
    unbilled = world.customer_token(
        "chain",
        "cds_service_bills_1",
        _consent(),
        lambda all_: [t for t in all_ if t[1] in contracts],
    )
    assert {s["cds_billstatement_id"] for s in _listed(world, unbilled)} == {None}


@pytest.mark.req("WG3-10.6.1-a", "WG3-7.2.6-a")
def test_related_points_and_meters_served_the_contract_during_the_section(
    world: DataWorld,
) -> None:
    held = _sections(world, "tenant")
    [contract_id] = {s.contract_id for s in held.values()}
    with world.session() as session:
        links = list(
            session.scalars(
                select(ServicePointContract).where(ServicePointContract.contract_id == contract_id)
            )
        )
        points = {link.service_point_id for link in links}
        installs = list(
            session.scalars(
                select(MeterInstallation).where(MeterInstallation.service_point_id.in_(points))
            )
        )
    token = world.customer_token(
        "tenant",
        "cds_service_bills_1",
        _consent(include_service_points=True, include_meter_devices=True),
    )
    for section in _listed(world, token):
        first = date.fromisoformat(section["start_date"])
        last = date.fromisoformat(section["end_date"])
        serving = {
            i.meter_id for i in installs if i.start <= last and (i.end is None or i.end > first)
        }
        assert section["related_servicepoints"] == sorted(points)
        assert section["related_meterdevices"] == sorted(serving) and serving


@pytest.mark.req("WG3-7.2.6.1-a", "WG3-7.2.6-a", "WG3-10.6.1-a")
def test_optional_fields_follow_the_include_flags(world: DataWorld) -> None:
    plain = world.customer_token(
        "solar", "cds_service_bills_1", _consent(include_bill_section_line_items=False)
    )
    listed = _listed(world, plain)
    assert listed and all(set(s) == REQUIRED | {"account_number"} for s in listed)
    direct = world.direct_token("cds_query_bill_sections_1", _query())
    listed = _listed(world, direct)
    assert listed and all(set(s) == REQUIRED for s in listed)
    numbered = world.direct_token(
        "cds_query_bill_sections_1",
        _query(include_account_numbers=True, include_bill_section_line_items=True),
    )
    listed = _listed(world, numbered)
    assert all(set(s) == REQUIRED | {"account_number", "line_items"} for s in listed)


@pytest.mark.req(
    "WG3-10.6.3-a",
    "WG3-10.6.4-b",
    "WG3-10.6.5-a",
    "WG3-10.6.5-b",
    "WG3-10.6.7-a",
)
def test_usage_cost_and_line_items_are_exact(world: DataWorld) -> None:
    held = _sections(world, "rural")
    with world.session() as session:
        values = {
            d.id: d.value
            for d in session.scalars(
                select(BillUsageDetail).where(BillUsageDetail.section_id.in_(held))
            )
        }
        costs = {
            i.id: i.cost
            for i in session.scalars(select(BillLineItem).where(BillLineItem.section_id.in_(held)))
        }
    token = world.customer_token("rural", "cds_service_bills_1", _consent())
    listed = _listed(world, token)
    reads = 0
    for section in listed:
        usage_ids = {d["id"] for d in section["usage_details"]}
        cost_ids = {c["id"] for c in section["cost_details"]}
        for detail in section["usage_details"]:
            assert detail["value"] == values[detail["id"]]
            assert isinstance(detail["value"], Decimal | int) and detail["units"]
            if any(t.endswith("_usage") for t in detail["types"]):
                assert detail["start_date"] <= detail["end_date"]
            if "amr_reading" in detail["types"]:
                reads += 1
                assert all(isinstance(detail[f], Decimal | int) for f in ("start_read", "end_read"))
                assert detail["end_read"] - detail["start_read"] == detail["value"]
                assert detail["multiplier"] == 1
        [total] = [c for c in section["cost_details"] if "overall_total" in c["types"]]
        items = section["line_items"]
        assert items and sum(i["cost"] for i in items) == total["cost"]
        for item in items:
            assert item["cost"] == costs[item["id"]]
            assert {"start_date", "end_date", "value", "rate"} <= set(item)
            assert item["value"] is None or "units" in item
            assert set(item["related_usage_details"]) <= usage_ids
            assert set(item["related_cost_details"]) <= cost_ids
    assert reads  # rural's electric meter is read monthly (AMR)


@pytest.mark.req("WG3-7.3.4-a")
def test_a_grant_from_a_start_date_sees_no_earlier_sections(world: DataWorld) -> None:
    held = _sections(world, "tenant")
    assert min(s.start_date for s in held.values()) < date(2025, 1, 1)
    token = world.customer_token("tenant", "cds_service_bills_1", _consent(start_date="2025-01-01"))
    listed = _listed(world, token)
    assert listed and min(s["start_date"] for s in listed) == "2025-01-01"
    assert _ids(listed) == {s.id for s in held.values() if s.start_date >= date(2025, 1, 1)}


@pytest.mark.req("WG3-10.6.9-c", "WG3-10.6.9-a")
def test_ordered_by_account_contract_and_start_then_paged(world: DataWorld) -> None:
    settings = world.demo.settings.model_copy(update={"page_size": 9})
    small = dataclasses.replace(world, http=TestClient(create_app(settings, world.demo.engine)))
    token = small.direct_token("cds_query_bill_sections_1", _query())
    listed = _listed(small, token)
    held = _sections(world)
    with world.session() as session:
        numbers = {c.id: c.contract_number or "" for c in session.scalars(select(ServiceContract))}

    def key(section: BillSection) -> tuple[str, str, date, float, str]:
        number = numbers[section.contract_id] if section.contract_id else ""
        return (
            section.account_number,
            number,
            section.start_date,
            -section.modified.timestamp(),
            section.id,
        )

    assert [s["cds_billsection_id"] for s in listed] == [
        s.id for s in sorted(held.values(), key=key)
    ]
    first = small.get(urls.BILL_SECTIONS, token).json()
    assert first["previous"] is None and first["next"]
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    second = small.http.get(first["next"], headers=auth).json()
    assert [s["cds_billsection_id"] for s in second["bill_sections"]] == [
        s["cds_billsection_id"] for s in listed[9:18]
    ]
    back = small.http.get(second["previous"], headers=auth).json()
    assert back["bill_sections"] == first["bill_sections"]


@pytest.mark.req("WG3-10.6.9-b")
def test_filters(world: DataWorld) -> None:
    token = world.direct_token(
        "cds_query_bill_sections_1 cds_query_bill_statements_1",
        [
            *_query(
                include_accounts=True,
                include_account_numbers=True,
                include_service_contracts=True,
                include_contract_numbers=True,
            ),
            {"type": "cds_query_bill_statements_1", "statement_date_start": HISTORY},
        ],
    )
    every = _listed(world, token)
    sub = next(s for s in every if s["section_types"] == ["sub_account"])
    with world.session() as session:
        numbers = {c.id: c.contract_number for c in session.scalars(select(ServiceContract))}

    def ids(**params: str) -> set[str]:
        return _ids(_listed(world, token, **params))

    def where(test: Any) -> set[str]:
        return {s["cds_billsection_id"] for s in every if test(s)}

    assert ids(cds_billsection_ids=f"{sub['cds_billsection_id']} nope") == {
        sub["cds_billsection_id"]
    }
    assert ids(before="2025-01-15") == where(lambda s: s["start_date"] <= "2025-01-15")
    assert ids(after="2025-01-15") == where(lambda s: s["end_date"] >= "2025-01-15")
    statement = sub["cds_billstatement_id"]
    assert statement is not None
    assert ids(cds_billstatement_ids=statement) == where(
        lambda s: s["cds_billstatement_id"] == statement
    )
    assert len(ids(cds_billstatement_ids=statement)) > 12  # a chain bill: every store
    account = sub["cds_account_id"]
    assert ids(cds_account_ids=account) == where(lambda s: s["cds_account_id"] == account)
    number = sub["account_number"]
    assert ids(account_numbers=number) == where(lambda s: s["account_number"] == number)
    [contract] = sub["related_servicecontracts"]
    by_contract = where(lambda s: contract in s["related_servicecontracts"])
    assert sub["cds_billsection_id"] in by_contract and len(by_contract) == 12
    assert ids(cds_servicecontract_ids=contract) == by_contract
    assert ids(contract_numbers=f"{numbers[contract]} SA-0") == by_contract
    unrelated = world.direct_token("cds_query_bill_sections_1", _query())
    hidden = _listed(world, unrelated)
    assert all(s["related_servicecontracts"] == [] for s in hidden)
    assert {s["cds_account_id"] for s in hidden} == {None}
    for name, value in (
        ("cds_account_ids", account),
        ("cds_servicecontract_ids", contract),
        ("contract_numbers", str(numbers[contract])),
        ("cds_billstatement_ids", statement),
        ("account_numbers", number),
    ):
        # What this token may not see on a section cannot be matched either.
        assert _listed(world, unrelated, **{name: value}) == [], name


@pytest.mark.req("WG3-10.6.9-b")
def test_bad_parameters_are_400_naming_them(world: DataWorld) -> None:
    token = world.direct_token("cds_query_bill_sections_1", _query())
    for name, value in (
        ("before", "2025-02-30"),
        ("after", "01/15/2025"),
        ("contract_numbers", " "),
        ("cds_billsection_ids", " ".join(["x"] * 1001)),
        ("cursor", "nonsense"),
    ):
        answer = world.get(urls.BILL_SECTIONS, token, **{name: value})
        assert answer.status_code == 400, (name, answer.text)
        assert answer.json()["error"] == "invalid_request"
        assert name in answer.json()["error_description"]


def test_without_a_token_401_and_without_the_scope_403(world: DataWorld) -> None:
    assert world.http.get(urls.BILL_SECTIONS).status_code == 401
    accounts_only = world.customer_token("home", "cds_accounts_1")
    answer = world.get(urls.BILL_SECTIONS, accounts_only)
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient_scope"
