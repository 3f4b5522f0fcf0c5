"""Retail customer data through a real Green Button authorization (a demo customer approves the
third party's FB_51 scope): the Batch/RetailCustomer feed validates and forms the FB_50 tree, lists
exactly what the Access reaches, follows the function blocks and include flags; member and
collection reads agree with the Batch; unknown or unreachable ids are NotFound; the DR enrollment
view carries the demand-response participations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.espi import atom, hrefs
from gridshare.espi.retail import (
    NotFound,
    OutOfScope,
    batch_retail_customer,
    dr_enrollments,
    retail_collection,
    retail_member,
)
from gridshare.grants.access import Access, access_for
from gridshare.grants.reach import ACCOUNTS, CONTRACTS, METERS, POINTS, Reach
from gridshare.grants.scopes import load_catalogue
from gridshare.grants.secrets import digest
from gridshare.store.db import session_factory
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Token
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from tests.demo.conftest import SmallDemo
from tests.espi.setup import RETAIL_SCOPE, EspiWorld, espi_world
from tests.espi.xml_checks import schema_errors

ALL = frozenset({1, 3, 4, 5, 13, 14, 32, 46, 50, 51, 55, 56, 58, 60})
"""The blocks of RETAIL_SCOPE."""
NOW = datetime(2025, 4, 1, tzinfo=UTC)
A = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class Granted:
    """One customer's Green Button authorization: the RetailCustomer id and its Access."""

    username: str
    retail_customer_id: str
    access: Access


@dataclass(frozen=True)
class Parsed:
    kind: str
    self_href: str
    up: str
    related: list[str]
    atom_id: str
    xml: bytes
    """the content element, canonical"""
    content: etree._Element = field(compare=False)


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[EspiWorld]:
    yield espi_world(demo)


@pytest.fixture(scope="module")
def granted(world: EspiWorld) -> Callable[[str], Granted]:
    """`username`'s authorization of RETAIL_SCOPE, every resource ticked (made once per module)."""
    made: dict[str, Granted] = {}

    def grant(username: str) -> Granted:
        if username not in made:
            value = world.customer_token(username, scope=RETAIL_SCOPE)["access_token"]
            settings = world.demo.settings
            with _session(world) as session:
                token = session.get_one(Token, digest(value))
                access = access_for(session, load_catalogue(settings), token, settings.tz)
            made[username] = Granted(username, token.grant_ids[0], access)
        return made[username]

    return grant


def _session(world: EspiWorld) -> Session:
    return session_factory(world.demo.engine)()


def _batch(
    world: EspiWorld, who: Granted, blocks: frozenset[int] = ALL, access: Access | None = None
) -> bytes:
    settings = world.demo.settings
    with _session(world) as session:
        entries = batch_retail_customer(
            session, settings, access or who.access, who.retail_customer_id, blocks
        )
        return _feed(world, who, entries)


def _feed(world: EspiWorld, who: Granted, entries: Iterable[atom.Entry]) -> bytes:
    settings = world.demo.settings
    feed = atom.Feed(
        atom_id=hrefs.atom_id(settings, f"Batch/RetailCustomer/{who.retail_customer_id}"),
        title="RetailCustomer",
        self_href=hrefs.resource(settings, "Batch", "RetailCustomer", who.retail_customer_id),
        updated=NOW,
    )
    return b"".join(atom.stream_feed(feed, entries))


def _parse(document: bytes) -> list[Parsed]:
    found = []
    for entry in etree.XML(document).iter(f"{A}entry"):
        links = [(link.get("rel"), link.get("href", "")) for link in entry.iter(f"{A}link")]
        content = entry.find(f"{A}content")
        assert content is not None
        found.append(
            Parsed(
                kind=etree.QName(content[0]).localname,
                self_href=next(h for r, h in links if r == "self"),
                up=next(h for r, h in links if r == "up"),
                related=[h for r, h in links if r == "related"],
                atom_id=entry.findtext(f"{A}id") or "",
                xml=etree.tostring(content[0], method="c14n"),
                content=content[0],
            )
        )
    return found


def _path(world: EspiWorld, who: Granted, href: str) -> list[str]:
    base = hrefs.resource(world.demo.settings, "RetailCustomer", who.retail_customer_id) + "/"
    assert href.startswith(base)
    return href.removeprefix(base).split("/")


def _ids(parsed: list[Parsed], kind: str) -> set[str]:
    return {p.self_href.rsplit("/", 1)[1] for p in parsed if p.kind == kind}


def _reached(who: Granted, kind: str) -> set[str]:
    reach = who.access.reach(kind)
    assert reach is not None and reach.bounded
    return set(reach.ids)


