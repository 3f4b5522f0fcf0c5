"""CDS-WG3-01 §10.5 Bill Statements API over HTTP: what each token reaches (and its statement date
window), field gating, New Charges, filters, order, paging and errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gridshare import urls
from gridshare.app import create_app
from gridshare.store.jsontext import loads
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.bills import BillStatement
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.programs import Participation
from tests.cds.data_setup import DataWorld, data_world
from tests.demo.conftest import SmallDemo

SCOPES = [
    "cds_bill_statements_1",
    "cds_accounts_1",
    "cds_query_bill_statements_1",
    "cds_query_bill_sections_1",
]
HISTORY = "P3Y"
"""The furthest back a Grant may reach: the demo's bills (2024-11 to 2025-04) lie within it."""
REQUIRED = {
    "cds_billstatement_id",
    "cds_created",
    "cds_modified",
    "cds_synced",
    "cds_account_id",
    "statement_date",
    "currency",
    "amount_due",
    "amount_due_date",
    "shutoff_prevention_minimum_due",
    "shutoff_prevention_date",
}
CHARGES = {
    "previous_balance_amount",
    "previous_balance_paid",
    "previous_balance_unpaid",
    "new_charges_amount",
    "new_charges",
    "new_balance_amount",
}


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    yield data_world(demo, SCOPES)


def _consent(**fields: Any) -> list[dict[str, Any]]:
    return [{"type": "cds_bill_statements_1", "statement_date_start": HISTORY, **fields}]


def _query(**fields: Any) -> list[dict[str, Any]]:
    return [{"type": "cds_query_bill_statements_1", "statement_date_start": HISTORY, **fields}]


def _statements(world: DataWorld, username: str | None = None) -> dict[str, BillStatement]:
    query = select(BillStatement).join(Account, Account.id == BillStatement.account_id)
    if username is not None:
        query = query.join(Customer, Customer.id == Account.customer_id).where(
            Customer.username == username
        )
    with world.session() as session:
        return {s.id: s for s in session.scalars(query)}


def _exact(world: DataWorld, token: dict[str, Any], **params: str) -> list[Any]:
    """Every Bill Statement listed, decimals read exactly."""
    answer = world.get(urls.BILL_STATEMENTS, token, **params)
    assert answer.status_code == 200, answer.text
    found: list[Any] = loads(answer.text)["bill_statements"]
    return found


@pytest.mark.req("WG3-6.1.7-c", "WG3-7.2.5-a", "WG3-10.5.4-a")
def test_a_customer_token_lists_the_statements_of_the_ticked_accounts(world: DataWorld) -> None:
    held = _statements(world, "chain")
    [parent] = {s.account_id for s in held.values()}
    token = world.customer_token(
        "chain", "cds_bill_statements_1", _consent(), lambda all_: [t for t in all_ if parent in t]
    )
    answer = world.get(urls.BILL_STATEMENTS, token)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"bill_statements", "next", "previous"}
    assert {s["cds_billstatement_id"] for s in body["bill_statements"]} == set(held)
    children = world.customer_token(
        "chain",
        "cds_bill_statements_1",
        _consent(),
        lambda all_: [t for t in all_ if parent not in t][:3],
    )
    assert world.every_page(urls.BILL_STATEMENTS, children, "bill_statements") == []


@pytest.mark.req("WG3-7.3.2-a")
def test_a_grant_from_a_statement_date_sees_no_older_statements(world: DataWorld) -> None:
    held = _statements(world, "tenant")
    assert min(s.statement_date for s in held.values()) < date(2025, 1, 1)
    late = world.customer_token(
        "tenant", "cds_bill_statements_1", _consent(statement_date_start="2025-01-01")
    )
    dates = [
        s["statement_date"] for s in world.every_page(urls.BILL_STATEMENTS, late, "bill_statements")
    ]
    assert dates and min(dates) == "2025-01-01"
    assert len(dates) == sum(s.statement_date >= date(2025, 1, 1) for s in held.values())


