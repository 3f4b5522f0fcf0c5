"""CDS-WG3-01 §10.1 Accounts API over HTTP: what each token reaches, field gating, filters, order,
paging and errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridshare import urls
from gridshare.store.db import utcnow
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Grant
from tests.cds.data_setup import DataWorld, data_world
from tests.demo.conftest import SmallDemo

SCOPES = ["cds_accounts_1", "cds_query_accounts_1", "cds_query_usage_1"]


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    yield data_world(demo, SCOPES)


def _accounts_of(world: DataWorld, username: str) -> dict[str, Account]:
    with world.session() as session:
        return {
            a.id: a
            for a in session.scalars(
                select(Account).join(Customer).where(Customer.username == username)
            )
        }


@pytest.mark.req("WG3-6.1.4-b", "WG3-6-b", "WG3-10.1.10-a")
def test_a_customer_token_lists_exactly_the_ticked_accounts(world: DataWorld) -> None:
    held = _accounts_of(world, "chain")
    picked = sorted(held)[:3]
    token = world.customer_token(
        "chain",
        "cds_accounts_1",
        choose=lambda all_: [(n, v) for n, v in all_ if v in picked],
    )
    listed = world.every_page(urls.ACCOUNTS, token, "accounts")
    assert sorted(a["cds_account_id"] for a in listed) == picked
    others = world.every_page(urls.ACCOUNTS, token, "accounts", cds_account_ids=sorted(held)[5])
    assert others == []


@pytest.mark.req("WG3-7.2.1.1-a", "WG3-7.2.1.2-a", "WG3-7.2.1-b")
def test_optional_fields_follow_the_include_flags(world: DataWorld) -> None:
    bare = world.customer_token(
        "home",
        "cds_accounts_1",
        [
            {
                "type": "cds_accounts_1",
                "include_account_numbers": False,
                "include_account_details": False,
            }
        ],
    )
    [account] = world.every_page(urls.ACCOUNTS, bare, "accounts")
    assert set(account) == {
        "cds_account_id",
        "cds_created",
        "cds_modified",
        "cds_synced",
        "cds_account_parent",
    }
    detailed = world.customer_token(
        "home",
        "cds_accounts_1",
        [
            {
                "type": "cds_accounts_1",
                "include_account_numbers": True,
                "include_account_details": True,
            }
        ],
    )
    [account] = world.every_page(urls.ACCOUNTS, detailed, "accounts")
    assert {"account_number", "customer_number", "account_entity", "account_name"} <= set(account)
    assert account["account_status"] in ("active", "suspended", "closed", "unknown")
    assert "account_programs" not in account


@pytest.mark.req("WG3-10.1.10-c")
def test_newest_modified_first_and_paged(world: DataWorld) -> None:
    token = world.direct_token("cds_query_accounts_1")
    every = world.every_page(urls.ACCOUNTS, token, "accounts")
    with world.session() as session:
        assert len(every) == len(session.scalars(select(Account.id)).all())
    moments = [a["cds_modified"] for a in every]
    assert moments == sorted(moments, reverse=True)
    assert len({a["cds_account_id"] for a in every}) == len(every)


@pytest.mark.req("WG3-10.1.10-b")
def test_filters_and_precise_errors(world: DataWorld) -> None:
    token = world.direct_token(
        "cds_query_accounts_1",
        [{"type": "cds_query_accounts_1", "include_account_numbers": True}],
    )
    every = world.every_page(urls.ACCOUNTS, token, "accounts")
    number = every[0]["account_number"]
    found = world.every_page(urls.ACCOUNTS, token, "accounts", account_numbers=number)
    assert [a["account_number"] for a in found] == [number]
    searched = world.every_page(urls.ACCOUNTS, token, "accounts", q=number.lower())
    assert number in {a["account_number"] for a in searched}
    bad = world.get(urls.ACCOUNTS, token, account_statuses="open")
    assert bad.status_code == 400
    assert "account_statuses" in bad.json()["error_description"]
    too_many = world.get(urls.ACCOUNTS, token, cds_account_ids=" ".join(["x"] * 1001))
    assert too_many.status_code == 400
    assert world.get(urls.ACCOUNTS, token, cursor="nonsense").status_code == 400


def test_without_a_token_401_and_without_the_scope_403(world: DataWorld) -> None:
    assert world.http.get(urls.ACCOUNTS).status_code == 401
    assert world.get(urls.ACCOUNTS, "not-a-token").status_code == 401


@pytest.mark.req("WG3-10-b")
def test_a_token_whose_scopes_give_no_accounts_gets_403_naming_the_scopes_that_do(
    world: DataWorld,
) -> None:
    token = world.customer_token(
        "home",
        "cds_accounts_1",
        [{"type": "cds_accounts_1", "include_account_numbers": False}],
    )
    assert world.get(urls.ACCOUNTS, token).status_code == 200
    usage_only = world.direct_token("cds_query_usage_1")
    refused = world.get(urls.ACCOUNTS, usage_only)
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    challenge = refused.headers["www-authenticate"]
    named = challenge.split('scope="')[1].split('"')[0].split()
    assert "cds_accounts_1" in named and "cds_query_accounts_1" in named
    assert "cds_query_usage_1" not in named


@pytest.mark.req("WG3-10-b")
def test_a_grant_that_reached_its_end_gives_401_from_the_next_request(world: DataWorld) -> None:
    """The Grant's `not_after` passes: the very next request is 401, with nothing listed."""
    token = world.customer_token("home", "cds_accounts_1")
    assert world.get(urls.ACCOUNTS, token).status_code == 200
    with world.session() as session:
        [grant_id] = token["cds_grant_ids"]
        grant = session.get_one(Grant, grant_id)
        grant.not_after = utcnow() - timedelta(seconds=1)
        session.commit()
    ended = world.get(urls.ACCOUNTS, token)
    assert ended.status_code == 401
    assert ended.json()["error"] == "invalid_token"
    assert "accounts" not in ended.json()
