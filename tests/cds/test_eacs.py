"""CDS-WG3-01 §10.9 Energy Attribute Certificates API over HTTP: what each token reaches, how
beneficiaries are shown, the data URL, filters, order, paging and errors.

No consent scope offers `include_eacs` yet, so the tokens are direct access (§6.2) ones. Besides
the demo's certificates (quarterly `general` wind ones and the `business` login's solar PPA,
`account`), the module adds a `customer` certificate shared by the `business` and `home` logins,
a `rateplan` one for a rate plan of each, and a `program` one for demand response.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gridshare import urls
from gridshare.app import create_app
from gridshare.cds.eacs import Beneficiaries
from gridshare.grants.access import Access
from gridshare.grants.reach import ACCOUNTS, CONTRACTS, Reach
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.eacs import EnergyAttributeCertificate
from gridshare.store.tables.programs import Participation, Program
from tests.cds.data_setup import DataWorld, data_world
from tests.demo.conftest import SmallDemo

SCOPES = ["cds_accounts_1", "cds_query_accounts_1", "cds_query_service_contracts_1"]
REQUIRED = {
    "cds_eac_id",
    "cds_created",
    "cds_modified",
    "cds_synced",
    "beneficiary_type",
    "beneficiaries",
    "eac_numbers",
    "eac_format",
    "eac_data_url",
    "period_start",
    "period_end",
}
DEMAND_RESPONSE = "DGE-PDR"


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    found = data_world(demo, SCOPES)
    _add_certificates(found)
    yield found


def _customer(session: Any, username: str) -> Customer:
    return session.scalars(select(Customer).where(Customer.username == username)).one()


def _account(session: Any, username: str) -> Account:
    return session.scalars(
        select(Account)
        .join(Customer, Customer.id == Account.customer_id)
        .where(Customer.username == username)
    ).first()


def _rate_plans(session: Any, username: str) -> list[RatePlan]:
    return list(
        session.scalars(
            select(RatePlan)
            .join(ServiceContract, ServiceContract.rate_plan_id == RatePlan.id)
            .join(Account, Account.id == ServiceContract.account_id)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Customer.username == username)
            .order_by(RatePlan.id)
        ).unique()
    )


def _moment(year: int, month: int) -> datetime:
    return datetime(year, month, 1, 7, tzinfo=UTC)


def _certificate(eac_id: str, kind: str, beneficiaries: list[str], start: datetime) -> Any:
    number = f"TEST-{eac_id.upper()}"
    return EnergyAttributeCertificate(
        id=eac_id,
        beneficiary_type=kind,
        beneficiaries=beneficiaries,
        eac_numbers=[number],
        eac_format="wregis_certificate_json",
        data=json.dumps({"registry": "WREGIS", "certificate_serial": number}),
        period_start=start,
        period_end=_moment(start.year, start.month + 3),
        created=_moment(2025, 1),
        modified=_moment(2025, 1),
        synced=_moment(2025, 1),
    )


def _add_certificates(world: DataWorld) -> None:
    with world.session() as session:
        business, home = _customer(session, "business"), _customer(session, "home")
        business_plan = _rate_plans(session, "business")[0]
        home_plan = _rate_plans(session, "home")[0]
        program = session.scalars(
            select(Program).where(Program.program_number == DEMAND_RESPONSE)
        ).one()
        session.add_all(
            [
                # The same period_start and cds_created: ordered by id.
                _certificate("eac_test_b", "customer", [business.id, home.id], _moment(2024, 7)),
                _certificate(
                    "eac_test_a", "rateplan", [business_plan.id, home_plan.id], _moment(2024, 7)
                ),
                _certificate("eac_test_program", "program", [program.id], _moment(2024, 4)),
            ]
        )
        session.commit()


def _every(world: DataWorld, token: dict[str, Any], **params: str) -> list[dict[str, Any]]:
    return world.every_page(urls.EACS, token, "eacs", **params)


def _business_token(world: DataWorld, **flags: bool) -> dict[str, Any]:
    with world.session() as session:
        number = _account(session, "business").account_number
    return world.direct_token(
        "cds_query_service_contracts_1",
        [
            {
                "type": "cds_query_service_contracts_1",
                "account_numbers": [number],
                "include_eacs": True,
                **flags,
            }
        ],
    )


def _every_token(world: DataWorld) -> dict[str, Any]:
    return world.direct_token(
        "cds_query_accounts_1", [{"type": "cds_query_accounts_1", "include_eacs": True}]
    )


@pytest.mark.req("WG3-10.9.1-a", "WG3-10.9.1-b", "WG3-10.9.2-a", "WG3-10.9.4-a")
def test_direct_access_lists_every_certificate(world: DataWorld) -> None:
    token = _every_token(world)
    answer = world.get(urls.EACS, token)
    assert answer.status_code == 200
    assert set(answer.json()) == {"eacs", "next", "previous"}
    every = _every(world, token)
    with world.session() as session:
        stored = {e.id: e for e in session.scalars(select(EnergyAttributeCertificate))}
        business_account = _account(session, "business").id
    assert {e["cds_eac_id"] for e in every} == set(stored)
    formats = world.http.get(urls.AS_METADATA).json()["cds_eac_formats"]
    for eac in every:
        assert set(eac) == REQUIRED
        record = stored[eac["cds_eac_id"]]
        assert eac["beneficiary_type"] == record.beneficiary_type
        assert eac["eac_numbers"] == record.eac_numbers
        assert eac["eac_format"] in formats
        assert eac["eac_data_url"] == f"http://testserver{urls.EAC_DATA}/{record.id}"
        assert eac["period_start"].endswith("Z") and eac["period_end"] > eac["period_start"]
        if record.beneficiary_type == "general":
            assert eac["beneficiaries"] == []
        if record.beneficiary_type == "account":
            assert eac["beneficiaries"] == [business_account]
    by_type = {e["beneficiary_type"] for e in every}
    assert {"general", "account", "customer", "rateplan", "program"} <= by_type


@pytest.mark.req("WG3-7.2.9-a", "WG3-10.9.2-b")
def test_preselected_access_reaches_the_customers_certificates_only(world: DataWorld) -> None:
    listed = {e["cds_eac_id"]: e for e in _every(world, _business_token(world))}
    with world.session() as session:
        stored = {e.id: e for e in session.scalars(select(EnergyAttributeCertificate))}
        business_account = _account(session, "business").id
    ppa = {i for i, e in stored.items() if e.beneficiary_type == "account"}
    assert set(listed) == ppa | {"eac_test_a", "eac_test_b", "eac_test_program"}
    for eac_id in ppa:
        assert listed[eac_id]["beneficiaries"] == [business_account]
    # Neither the customer number nor the rate plan code is shown without its include flag,
    # and no scope shows service programs.
    assert listed["eac_test_b"]["beneficiaries"] == []
    assert listed["eac_test_a"]["beneficiaries"] == []
    assert listed["eac_test_program"]["beneficiaries"] == []


@pytest.mark.req("WG3-10.9.2-a", "WG3-10.9.2-b", "WG3-7.2.1.1-a", "WG3-7.2.2.2-a")
def test_beneficiaries_show_only_what_the_token_may_see(world: DataWorld) -> None:
    token = _business_token(world, include_account_numbers=True, include_rate_plans=True)
    listed = {e["cds_eac_id"]: e for e in _every(world, token)}
    with world.session() as session:
        business = _customer(session, "business")
        plan_codes = {p.code for p in _rate_plans(session, "business")}
        home_codes = {p.code for p in _rate_plans(session, "home")}
    assert listed["eac_test_b"]["beneficiaries"] == [business.customer_number]
    [code] = listed["eac_test_a"]["beneficiaries"]
    assert code in plan_codes and code not in home_codes


@pytest.mark.req("WG3-10.9.2-a", "WG3-10.9.2-b")
def test_program_beneficiaries_follow_the_program_flags(world: DataWorld) -> None:
    with world.session() as session:
        program = session.scalars(
            select(Program).where(Program.program_number == DEMAND_RESPONSE)
        ).one()
        taking_part = session.scalars(
            select(Participation.contract_id).where(
                Participation.program_id == program.id, Participation.contract_id.is_not(None)
            )
        ).first()
        assert taking_part is not None

        def shown(flags: frozenset[str]) -> dict[str, str]:
            access = Access(
                "client",
                (),
                frozenset(),
                {ACCOUNTS: Reach(), CONTRACTS: Reach({taking_part: flags})},
                None,
            )
            return dict(Beneficiaries(session, access).shown("program", {program.id}))

        assert shown(frozenset({"include_service_programs"})) == {program.id: DEMAND_RESPONSE}
        assert shown(frozenset({"include_service_contracts"})) == {}


@pytest.mark.req("WG3-10.9.4-c", "WG3-10.9.4-a")
def test_newest_period_first_then_newest_created_then_id_and_paged(world: DataWorld) -> None:
    small = world.demo.settings.model_copy(update={"page_size": 2})
    http = TestClient(create_app(small, world.demo.engine))
    headers = {"Authorization": f"Bearer {_every_token(world)['access_token']}"}
    pages = [http.get(urls.EACS, headers=headers).json()]
    while pages[-1]["next"] is not None:
        pages.append(http.get(pages[-1]["next"], headers=headers).json())
    assert pages[0]["previous"] is None and pages[-1]["previous"] is not None
    listed = [e["cds_eac_id"] for page in pages for e in page["eacs"]]
    with world.session() as session:
        stored = list(session.scalars(select(EnergyAttributeCertificate)))
    expected = sorted(stored, key=lambda e: e.id)
    expected.sort(key=lambda e: (e.period_start, e.created), reverse=True)
    assert listed == [e.id for e in expected]
    assert listed.index("eac_test_a") + 1 == listed.index("eac_test_b")
    back = http.get(pages[1]["previous"], headers=headers).json()
    assert back["eacs"] == pages[0]["eacs"]


@pytest.mark.req("WG3-10.9.4-b")
def test_filters(world: DataWorld) -> None:
    token = _business_token(world, include_account_numbers=True, include_rate_plans=True)
    with world.session() as session:
        business_account = _account(session, "business").id
        customer_number = _customer(session, "business").customer_number
        home_number = _customer(session, "home").customer_number
        code = _rate_plans(session, "business")[0].code

    def ids(**params: str) -> list[str]:
        return sorted(e["cds_eac_id"] for e in _every(world, token, **params))

    ppa = ids(beneficiaries=business_account)
    assert len(ppa) == 2 and "eac_test_b" not in ppa
    assert ids(cds_eac_ids=f"{ppa[0]} eac_test_a eac_unknown") == sorted([ppa[0], "eac_test_a"])
    assert ids(eac_numbers="TEST-EAC_TEST_B") == ["eac_test_b"]
    assert ids(beneficiaries=f"{customer_number} {code}") == ["eac_test_a", "eac_test_b"]
    # The other customer's number is not one this token may see: it matches nothing.
    assert ids(beneficiaries=home_number or "") == []
    # period_start on or before `before`; period_end on or after `after`.
    assert ids(before="2024-07-01T06:59:59Z") == ["eac_test_program"]
    assert ids(before="2024-07-01T07:00:00Z") == ["eac_test_a", "eac_test_b", "eac_test_program"]
    [fourth_quarter] = [e for e in ids(before="2024-12-31T00:00:00Z") if e in ppa]
    [first_quarter] = [e for e in ppa if e != fourth_quarter]
    assert ids(after="2025-04-01T07:00:00Z") == [first_quarter]
    assert ids(after="2025-04-01T07:00:01Z") == []
    assert ids(after="2025-01-01T00:00:00+00:00", before="2025-01-01T00:00:00Z") == [fourth_quarter]
    hidden = _business_token(world)
    assert _every(world, hidden, beneficiaries=str(customer_number)) == []


@pytest.mark.req("WG3-10.9.4-b")
def test_bad_filters_are_400_naming_the_parameter(world: DataWorld) -> None:
    token = _every_token(world)
    for params, name in (
        ({"before": "2025-01-01"}, "before"),
        ({"after": "yesterday"}, "after"),
        ({"cds_eac_ids": " "}, "cds_eac_ids"),
        ({"beneficiaries": " ".join(["x"] * 1001)}, "beneficiaries"),
        ({"cursor": "nonsense"}, "cursor"),
    ):
        answer = world.get(urls.EACS, token, **params)
        assert answer.status_code == 400, params
        assert answer.json()["error"] == "invalid_request"
        assert name in answer.json()["error_description"]


@pytest.mark.req("WG3-10.9.1-b")
def test_the_data_url_serves_reached_certificates_and_404_otherwise(world: DataWorld) -> None:
    token = _business_token(world)
    [first, *_] = _every(world, token, beneficiaries=_business_account(world))
    data = world.http.get(
        first["eac_data_url"], headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert data.status_code == 200
    assert data.headers["content-type"].startswith("application/json")
    assert data.json()["certificate_serial"] == first["eac_numbers"][0]
    with world.session() as session:
        home_number = _account(session, "home").account_number
    home = world.direct_token(
        "cds_query_accounts_1",
        [{"type": "cds_query_accounts_1", "account_numbers": [home_number], "include_eacs": True}],
    )
    assert all(e["beneficiary_type"] != "account" for e in _every(world, home))
    hidden = world.get(f"{urls.EAC_DATA}/{first['cds_eac_id']}", home)
    missing = world.get(f"{urls.EAC_DATA}/eac_no_such_certificate", home)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"] == missing.json()["error"] == "not_found"
    assert world.http.get(first["eac_data_url"]).status_code == 401


def _business_account(world: DataWorld) -> str:
    with world.session() as session:
        return _account(session, "business").id


@pytest.mark.req("WG3-7.2.9-b")
def test_without_a_token_401_and_without_the_scope_403(world: DataWorld) -> None:
    assert world.http.get(urls.EACS).status_code == 401
    assert world.get(urls.EACS, "not-a-token").status_code == 401
    without = world.direct_token("cds_query_accounts_1")
    for path in (urls.EACS, f"{urls.EAC_DATA}/eac_test_a"):
        answer = world.get(path, without)
        assert answer.status_code == 403
        assert answer.json()["error"] == "insufficient_scope"
    customer = world.customer_token("business", "cds_accounts_1")
    assert world.get(urls.EACS, customer).status_code == 403