@pytest.mark.req(
    "WG3-7.2.5-a",
    "WG3-7.2.5.1-a",
    "WG3-7.2.5.2-a",
    "WG3-7.2.5.3-a",
    "WG3-10.5.1-a",
    "WG3-10.5.1-b",
)
def test_optional_fields_follow_the_include_flags(world: DataWorld) -> None:
    bare = world.customer_token(
        "rural",
        "cds_bill_statements_1",
        _consent(
            include_bill_statement_files=False,
            include_bill_statement_charges=False,
            include_bill_statement_programs=False,
        ),
    )
    listed = _exact(world, bare)
    assert listed and all(set(s) == REQUIRED | {"account_number"} for s in listed)
    full = world.customer_token(
        "rural",
        "cds_bill_statements_1",
        _consent(
            include_bill_statement_files=True,
            include_bill_statement_charges=True,
            include_bill_statement_programs=True,
        ),
    )
    listed = _exact(world, full)
    expected = REQUIRED | CHARGES | {"account_number", "file_uri", "account_programs"}
    assert all(set(s) == expected for s in listed)
    assert all(s["file_uri"] is None for s in listed)  # the demo keeps no PDFs
    assert any(s["account_programs"] for s in listed)  # rural takes the low-income discount
    unnumbered = world.direct_token("cds_query_bill_statements_1", _query())
    assert all(set(s) == REQUIRED for s in _exact(world, unnumbered))


@pytest.mark.req("WG3-10.5.1-a", "WG3-10.5.1-d", "WG3-10.5.2-a", "WG3-10.5.3-a")
def test_amounts_are_exact_and_add_up_to_the_amount_due(world: DataWorld) -> None:
    held = _statements(world, "rural")
    token = world.customer_token("rural", "cds_bill_statements_1", _consent())
    listed = _exact(world, token)
    assert len(listed) == len(held)
    shutoffs = 0
    for statement in listed:
        stored = held[statement["cds_billstatement_id"]]
        assert statement["amount_due"] == stored.amount_due
        assert isinstance(statement["amount_due"], Decimal)
        assert statement["amount_due_date"] == stored.amount_due_date.isoformat()
        included = [c["amount"] for c in statement["new_charges"] if c["included_in_amount_due"]]
        assert statement["previous_balance_unpaid"] + sum(included) == statement["amount_due"]
        for charge in statement["new_charges"]:
            assert {"id", "name", "types", "amount", "included_in_amount_due"} <= set(charge)
            assert "related_billsections" not in charge  # this token reaches no Bill Sections
        if statement["shutoff_prevention_minimum_due"] is None:
            assert statement["shutoff_prevention_date"] is None
        else:
            shutoffs += 1
            assert (
                statement["shutoff_prevention_minimum_due"] == stored.shutoff_prevention_minimum_due
            )
    assert shutoffs  # rural pays part of each bill (docs/demo.md)


@pytest.mark.req("WG3-10.5.2-a", "WG3-7.2.6-a")
def test_new_charges_name_their_sections_when_sections_are_reached(world: DataWorld) -> None:
    token = world.direct_token(
        "cds_query_bill_statements_1 cds_query_bill_sections_1",
        [
            *_query(include_bill_statement_charges=True),
            {"type": "cds_query_bill_sections_1", "start_date": HISTORY},
        ],
    )
    listed = world.every_page(urls.BILL_STATEMENTS, token, "bill_statements")
    charges = [c for s in listed for c in s["new_charges"]]
    totals = [c for c in charges if c["types"][0].endswith("_total")]
    assert totals and all(len(c["related_billsections"]) == 1 for c in totals)
    programs = [c for c in charges if c["types"] == ["program"]]
    assert programs and all("related_billsections" not in c for c in programs)
    sections = world.every_page(urls.BILL_SECTIONS, token, "bill_sections")
    named = {b for c in totals for b in c["related_billsections"]}
    assert named <= {b["cds_billsection_id"] for b in sections}


@pytest.mark.req("WG3-7.2.5.3-a", "WG3-10.5.1-b")
def test_account_programs_are_those_of_the_statement_period(world: DataWorld) -> None:
    with world.session() as session:
        [left] = session.scalars(
            select(Participation).where(
                Participation.account_id.is_not(None), Participation.end.is_not(None)
            )
        )
        account_id, ended = left.account_id, left.end
    assert account_id is not None and ended is not None
    token = world.direct_token(
        "cds_query_bill_statements_1",
        _query(include_bill_statement_programs=True, include_accounts=True),
    )
    listed = world.every_page(
        urls.BILL_STATEMENTS, token, "bill_statements", cds_account_ids=account_id
    )
    assert len(listed) == 6
    for statement in listed:
        ids = {p["id"] for p in statement["account_programs"]}
        # A statement covers the month before its date; the participation ended on `ended`.
        month = (date.fromisoformat(statement["statement_date"]) - timedelta(days=1)).replace(day=1)
        assert (left.id in ids) == (month < ended), statement["statement_date"]


