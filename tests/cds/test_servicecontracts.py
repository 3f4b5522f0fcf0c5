"""CDS-WG3-01 §10.2 Service Contracts API over HTTP: what each token reaches, field gating,
Service Programs, filters, order, paging and errors."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from gridshare import urls
from gridshare.store.jsontext import loads
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.programs import Participation
from tests.cds.data_setup import DataWorld, check_newest_first_and_paged, data_world
from tests.demo.conftest import SmallDemo

SCOPES = [
    "cds_service_contracts_1",
    "cds_rate_plan_1",
    "cds_accounts_1",
    "cds_query_service_contracts_1",
]
REQUIRED = {
    "cds_servicecontract_id",
    "cds_created",
    "cds_modified",
    "cds_synced",
    "cds_account_id",
    "contract_types",
    "contract_status",
    "service_types",
}
EVERYTHING = {
    "type": "cds_service_contracts_1",
    "include_account_numbers": True,
    "include_contract_numbers": True,
    "include_rate_plans": True,
    "include_service_contract_details": True,
    "include_service_programs": True,
}


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    yield data_world(demo, SCOPES)


def _contracts_of(world: DataWorld, username: str) -> dict[str, ServiceContract]:
    with world.session() as session:
        return {
            c.id: c
            for c in session.scalars(
                select(ServiceContract)
                .join(Account, Account.id == ServiceContract.account_id)
                .join(Customer, Customer.id == Account.customer_id)
                .where(Customer.username == username)
            )
        }


def _only(ids: set[str]) -> Any:
    return lambda all_: [(n, v) for n, v in all_ if v in ids]


@pytest.mark.req("WG3-10.2.7-a", "WG3-6.1.1-c")
def test_a_customer_token_lists_exactly_the_ticked_contracts(world: DataWorld) -> None:
    held = _contracts_of(world, "home")
    picked = {c.id for c in held.values() if c.status == "closed"}
    assert len(picked) == 2 and len(held) == 4
    token = world.customer_token("home", "cds_rate_plan_1", choose=_only(picked))
    answer = world.get(urls.SERVICE_CONTRACTS, token)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"service_contracts", "next", "previous"}
    assert {c["cds_servicecontract_id"] for c in body["service_contracts"]} == picked
    unticked = sorted(set(held) - picked)
    other = sorted(_contracts_of(world, "solar"))
    for ids in (unticked, other):
        found = world.every_page(
            urls.SERVICE_CONTRACTS,
            token,
            "service_contracts",
            cds_servicecontract_ids=" ".join(ids),
        )
        assert found == []


@pytest.mark.req("WG3-6.1.5-c", "WG3-7.2.1-a")
def test_contracts_scope_lists_only_the_ticked_contracts_and_their_account(
    world: DataWorld,
) -> None:
    """cds_service_contracts treats include_accounts as true, so the ticked contracts' Account is
    reached; the Account's other contracts are not (the Customer did not tick them;
    docs/spec-decisions.md)."""
    held = _contracts_of(world, "home")
    picked = {c.id for c in held.values() if c.status == "closed"}
    assert picked and picked != set(held)
    token = world.customer_token("home", "cds_service_contracts_1", choose=_only(picked))
    listed = world.every_page(urls.SERVICE_CONTRACTS, token, "service_contracts")
    assert {c["cds_servicecontract_id"] for c in listed} == picked
    assert {c["cds_account_id"] for c in listed} == {held[c].account_id for c in picked}


@pytest.mark.req("WG3-7.2.2-c", "WG3-10.2.1-a", "WG3-7.2.2.1-a")
def test_without_include_flags_only_the_required_fields(world: DataWorld) -> None:
    token = world.customer_token(
        "solar",
        "cds_service_contracts_1",
        [{"type": "cds_service_contracts_1", "include_contract_numbers": False}],
    )
    listed = world.every_page(urls.SERVICE_CONTRACTS, token, "service_contracts")
    assert {c["cds_servicecontract_id"] for c in listed} == set(_contracts_of(world, "solar"))
    for contract in listed:
        assert set(contract) == REQUIRED
        # cds_service_contracts treats include_accounts as true: the Account is reachable
        assert contract["cds_account_id"].startswith("acct_")
        assert contract["contract_status"] in ("active", "paused", "stopped", "closed", "unknown")
        assert set(contract["contract_types"]) <= {
            "utility_service",
            "project",
            "billed_monthly",
            "billed_quarterly",
        }


@pytest.mark.req(
    "WG3-7.2.1.1-a",
    "WG3-7.2.2.1-a",
    "WG3-7.2.2.2-a",
    "WG3-7.2.2.3-a",
    "WG3-7.2.2.4-a",
    "WG3-10.2.1-a",
    "WG3-10.2.5-a",
    "WG3-10.2.6-b",
)
def test_every_include_flag_adds_its_fields(world: DataWorld) -> None:
    token = world.customer_token("solar", "cds_service_contracts_1", [EVERYTHING])
    answer = world.get(urls.SERVICE_CONTRACTS, token)
    assert answer.status_code == 200
    held = _contracts_of(world, "solar")
    with world.session() as session:
        account = session.get_one(Account, next(iter(held.values())).account_id)
        plans = {p.id: p for p in session.scalars(select(RatePlan))}
        nem = session.scalars(select(Participation).where(Participation.balance.is_not(None))).one()
    by_id = {c["cds_servicecontract_id"]: c for c in answer.json()["service_contracts"]}
    assert set(by_id) == set(held)
    for contract_id, contract in by_id.items():
        record = held[contract_id]
        plan = plans[record.rate_plan_id or ""]
        assert contract["account_number"] == account.account_number
        assert contract["contract_number"] == record.contract_number
        assert contract["contract_address"] == record.address
        assert contract["contract_start"] == (record.start.isoformat() if record.start else None)
        assert contract["contract_end"] is None  # both still active
        assert contract["rateplan_code"] == plan.code
        assert contract["rateplan_name"] == plan.name
        entity = contract["contract_entity"]
        assert entity["entity_number"] == "US-CA-IOU-DG&E"
        assert set(entity) == {"id", "types", "entity_number", "entity_name", "entity_abbreviation"}
        assert isinstance(contract["service_programs"], list)
    electric = by_id[nem.contract_id or ""]
    programs = {p["program_number"]: p for p in electric["service_programs"]}
    assert set(programs) == {"DGE-NEM", "DGE-PDR"}
    bank = programs["DGE-NEM"]
    assert bank["types"] == ["active", "credit_bank"]
    assert bank["units"] == "kWh"
    assert "currency" not in bank  # the balance is in kWh, not money
    assert "balance_units" not in bank
    # the balance leaves as the exact decimal it is
    raw = loads(answer.content)
    raw_bank = next(
        p
        for c in raw["service_contracts"]
        for p in c["service_programs"]
        if p["program_number"] == "DGE-NEM"
    )
    assert raw_bank["balance"] == nem.balance
    assert isinstance(raw_bank["balance"], Decimal)
    left = programs["DGE-PDR"]
    assert left["types"][0] == "inactive" and "demand_response" in left["types"]
    assert {"id", "name", "description", "documentation", "start", "end"} <= set(left)
    gas = next(c for i, c in by_id.items() if i != nem.contract_id)
    assert gas["service_programs"] == []


@pytest.mark.req("WG3-10.2.1-a", "WG3-7.2.2.2-a")
def test_the_account_id_is_shown_only_when_the_account_is_reachable(world: DataWorld) -> None:
    """cds_rate_plan_1 reaches Service Contracts but not their Accounts (no include_accounts)."""
    token = world.customer_token("solar", "cds_rate_plan_1")
    listed = world.every_page(urls.SERVICE_CONTRACTS, token, "service_contracts")
    assert {c["cds_servicecontract_id"] for c in listed} == set(_contracts_of(world, "solar"))
    for contract in listed:
        assert contract["cds_account_id"] is None
        assert {"rateplan_code", "rateplan_name", "contract_number"} <= set(contract)
        assert "contract_address" not in contract
        assert "account_number" not in contract
    assert world.get(urls.ACCOUNTS, token).status_code == 403


@pytest.mark.req("WG3-10.2.7-b")
def test_filters(world: DataWorld) -> None:
    token = world.direct_token(
        "cds_query_service_contracts_1",
        [
            {
                "type": "cds_query_service_contracts_1",
                "include_account_numbers": True,
                "include_contract_numbers": True,
            }
        ],
    )
    every = world.every_page(urls.SERVICE_CONTRACTS, token, "service_contracts")
    with world.session() as session:
        assert len(every) == len(session.scalars(select(ServiceContract.id)).all())

    def ids(**params: str) -> set[str]:
        found = world.every_page(urls.SERVICE_CONTRACTS, token, "service_contracts", **params)
        return {c["cds_servicecontract_id"] for c in found}

    def where(test: Any) -> set[str]:
        return {c["cds_servicecontract_id"] for c in every if test(c)}

    closed = where(lambda c: c["contract_status"] == "closed")
    assert closed
    assert ids(contract_statuses="closed") == closed
    assert ids(contract_statuses="closed active") == {c["cds_servicecontract_id"] for c in every}
    gas = where(lambda c: "natural_gas" in c["service_types"])
    assert gas and gas != ids()
    assert ids(service_types="natural_gas") == gas
    assert ids(service_types="natural_gas water") == where(
        lambda c: {"natural_gas", "water"} & set(c["service_types"])
    )
    assert ids(contract_types="billed_monthly") == ids()
    assert ids(contract_types="project") == set()
    first = every[0]
    assert ids(contract_numbers=first["contract_number"]) == {first["cds_servicecontract_id"]}
    assert ids(account_numbers=first["account_number"]) == where(
        lambda c: c["account_number"] == first["account_number"]
    )
    assert ids(account_numbers=first["account_number"], contract_statuses="paused") == set()
    assert ids(cds_servicecontract_ids=first["cds_servicecontract_id"]) == {
        first["cds_servicecontract_id"]
    }


@pytest.mark.req("WG3-10.2.7-b")
def test_filters_and_search_see_only_the_fields_the_token_may_see(world: DataWorld) -> None:
    numbers_off = world.direct_token(
        "cds_query_service_contracts_1",
        [{"type": "cds_query_service_contracts_1", "include_contract_numbers": False}],
    )
    rates_on = world.direct_token(
        "cds_query_service_contracts_1",
        [
            {
                "type": "cds_query_service_contracts_1",
                "include_rate_plans": True,
            }
        ],
    )
    contract = next(iter(_contracts_of(world, "solar").values()))
    number = contract.contract_number or ""
    hidden = world.every_page(
        urls.SERVICE_CONTRACTS, numbers_off, "service_contracts", contract_numbers=number
    )
    assert hidden == []
    assert (
        world.every_page(urls.SERVICE_CONTRACTS, numbers_off, "service_contracts", q=number) == []
    )
    by_id = world.every_page(
        urls.SERVICE_CONTRACTS, numbers_off, "service_contracts", q=contract.id.upper()
    )
    assert [c["cds_servicecontract_id"] for c in by_id] == [contract.id]
    for token, expected in ((numbers_off, 0), (rates_on, 1)):
        found = world.every_page(urls.SERVICE_CONTRACTS, token, "service_contracts", q="e-tou")
        assert (len(found) > 0) == bool(expected)
        assert all(c.get("rateplan_code") == "DGE-E-TOU" for c in found)
    for flag in (False, True):
        token = world.customer_token(
            "solar",
            "cds_service_contracts_1",
            [{"type": "cds_service_contracts_1", "include_service_programs": flag}],
        )
        found = world.every_page(urls.SERVICE_CONTRACTS, token, "service_contracts", q="dge-nem")
        assert len(found) == (1 if flag else 0)
        assert all("DGE-NEM" in {p["program_number"] for p in c["service_programs"]} for c in found)


@pytest.mark.req("WG3-10.2.7-c", "WG3-10.2.7-a")
def test_newest_modified_first_and_paged_both_ways(world: DataWorld) -> None:
    token = world.direct_token("cds_query_service_contracts_1")
    check_newest_first_and_paged(
        world,
        urls.SERVICE_CONTRACTS,
        token,
        "service_contracts",
        "cds_servicecontract_id",
        ServiceContract,
        4,
    )


@pytest.mark.req("WG3-10.2.7-b")
def test_malformed_filters_are_400_naming_the_parameter(world: DataWorld) -> None:
    token = world.direct_token("cds_query_service_contracts_1")
    for name, value in (
        ("contract_statuses", "open"),
        ("contract_types", "monthly"),
        ("service_types", "electricity"),
        ("cds_servicecontract_ids", " "),
        ("cursor", "nonsense"),
        ("q", "x" * 201),
    ):
        answer = world.get(urls.SERVICE_CONTRACTS, token, **{name: value})
        assert answer.status_code == 400, (name, answer.text)
        body = answer.json()
        assert body["error"] == "invalid_request"
        assert name in body["error_description"]
    too_many = world.get(urls.SERVICE_CONTRACTS, token, contract_numbers=" ".join(["x"] * 1001))
    assert too_many.status_code == 400


def test_401_without_a_token_and_403_without_a_contract_scope(world: DataWorld) -> None:
    assert world.http.get(urls.SERVICE_CONTRACTS).status_code == 401
    accounts_only = world.customer_token("home", "cds_accounts_1")
    answer = world.get(urls.SERVICE_CONTRACTS, accounts_only)
    assert answer.status_code == 403
    assert orjson.loads(answer.content)["error"] == "insufficient_scope"


@pytest.mark.req("WG3-4.5-b", "WG3-7.2.2.3-a")
def test_a_rate_plan_grant_shows_contract_details_only_when_asked(world: DataWorld) -> None:
    plain = world.customer_token("home", "cds_rate_plan_1")
    detailed = world.customer_token(
        "home",
        "cds_rate_plan_1",
        [{"type": "cds_rate_plan_1", "include_service_contract_details": True}],
    )
    for contract in world.every_page(urls.SERVICE_CONTRACTS, plain, "service_contracts"):
        assert {"contract_address", "contract_start", "contract_end"}.isdisjoint(contract)
        assert "rateplan_code" in contract
    listed = world.every_page(urls.SERVICE_CONTRACTS, detailed, "service_contracts")
    assert listed and all("contract_end" in c for c in listed)
    assert any("contract_address" in c for c in listed)
