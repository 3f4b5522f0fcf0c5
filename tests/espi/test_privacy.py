"""Green Button FB 13 (security and privacy), what the server controls: no personal data in any
id, href or title a feed carries, and ids and tokens of at least 48 random bits (DIGEST §4, GBA
TC010/TC011). TLS itself ends at the operator's proxy (docs/conformance.md)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from gridshare.store.db import session_factory
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterDevice
from gridshare.store.tables.servicepoints import ServicePoint
from tests.demo.conftest import SmallDemo
from tests.espi.setup import RETAIL_SCOPE, EspiWorld, espi_world
from tests.espi.xml_checks import entries, parse

ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "http://testserver/espi/1_1/resource/"
OPAQUE = re.compile(r"^[a-z]{0,4}_?[0-9a-f]{12,}$")
"""An id of at least 48 random bits: hex digits after an optional short kind prefix."""


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> EspiWorld:
    return espi_world(demo)


def _personal(world: EspiWorld, username: str) -> set[str]:
    """Every personal value of the customer that must never appear in an id, href or title."""
    with session_factory(world.demo.engine)() as session:
        customer = session.scalars(select(Customer).where(Customer.username == username)).one()
        accounts = session.scalars(select(Account).where(Account.customer_id == customer.id)).all()
        contracts = session.scalars(
            select(ServiceContract).where(ServiceContract.account_id.in_([a.id for a in accounts]))
        ).all()
        values = {customer.name, customer.username, customer.email, customer.phone}
        values |= {a.account_number for a in accounts} | {a.name for a in accounts}
        values |= {a.address for a in accounts} | {c.contract_number for c in contracts}
        values |= {c.address for c in contracts}
        values |= set(session.scalars(select(ServicePoint.servicepoint_number)))
        values |= set(session.scalars(select(MeterDevice.meter_number)))
    return {v for v in values if v and len(v) >= 4}


def _exposed(document: bytes) -> list[str]:
    """The feed's and its entries' ids, hrefs and titles."""
    root = parse(document)
    found = [root.findtext(f"{ATOM}id") or "", root.findtext(f"{ATOM}title") or ""]
    for entry in entries(root):
        found.append(entry.findtext(f"{ATOM}id") or "")
        found.append(entry.findtext(f"{ATOM}title") or "")
        found += [link.get("href") or "" for link in entry.iterfind(f"{ATOM}link")]
    return found


@pytest.mark.req("ESPI-FB-13")
@pytest.mark.parametrize("username", ["home", "business"])
def test_no_personal_data_in_ids_hrefs_or_titles(world: EspiWorld, username: str) -> None:
    token: dict[str, Any] = world.customer_token(username, scope=RETAIL_SCOPE)
    rcid = token["resourceURI"].rsplit("/", 1)[1]
    documents = [
        world.get(token["resourceURI"], token, **{"published-min": "2025-01-06T08:00:00Z"}),
        world.get(f"{ESPI}Batch/RetailCustomer/{rcid}", token),
    ]
    personal = _personal(world, username)
    assert len(personal) >= 5
    for answer in documents:
        assert answer.status_code == 200
        exposed = _exposed(answer.content)
        assert len(exposed) > 20
        leaks = {p for p in personal for text in exposed if p.lower() in text.lower()}
        assert leaks == set()


@pytest.mark.req("ESPI-FB-13")
def test_ids_and_tokens_carry_at_least_48_random_bits(world: EspiWorld) -> None:
    token = world.customer_token("solar")
    for value in (
        token["access_token"],
        token["refresh_token"],
        world.client_token()["access_token"],
    ):
        assert len(value) >= 32  # 256 random bits, base64url
    document = world.get(token["resourceURI"], token, **{"published-min": "2025-01-06T08:00:00Z"})
    hrefs = [h for h in _exposed(document.content) if h.startswith(ESPI)]
    ids = set()
    for href in hrefs:
        parts = href.removeprefix(ESPI).split("?")[0].split("/")
        for kind, value in zip(parts[::2], parts[1::2], strict=False):
            if kind not in ("IntervalBlock", "Batch"):  # a block's id is its start time (PG&E)
                ids.add(value)
    assert ids and all(OPAQUE.match(i) for i in ids), sorted(i for i in ids if not OPAQUE.match(i))