@pytest.mark.req("WG3-10.5.4-c", "WG3-10.5.4-a")
def test_newest_statement_date_first_and_paged(world: DataWorld) -> None:
    settings = world.demo.settings.model_copy(update={"page_size": 7})
    small = dataclasses.replace(world, http=TestClient(create_app(settings, world.demo.engine)))
    token = small.direct_token("cds_query_bill_statements_1", _query())
    every = small.every_page(urls.BILL_STATEMENTS, token, "bill_statements")
    assert len(every) == len(_statements(world)) > 7
    keys = [(s["statement_date"], s["cds_modified"]) for s in every]
    assert keys == sorted(keys, reverse=True)
    assert len({s["cds_billstatement_id"] for s in every}) == len(every)
    first = small.get(urls.BILL_STATEMENTS, token).json()
    assert first["previous"] is None and first["next"]
    second = small.http.get(
        first["next"], headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert second["bill_statements"] == every[7:14]
    back = small.http.get(
        second["previous"], headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert back["bill_statements"] == first["bill_statements"]


@pytest.mark.req("WG3-10.5.4-b")
def test_filters(world: DataWorld) -> None:
    token = world.direct_token(
        "cds_query_bill_statements_1",
        _query(include_account_numbers=True, include_accounts=True),
    )
    every = world.every_page(urls.BILL_STATEMENTS, token, "bill_statements")
    some = every[3]

    def ids(**params: str) -> set[str]:
        found = world.every_page(urls.BILL_STATEMENTS, token, "bill_statements", **params)
        return {s["cds_billstatement_id"] for s in found}

    assert ids(cds_billstatement_ids=f"{some['cds_billstatement_id']} nope") == {
        some["cds_billstatement_id"]
    }
    assert ids(cds_account_ids=some["cds_account_id"]) == {
        s["cds_billstatement_id"] for s in every if s["cds_account_id"] == some["cds_account_id"]
    }
    assert ids(account_numbers=some["account_number"]) == {
        s["cds_billstatement_id"] for s in every if s["account_number"] == some["account_number"]
    }
    assert ids(before="2025-01-01") == {
        s["cds_billstatement_id"] for s in every if s["statement_date"] <= "2025-01-01"
    }
    assert ids(after="2025-01-01") == {
        s["cds_billstatement_id"] for s in every if s["statement_date"] >= "2025-01-01"
    }
    assert len(ids(after="2025-01-01", before="2025-02-01")) == 16
    hidden = world.direct_token("cds_query_bill_statements_1", _query())
    assert {s["cds_account_id"] for s in _exact(world, hidden)} == {None}
    for name, value in (
        ("account_numbers", some["account_number"]),
        ("cds_account_ids", some["cds_account_id"]),
    ):
        # What this token may not see (Accounts, their numbers) cannot be matched either.
        assert (
            world.every_page(urls.BILL_STATEMENTS, hidden, "bill_statements", **{name: value}) == []
        )


@pytest.mark.req("WG3-10.5.4-b")
def test_bad_parameters_are_400_naming_them(world: DataWorld) -> None:
    token = world.direct_token("cds_query_bill_statements_1", _query())
    for name, value in (
        ("before", "2025-13-01"),
        ("after", "2025-01-01T00:00:00Z"),
        ("cds_account_ids", " "),
        ("cds_billstatement_ids", " ".join(["x"] * 1001)),
        ("cursor", "nonsense"),
    ):
        answer = world.get(urls.BILL_STATEMENTS, token, **{name: value})
        assert answer.status_code == 400, (name, answer.text)
        assert answer.json()["error"] == "invalid_request"
        assert name in answer.json()["error_description"]


def test_without_a_token_401_and_without_the_scope_403(world: DataWorld) -> None:
    assert world.http.get(urls.BILL_STATEMENTS).status_code == 401
    accounts_only = world.customer_token("home", "cds_accounts_1")
    answer = world.get(urls.BILL_STATEMENTS, accounts_only)
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient_scope"