@pytest.mark.req("ESPI-FB-46", "ESPI-FB-50")
def test_the_batch_validates_and_forms_the_fb50_tree(
    world: EspiWorld, granted: Callable[[str], Granted]
) -> None:
    who = granted("business")
    document = _batch(world, who)
    assert schema_errors(document) == []
    parsed = _parse(document)
    assert [p.kind for p in parsed][:3] == ["Customer", "CustomerAccount", "CustomerAgreement"]
    assert {p.kind for p in parsed} == {
        "Customer",
        "CustomerAccount",
        "CustomerAgreement",
        "ServiceLocation",
        "ServiceSupplier",
        "Meter",
    }
    selves = [p.self_href for p in parsed]
    assert len(set(selves)) == len(selves)
    assert len({p.atom_id for p in parsed}) == len(parsed)
    related = {href for p in parsed for href in p.related}
    for p in parsed:
        path = _path(world, who, p.self_href)
        assert path[-2] == p.kind and p.up == p.self_href.rsplit("/", 1)[0]
        if p.kind == "Customer":
            assert path == ["Customer", path[1]]
        else:
            assert p.up in related, f"{p.kind} {p.self_href} hangs under no listed parent"
    with _session(world) as session:
        customer = session.scalars(select(Customer).where(Customer.username == "business")).one()
    assert _ids(parsed, "Customer") == {customer.id}


def test_the_batch_lists_exactly_what_the_access_reaches(
    world: EspiWorld, granted: Callable[[str], Granted]
) -> None:
    who = granted("chain")
    parsed = _parse(_batch(world, who))
    assert _ids(parsed, "CustomerAccount") == _reached(who, ACCOUNTS)
    assert len(_reached(who, ACCOUNTS)) > 5
    assert _ids(parsed, "CustomerAgreement") == _reached(who, CONTRACTS)
    assert _ids(parsed, "ServiceLocation") == _reached(who, POINTS)
    assert _ids(parsed, "Meter") == _reached(who, METERS)
    numbers = {p.content.findtext(atom.cust("accountId")) for p in parsed}
    with _session(world) as session:
        held = session.scalars(
            select(Account.account_number).where(Account.id.in_(_reached(who, ACCOUNTS)))
        ).all()
    assert set(held) <= numbers  # include_account_numbers is part of the Green Button consent


def test_no_customer_sees_another_customers_records(
    world: EspiWorld, granted: Callable[[str], Granted]
) -> None:
    people = ["home", "business", "chain", "rural"]
    feeds = {name: _batch(world, granted(name)) for name in people}
    with _session(world) as session:
        for name in people:
            for other in people:
                if other == name:
                    continue
                for value in _identifying(session, other):
                    assert value.encode() not in feeds[name], f"{name} sees {other}'s {value}"
    home, business = granted("home"), granted("business")
    settings = world.demo.settings
    with _session(world) as session:
        with pytest.raises(NotFound):
            batch_retail_customer(session, settings, home.access, business.retail_customer_id, ALL)
        theirs = _parse(feeds["business"])
        for p in theirs:
            path = _path(world, business, p.self_href)
            with pytest.raises(NotFound):
                retail_member(session, settings, home.access, home.retail_customer_id, ALL, path)


def _identifying(session: Session, username: str) -> set[str]:
    """Ids, numbers, names and street lines of one customer's records."""
    customer = session.scalars(select(Customer).where(Customer.username == username)).one()
    accounts = session.scalars(select(Account).where(Account.customer_id == customer.id)).all()
    contracts = session.scalars(
        select(ServiceContract).where(ServiceContract.account_id.in_([a.id for a in accounts]))
    ).all()
    point_ids = session.scalars(
        select(ServicePointContract.service_point_id).where(
            ServicePointContract.contract_id.in_([c.id for c in contracts])
        )
    ).all()
    points = session.scalars(select(ServicePoint).where(ServicePoint.id.in_(point_ids))).all()
    meters = session.scalars(
        select(MeterDevice).where(
            MeterDevice.id.in_(
                select(MeterInstallation.meter_id).where(
                    MeterInstallation.service_point_id.in_(point_ids)
                )
            )
        )
    ).all()
    values = {customer.id, customer.name, customer.email or "", customer.phone or ""}
    values |= {a.id for a in accounts} | {a.account_number for a in accounts}
    values |= {c.id for c in contracts} | {c.contract_number or "" for c in contracts}
    values |= {p.id for p in points} | {(p.address or "").split("\n")[0] for p in points}
    values |= {m.id for m in meters} | {m.meter_number or "" for m in meters}
    return {v for v in values if v}


