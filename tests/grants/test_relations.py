"""`grants.relations` on the small demo: the spans of the `home` customer, who moved house (a
closed contract at the old address), and the related-object walk from one selected Account."""

from __future__ import annotations

from sqlalchemy import select

from gridshare.grants.reach import ACCOUNTS, CONTRACTS, INCLUDE, METERS, POINTS, USAGE
from gridshare.grants.relations import UNDATED, close, load_world, related_contracts
from gridshare.store.db import session_factory
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from tests.demo.conftest import SmallDemo, demo

__all__ = ["demo"]


def test_spans_end_when_the_customer_moved_out(demo: SmallDemo) -> None:
    with session_factory(demo.engine)() as session:
        customer_id = session.scalar(select(Customer.id).where(Customer.username == "home"))
        assert customer_id is not None
        world = load_world(session, [customer_id], demo.settings.tz)
        closed = {
            c.id for c in session.scalars(select(ServiceContract)) if c.id in world.contracts
        } & {c.id for c in world.contracts.values() if c.status == "closed"}
    assert closed, "the demo's home customer has a closed contract"
    for span in world.spans:
        if span.contract_id in closed:
            assert span.window.end is not None, "a closed contract's service ended"
        assert span.window.start is not None and (
            span.window.end is None or span.window.start < span.window.end
        )


def test_the_walk_from_an_account_follows_only_the_flags_given(demo: SmallDemo) -> None:
    with session_factory(demo.engine)() as session:
        customer_id = session.scalar(select(Customer.id).where(Customer.username == "home"))
        assert customer_id is not None
        world = load_world(session, [customer_id], demo.settings.tz)
    account = next(iter(world.accounts))
    seeds = {ACCOUNTS: {account}}
    only_accounts = close(world, ACCOUNTS, seeds, {INCLUDE[ACCOUNTS]}, UNDATED)
    assert only_accounts[ACCOUNTS] == {account}
    assert not only_accounts[CONTRACTS] and not only_accounts[METERS]
    flags = {INCLUDE[ACCOUNTS], INCLUDE[CONTRACTS], INCLUDE[METERS], INCLUDE[USAGE]}
    wider = close(world, ACCOUNTS, seeds, flags, UNDATED)
    assert wider[CONTRACTS] == set(world.contracts)
    assert wider[METERS] == {s.meter_id for s in world.spans}
    assert wider[USAGE] == wider[METERS]
    assert not wider[POINTS], "service points were not included"


def test_a_sections_related_contracts() -> None:
    assert related_contracts("c1", ["c2"]) == {"c1"}
    assert related_contracts(None, ["c2", "c3"]) == {"c2", "c3"}
