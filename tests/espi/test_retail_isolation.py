"""Retail customer data of service points over time.

Two customers shared a point: "home" moved out of 1158 Cottonwood St on 2024-11-24, its meter came
out with them, and "rural" (here) moved in on 2024-12-01 with a new meter. Each
Batch/RetailCustomer lists the point under its own contract only, with the meter of its own time
there, and never a byte of the other's records.

One customer's two contracts at one point: "tenant" changed contracts on 2025-01-01 and the meter
was swapped that day; each agreement's location lists only the meter of its own time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from lxml import etree
from sqlalchemy import select

from gridshare.espi import atom, hrefs
from gridshare.espi.retail import NotFound, batch_retail_customer, retail_member
from gridshare.grants.access import Access, access_for
from gridshare.grants.scopes import load_catalogue
from gridshare.grants.secrets import digest
from gridshare.store.db import session_factory
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Token
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePointContract
from tests.demo.conftest import SmallDemo
from tests.espi.setup import RETAIL_SCOPE, espi_world
from tests.espi.xml_checks import schema_errors

BLOCKS = frozenset({1, 51, 55, 56, 58, 60})
MOVE_OUT = date(2024, 11, 24)
MOVE_IN = date(2024, 12, 1)
NEW_CONTRACT = "sc_isolation_new_tenant"
NEW_METER = "mtr_isolation_new_tenant"
A = "{http://www.w3.org/2005/Atom}"


class Moved:
    def __init__(self, demo: SmallDemo) -> None:
        self.demo = demo
        self.accesses: dict[str, tuple[str, Access]] = {}
        self.point_id = ""
        self.old_meter = ""
        self.old_contract = ""

    def feed(self, username: str) -> bytes:
        rcid, access = self.accesses[username]
        settings = self.demo.settings
        with session_factory(self.demo.engine)() as session:
            entries = batch_retail_customer(session, settings, access, rcid, BLOCKS)
            feed = atom.Feed(
                "urn:uuid:00000000-0000-5000-8000-000000000000",
                "RetailCustomer",
                hrefs.resource(settings, "Batch", "RetailCustomer", rcid),
                datetime(2025, 4, 1, tzinfo=UTC),
            )
            return b"".join(atom.stream_feed(feed, entries))


@pytest.fixture(scope="module")
def moved(demo: SmallDemo) -> Iterator[Moved]:
    """The move (module docstring) written as the utility would record it, then both customers'
    Green Button authorizations (every resource ticked)."""
    state = Moved(demo)
    with session_factory(demo.engine)() as session:
        home = session.scalars(select(Customer).where(Customer.username == "home")).one()
        [closed] = [
            c
            for c in session.scalars(
                select(ServiceContract)
                .join(Account, Account.id == ServiceContract.account_id)
                .where(Account.customer_id == home.id, ServiceContract.end == MOVE_OUT)
            )
            if "electric" in c.service_types
        ]
        link = session.scalars(
            select(ServicePointContract).where(ServicePointContract.contract_id == closed.id)
        ).one()
        installed = session.scalars(
            select(MeterInstallation).where(
                MeterInstallation.service_point_id == link.service_point_id
            )
        ).one()
        installed.end = MOVE_OUT
        rural = session.scalars(
            select(Account).join(Customer).where(Customer.username == "rural")
        ).one()
        session.add_all(
            [
                ServiceContract(
                    id=NEW_CONTRACT,
                    account_id=rural.id,
                    contract_number="SA-ISOLATION-1",
                    address=closed.address,
                    types=["utility_service"],
                    status="active",
                    start=MOVE_IN,
                    service_types=["electric", "residential"],
                ),
                ServicePointContract(
                    service_point_id=link.service_point_id,
                    contract_id=NEW_CONTRACT,
                    start=MOVE_IN,
                ),
                MeterDevice(id=NEW_METER, meter_number="E-ISOLATION-1", types=["electric_usage"]),
                MeterInstallation(
                    meter_id=NEW_METER, service_point_id=link.service_point_id, start=MOVE_IN
                ),
            ]
        )
        session.commit()
        state.point_id = link.service_point_id
        state.old_meter = installed.meter_id
        state.old_contract = closed.id
    world = espi_world(demo)
    settings = demo.settings
    for username in ("home", "rural"):
        value = world.customer_token(username, scope=RETAIL_SCOPE)["access_token"]
        with session_factory(demo.engine)() as session:
            token = session.get_one(Token, digest(value))
            access = access_for(session, load_catalogue(settings), token, settings.tz)
        state.accesses[username] = (token.grant_ids[0], access)
    yield state


def _selves(document: bytes) -> list[str]:
    return [
        link.get("href", "")
        for link in etree.XML(document).iter(f"{A}link")
        if link.get("rel") == "self"
    ]


def test_each_tenant_sees_the_point_under_their_own_contract_with_their_meter(
    moved: Moved,
) -> None:
    home, rural = moved.feed("home"), moved.feed("rural")
    assert schema_errors(home) == [] and schema_errors(rural) == []
    point = f"/ServiceLocation/{moved.point_id}"
    home_at = [h for h in _selves(home) if point in h]
    rural_at = [h for h in _selves(rural) if point in h]
    assert home_at and all(f"/CustomerAgreement/{moved.old_contract}/" in h for h in home_at)
    assert rural_at and all(f"/CustomerAgreement/{NEW_CONTRACT}/" in h for h in rural_at)
    assert [h.rsplit("/", 1)[1] for h in home_at if "/Meter/" in h] == [moved.old_meter]
    assert [h.rsplit("/", 1)[1] for h in rural_at if "/Meter/" in h] == [NEW_METER]


def test_neither_tenant_sees_a_byte_of_the_other(moved: Moved) -> None:
    home, rural = moved.feed("home"), moved.feed("rural")
    home_rcid, _ = moved.accesses["home"]
    rural_rcid, _ = moved.accesses["rural"]
    with session_factory(moved.demo.engine)() as session:
        names = {c.username: c for c in session.scalars(select(Customer)).all()}
        home_accounts = session.scalars(
            select(Account).where(Account.customer_id == names["home"].id)
        ).all()
        rural_accounts = session.scalars(
            select(Account).where(Account.customer_id == names["rural"].id)
        ).all()
        home_contracts = session.scalars(
            select(ServiceContract).where(
                ServiceContract.account_id.in_([a.id for a in home_accounts])
            )
        ).all()
    home_only = {names["home"].id, names["home"].name, home_rcid, moved.old_meter}
    home_only |= {a.id for a in home_accounts} | {a.account_number for a in home_accounts}
    home_only |= {c.id for c in home_contracts} | {c.contract_number or "" for c in home_contracts}
    rural_only = {names["rural"].id, names["rural"].name, rural_rcid, NEW_CONTRACT, NEW_METER}
    rural_only |= {"SA-ISOLATION-1", "E-ISOLATION-1"}
    rural_only |= {a.id for a in rural_accounts} | {a.account_number for a in rural_accounts}
    for value in home_only - {""}:
        assert value.encode() not in rural, f"rural's feed shows home's {value}"
    for value in rural_only:
        assert value.encode() not in home, f"home's feed shows rural's {value}"


def test_a_path_through_the_other_tenants_contract_is_not_found(moved: Moved) -> None:
    home_rcid, home_access = moved.accesses["home"]
    home_path = next(
        h for h in _selves(moved.feed("home")) if h.endswith(f"/ServiceLocation/{moved.point_id}")
    )
    base = hrefs.resource(moved.demo.settings, "RetailCustomer", home_rcid) + "/"
    path = home_path.removeprefix(base).split("/")
    theirs = [*path[:5], NEW_CONTRACT, *path[6:]]
    with session_factory(moved.demo.engine)() as session, pytest.raises(NotFound):
        retail_member(session, moved.demo.settings, home_access, home_rcid, BLOCKS, theirs)


SWAP = date(2025, 1, 1)


@pytest.fixture(scope="module")
def swapped(demo: SmallDemo) -> Iterator[tuple[Moved, str, str, str, str]]:
    """ "tenant"'s contract change and meter swap (module docstring), then its authorization:
    (state, old contract, old meter, new contract, new meter)."""
    state = Moved(demo)
    with session_factory(demo.engine)() as session:
        tenant = session.scalars(select(Customer).where(Customer.username == "tenant")).one()
        old = session.scalars(
            select(ServiceContract)
            .join(Account, Account.id == ServiceContract.account_id)
            .where(Account.customer_id == tenant.id)
        ).one()
        old.end = SWAP
        link = session.scalars(
            select(ServicePointContract).where(ServicePointContract.contract_id == old.id)
        ).one()
        link.end = SWAP
        installed = session.scalars(
            select(MeterInstallation).where(
                MeterInstallation.service_point_id == link.service_point_id
            )
        ).one()
        installed.end = SWAP
        session.add_all(
            [
                ServiceContract(
                    id="sc_isolation_swap",
                    account_id=old.account_id,
                    contract_number="SA-ISOLATION-2",
                    types=["utility_service"],
                    status="active",
                    start=SWAP,
                    service_types=["electric"],
                ),
                ServicePointContract(
                    service_point_id=link.service_point_id,
                    contract_id="sc_isolation_swap",
                    start=SWAP,
                ),
                MeterDevice(id="mtr_isolation_swap", types=["electric_usage"]),
                MeterInstallation(
                    meter_id="mtr_isolation_swap",
                    service_point_id=link.service_point_id,
                    start=SWAP,
                ),
            ]
        )
        session.commit()
        old_contract, old_meter = old.id, installed.meter_id
    world = espi_world(demo)
    value = world.customer_token("tenant", scope=RETAIL_SCOPE)["access_token"]
    with session_factory(demo.engine)() as session:
        token = session.get_one(Token, digest(value))
        access = access_for(session, load_catalogue(demo.settings), token, demo.settings.tz)
    state.accesses["tenant"] = (token.grant_ids[0], access)
    yield state, old_contract, old_meter, "sc_isolation_swap", "mtr_isolation_swap"


def test_each_agreement_lists_the_meter_of_its_own_time(
    swapped: tuple[Moved, str, str, str, str],
) -> None:
    state, old_contract, old_meter, new_contract, new_meter = swapped
    meters = [h for h in _selves(state.feed("tenant")) if "/Meter/" in h]
    under = {(h.split("/CustomerAgreement/")[1].split("/")[0], h.rsplit("/", 1)[1]) for h in meters}
    assert under == {(old_contract, old_meter), (new_contract, new_meter)}
    assert len(meters) == 2