@pytest.mark.req("ESPI-FB-51", "ESPI-FB-55", "ESPI-FB-56", "ESPI-FB-58", "ESPI-FB-60")
def test_function_blocks_choose_the_kinds(
    world: EspiWorld, granted: Callable[[str], Granted]
) -> None:
    who = granted("business")
    billing = _parse(_batch(world, who, frozenset({51, 56})))
    assert {p.kind for p in billing} == {"CustomerAccount", "CustomerAgreement", "ServiceSupplier"}
    assert not any("/ServiceLocation" in href for p in billing for href in p.related)
    demographic = _parse(_batch(world, who, frozenset({51, 55})))
    assert [p.kind for p in demographic] == ["Customer"]
    assert demographic[0].related == []  # CustomerAccount is not authorized
    meters = _parse(_batch(world, who, frozenset({51, 60})))
    assert {p.kind for p in meters} == {"Meter"}
    settings = world.demo.settings
    with _session(world) as session:
        with pytest.raises(OutOfScope, match="51"):
            batch_retail_customer(session, settings, who.access, who.retail_customer_id, ALL - {51})
        meter = meters[0]
        path = _path(world, who, meter.self_href)
        with pytest.raises(OutOfScope, match="60"):
            retail_member(
                session, settings, who.access, who.retail_customer_id, frozenset({51, 58}), path
            )
        with pytest.raises(OutOfScope, match="58"):
            retail_collection(
                session, settings, who.access, who.retail_customer_id, ALL - {58}, path[:-3]
            )


def _with_flags(access: Access, change: Callable[[frozenset[str]], frozenset[str]]) -> Access:
    """`access` with every reached object's include flags changed by `change`."""
    reaches = {
        kind: Reach({i: change(f) for i, f in reach.ids.items()}, reach.every)
        for kind, reach in access.reaches.items()
    }
    return replace(access, reaches=reaches)


def test_optional_elements_follow_the_include_flags(
    world: EspiWorld, granted: Callable[[str], Granted]
) -> None:
    who = granted("business")
    consented = _parse(_batch(world, who))
    assert _has(consented, "CustomerAccount", "accountId")
    assert _has(consented, "CustomerAgreement", "agreementId")
    assert _has(consented, "ServiceLocation", "mainAddress")
    assert _has(consented, "Meter", "serialNumber")
    assert _has(consented, "Customer", "customerName")  # FB 55/56 ask for account details
    assert _has(consented, "CustomerAgreement", "DemandResponseProgram")
    bare = _with_flags(
        who.access,
        lambda flags: frozenset(f for f in flags if not f.endswith(("numbers", "addresses"))),
    )
    stripped = _parse(_batch(world, who, access=bare))
    for kind, name in [
        ("CustomerAccount", "accountId"),
        ("CustomerAgreement", "agreementId"),
        ("ServiceLocation", "mainAddress"),
        ("Meter", "serialNumber"),
    ]:
        assert not _has(stripped, kind, name)
    assert "ServiceSupplier" not in {p.kind for p in stripped}
    extra = {
        "include_account_details",
        "include_service_contract_details",
        "include_service_programs",
        "include_coordinates",
    }
    rich = _batch(world, who, access=_with_flags(who.access, lambda f: f | extra))
    assert schema_errors(rich) == []
    detailed = _parse(rich)
    assert _has(detailed, "Customer", "customerName")
    assert _has(detailed, "CustomerAccount", "contactInfo")
    assert _has(detailed, "CustomerAgreement", "validityInterval")
    assert _has(detailed, "CustomerAgreement", "DemandResponseProgram")
    assert _has(detailed, "ServiceLocation", "positionPoints")


def _has(parsed: list[Parsed], kind: str, name: str) -> bool:
    return any(p.content.find(atom.cust(name)) is not None for p in parsed if p.kind == kind)


def test_member_and_collection_reads_agree_with_the_batch(
    world: EspiWorld, granted: Callable[[str], Granted]
) -> None:
    who = granted("home")
    settings = world.demo.settings
    rcid = who.retail_customer_id
    document = _batch(world, who)
    parsed = _parse(document)
    with _session(world) as session:
        for p in parsed:
            path = _path(world, who, p.self_href)
            member = retail_member(session, settings, who.access, rcid, ALL, path)
            assert _parse(_feed(world, who, [member])) == [p]
        collections = {p.up for p in parsed} | {href for p in parsed for href in p.related}
        for href in collections:
            listed = retail_collection(
                session, settings, who.access, rcid, ALL, _path(world, who, href)
            )
            assert _parse(_feed(world, who, listed)) == [p for p in parsed if p.up == href]
        agreement = next(p for p in parsed if p.kind == "CustomerAgreement")
        path = _path(world, who, agreement.self_href)
        for wrong in (
            [*path[:-1], "sc_unknown"],
            [*path[:2], "CustomerAccount", "acct_unknown", *path[4:]],
            ["Customer", "cust_unknown", *path[2:]],
            [*path, "Meter"],
            [*path, "ServiceLocation", ""],
            ["CustomerAccount", path[3]],
            [],
        ):
            with pytest.raises(NotFound):
                retail_member(session, settings, who.access, rcid, ALL, wrong)
        with pytest.raises(NotFound):
            retail_collection(session, settings, who.access, rcid, ALL, [*path[:-1], "x", "Meter"])
        with pytest.raises(NotFound):
            retail_member(session, settings, who.access, "g_unknown", ALL, path)


def test_an_unreached_contract_hides_what_hangs_under_it(
    world: EspiWorld, granted: Callable[[str], Granted]
) -> None:
    who = granted("business")
    parsed = _parse(_batch(world, who))
    agreements = [p for p in parsed if p.kind == "CustomerAgreement"]
    assert len(agreements) == 2
    hidden = agreements[0].self_href
    contract_id = hidden.rsplit("/", 1)[1]
    reaches = dict(who.access.reaches)
    contracts = reaches[CONTRACTS]
    reaches[CONTRACTS] = Reach({i: f for i, f in contracts.ids.items() if i != contract_id})
    narrowed = replace(who.access, reaches=reaches)
    left = _parse(_batch(world, who, access=narrowed))
    assert [p for p in left if p.self_href.startswith(hidden)] == []
    assert len(left) < len(parsed) and {p.kind for p in left} >= {"ServiceLocation", "Meter"}
    with _session(world) as session, pytest.raises(NotFound):
        retail_member(
            session,
            world.demo.settings,
            narrowed,
            who.retail_customer_id,
            ALL,
            _path(world, who, hidden),
        )


def test_usage_points_name_the_subscription_usage_point(
    world: EspiWorld, granted: Callable[[str], Granted]
) -> None:
    who = granted("solar")
    settings = world.demo.settings
    locations = [p for p in _parse(_batch(world, who)) if p.kind == "ServiceLocation"]
    assert locations
    for p in locations:
        point_id = p.self_href.rsplit("/", 1)[1]
        assert [e.text for e in p.content.iter(atom.cust("UsagePoint"))] == [
            hrefs.resource(settings, "Subscription", who.retail_customer_id, "UsagePoint", point_id)
        ]
    without_usage_block = _parse(_batch(world, who, ALL - {1}))
    assert not _has(without_usage_block, "ServiceLocation", "UsagePoints")
    no_usage = _parse(_batch(world, who, access=replace(who.access, usage=None)))
    assert not _has(no_usage, "ServiceLocation", "UsagePoints")


def test_dr_enrollments_are_the_agreements_with_demand_response_programs(
    world: EspiWorld, granted: Callable[[str], Granted]
) -> None:
    settings = world.demo.settings
    with_programs = {"include_service_programs"}
    expected = {"business": ["enrolled"], "solar": ["unenrolled"], "chain": ["unenrolled"]}
    for username, statuses in expected.items():
        who = granted(username)
        access = _with_flags(who.access, lambda f: f | with_programs)
        with _session(world) as session:
            document = _feed(
                world, who, dr_enrollments(session, settings, access, who.retail_customer_id, ALL)
            )
        assert schema_errors(document) == []
        parsed = _parse(document)
        assert [p.kind for p in parsed] == ["CustomerAgreement"]
        programs = parsed[0].content.findall(atom.cust("DemandResponseProgram"))
        assert [d.findtext(atom.cust("enrollmentStatus")) for d in programs] == statuses
        assert {d.findtext(atom.cust("programName")) for d in programs} == {"Peak Day Rewards"}
        batch = _parse(_batch(world, who, access=access))
        assert parsed[0] in batch  # the same entry as in Batch/RetailCustomer
    who = granted("business")
    without = _with_flags(who.access, lambda f: f - with_programs)
    with _session(world) as session:
        plain = list(dr_enrollments(session, settings, without, who.retail_customer_id, ALL))
        assert plain == []  # without the service programs flag, no programs are shown
        with pytest.raises(OutOfScope, match="56"):
            dr_enrollments(session, settings, who.access, who.retail_customer_id, ALL - {56})
