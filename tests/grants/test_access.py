"""`grants.access` (DESIGN rule 2): what a token reaches, over random customers, selections and
include flags on the small demo utility. The expectations are computed here from the tables
directly, not with the module's own walk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.grants import access as acc
from gridshare.grants import reach as rc
from gridshare.grants.access import Access, access_for
from gridshare.grants.clients import register
from gridshare.grants.grants import create_grant
from gridshare.grants.reach import Window
from gridshare.grants.scopes import Catalogue, load_catalogue
from gridshare.grants.selections import CustomerGraph
from gridshare.grants.tokens import issue
from gridshare.store.db import session_factory
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import AggregationMember
from gridshare.store.tables.bills import BillSection, BillStatement
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePointContract
from tests.demo.conftest import SmallDemo, demo

__all__ = ["demo"]

CONSENT_SCOPES = (
    "cds_accounts_1",
    "cds_service_contracts_1",
    "cds_meters_1",
    "cds_bill_statements_1",
    "cds_service_bills_1",
    "cds_usage_1",
    "cds_rate_plan_1",
    "cds_account_programs_1",
    "cds_service_programs_1",
)


class Owned:
    """One Customer's records and their relations, read straight from the tables."""

    def __init__(self, session: Session, customer_id: str, tz: Any) -> None:
        self.accounts = set(
            session.scalars(select(Account.id).where(Account.customer_id == customer_id))
        )
        self.parents = {
            p
            for p in session.scalars(select(Account.parent_id).where(Account.id.in_(self.accounts)))
            if p
        }
        self.contracts = set(
            session.scalars(
                select(ServiceContract.id).where(ServiceContract.account_id.in_(self.accounts))
            )
        )
        links = session.scalars(
            select(ServicePointContract).where(ServicePointContract.contract_id.in_(self.contracts))
        ).all()
        self.points = {link.service_point_id for link in links}
        installs = session.scalars(
            select(MeterInstallation).where(MeterInstallation.service_point_id.in_(self.points))
        ).all()
        self.meters = {i.meter_id for i in installs}
        self.periods: dict[str, list[tuple[datetime, datetime | None]]] = {}
        for link in links:
            for i in installs:
                if i.service_point_id != link.service_point_id:
                    continue
                start = max(link.start, i.start)
                ends = [e for e in (link.end, i.end) if e is not None]
                end = min(ends) if ends else None
                if end is not None and end <= start:
                    continue
                self.periods.setdefault(i.meter_id, []).append(
                    (_utc(start, tz), None if end is None else _utc(end, tz))
                )
        self.statements = set(
            session.scalars(
                select(BillStatement.id).where(BillStatement.account_id.in_(self.accounts))
            )
        )
        self.sections = set(
            session.scalars(select(BillSection.id).where(BillSection.account_id.in_(self.accounts)))
        )
        members = self.accounts | self.contracts | self.points | self.meters
        self.aggregations = {
            m.aggregation_id
            for m in session.scalars(select(AggregationMember))
            if {m.account_id, m.contract_id, m.service_point_id, m.meter_id} & members
        }

    def covers(self, meter_id: str, window: Window) -> bool:
        """Whether the window lies within one period the meter measured this customer."""
        for start, end in self.periods.get(meter_id, []):
            starts_inside = window.start is not None and window.start >= start
            ends_inside = end is None or (window.end is not None and window.end <= end)
            if starts_inside and ends_inside:
                return True
        return False


def _utc(day: Any, tz: Any) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


@pytest.fixture(scope="module")
def setup(demo: SmallDemo) -> Iterator[tuple[SmallDemo, Catalogue, str, list[str]]]:
    catalogue = load_catalogue(demo.settings)
    with session_factory(demo.engine)() as session:
        done = register(
            session,
            demo.settings,
            catalogue,
            {
                "scope": "cds_client_admin cds_accounts_1",
                "client_name": "Probe",
                "cds_company_name": "Probe Inc.",
            },
        )
        customers = sorted(
            session.scalars(select(Customer.id).where(Customer.id.in_(select(Account.customer_id))))
        )
        session.commit()
        yield demo, catalogue, done.clients[-1].client_id, customers


def _grant_access(
    session: Session,
    demo: SmallDemo,
    catalogue: Catalogue,
    client_id: str,
    customer_id: str | None,
    scope_id: str,
    entry: dict[str, Any],
    selection: dict[str, Any] | None,
) -> Access:
    grant = create_grant(
        session,
        client_id=client_id,
        scope=scope_id,
        authorization_details=[entry],
        customer_id=customer_id,
    )
    if selection is not None:
        grant.selections = [selection]
    token = issue(
        session,
        kind="access",
        client_id=client_id,
        scope=scope_id,
        lifetime=None,
        grant_ids=[grant.grant_id],
    )
    session.flush()
    return access_for(session, catalogue, token.record, demo.settings.tz)


def _include_fields(catalogue: Catalogue, scope_id: str) -> list[str]:
    described = catalogue.scopes[scope_id]
    return sorted(
        f.id
        for f in described.authorization_details_fields_supported
        if f.id.startswith("include_") and f.format == "boolean"
    )


def _selection_type(catalogue: Catalogue, scope_id: str) -> str:
    described = catalogue.scopes[scope_id]
    field = next(
        f
        for f in described.authorization_details_fields_supported
        if f.id == "authorization_form_selection_type"
    )
    return str(field.choices[0].id)


@pytest.mark.req("WG3-6-b", "WG3-7.2-a")
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_customer_grant_never_reaches_another_customers_records(
    setup: tuple[SmallDemo, Catalogue, str, list[str]], data: st.DataObject
) -> None:
    demo, catalogue, client_id, customers = setup
    customer_id = data.draw(st.sampled_from(customers), label="customer")
    scope_id = data.draw(st.sampled_from(CONSENT_SCOPES), label="scope")
    flags = data.draw(
        st.lists(st.sampled_from(_include_fields(catalogue, scope_id)), unique=True),
        label="flags",
    )
    entry: dict[str, Any] = {"type": scope_id, **{f: True for f in flags}}
    selection_type = _selection_type(catalogue, scope_id)
    with session_factory(demo.engine)() as session:
        today = datetime.now(UTC).date()
        resources = CustomerGraph.load(session, customer_id, today).resources(selection_type)
        picked = data.draw(
            st.lists(st.sampled_from([r.id for r in resources] or ["none"]), unique=True),
            label="picked",
        )
        future = data.draw(st.booleans(), label="include_future")
        selection = {
            "scopes": [scope_id],
            "type": selection_type,
            "ids": picked,
            "include_future": future,
        }
        access = _grant_access(
            session, demo, catalogue, client_id, customer_id, scope_id, entry, selection
        )
        owned = Owned(session, customer_id, demo.settings.tz)
        session.rollback()
    allowed = {
        rc.ACCOUNTS: owned.accounts | owned.parents,
        rc.CONTRACTS: owned.contracts,
        rc.POINTS: owned.points,
        rc.METERS: owned.meters,
        rc.STATEMENTS: owned.statements,
        rc.SECTIONS: owned.sections,
        rc.AGGREGATIONS: owned.aggregations,
    }
    granted = set(acc.DEFAULTS.get(catalogue.scopes[scope_id].type, ())) | set(flags)
    if {rc.INCLUDE[rc.CONTRACTS], rc.INCLUDE[rc.METERS]} <= granted:
        granted.add(rc.INCLUDE[rc.POINTS])  # §7.2.2, §7.2.4
    for kind, ids in allowed.items():
        reach = access.reach(kind)
        if reach is None:
            assert rc.INCLUDE[kind] not in granted
            continue
        assert rc.INCLUDE[kind] in granted
        assert reach.bounded
        assert set(reach.ids) <= ids, kind
        for object_flags in reach.ids.values():
            assert object_flags <= granted
    if access.usage is not None:
        assert access.usage.bounded
        for meter_id in access.usage.meters:
            assert meter_id in owned.meters
            for window in access.usage.windows(meter_id):
                assert owned.covers(meter_id, window), (meter_id, window)
    if not picked and not future:
        assert all(not (r.ids if r else {}) for r in access.reaches.values())


@pytest.mark.req("WG3-6.2-b")
def test_direct_access_without_preselections_reaches_every_object_and_with_them_only_matches(
    setup: tuple[SmallDemo, Catalogue, str, list[str]],
) -> None:
    demo, catalogue, client_id, _ = setup
    with session_factory(demo.engine)() as session:
        every = _grant_access(
            session,
            demo,
            catalogue,
            client_id,
            None,
            "cds_query_accounts_1",
            {"type": "cds_query_accounts_1"},
            None,
        )
        reach = every.reach(rc.ACCOUNTS)
        assert reach is not None and not reach.bounded
        number, account_id = session.execute(
            select(Account.account_number, Account.id).order_by(Account.id).limit(1)
        ).one()
        narrowed = _grant_access(
            session,
            demo,
            catalogue,
            client_id,
            None,
            "cds_query_accounts_1",
            {"type": "cds_query_accounts_1", "account_numbers": [number]},
            None,
        )
        reach = narrowed.reach(rc.ACCOUNTS)
        assert reach is not None and set(reach.ids) == {account_id}
        session.rollback()


@pytest.mark.req("WG3-7.3.6-a", "WG3-7.3.7-a")
def test_usage_windows_are_clipped_to_segment_start_and_end(
    setup: tuple[SmallDemo, Catalogue, str, list[str]],
) -> None:
    demo, catalogue, client_id, customers = setup
    start, end = "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"
    with session_factory(demo.engine)() as session:
        customer_id = next(c for c in customers if Owned(session, c, demo.settings.tz).periods)
        meters = Owned(session, customer_id, demo.settings.tz).meters
        access = _grant_access(
            session,
            demo,
            catalogue,
            client_id,
            customer_id,
            "cds_usage_1",
            {"type": "cds_usage_1", "segment_start": start, "segment_end": end},
            {
                "scopes": ["cds_usage_1"],
                "type": _selection_type(catalogue, "cds_usage_1"),
                "ids": [],
                "include_future": True,
            }
            if _selection_type(catalogue, "cds_usage_1") in ("account_selection",)
            else {
                "scopes": ["cds_usage_1"],
                "type": "meter_device_selection",
                "ids": sorted(meters),
                "include_future": False,
            },
        )
        session.rollback()
    assert access.usage is not None and access.usage.meters
    lower = datetime(2025, 1, 1, tzinfo=UTC)
    upper = datetime(2025, 2, 1, tzinfo=UTC)
    for meter_id in access.usage.meters:
        for window in access.usage.windows(meter_id):
            assert window.start is not None and window.start >= lower
            assert window.end is not None and window.end <= upper


@pytest.mark.req("WG3-6.2-b")
def test_direct_preselections_reach_the_scopes_objects_through_relations(
    setup: tuple[SmallDemo, Catalogue, str, list[str]],
) -> None:
    """An account number on a Usage Query reaches that Account's meters' usage (and no other); a
    meter number on an Accounts Query reaches the Account that meter serves."""
    demo, catalogue, client_id, customers = setup
    tz = demo.settings.tz
    with session_factory(demo.engine)() as session:
        customer_id = next(c for c in customers if Owned(session, c, tz).periods)
        owned = Owned(session, customer_id, tz)
        account = session.scalars(
            select(Account).where(Account.id.in_(owned.accounts)).order_by(Account.id)
        ).first()
        assert account is not None
        usage = _grant_access(
            session,
            demo,
            catalogue,
            client_id,
            None,
            "cds_query_usage_1",
            {"type": "cds_query_usage_1", "account_numbers": [account.account_number]},
            None,
        )
        assert usage.usage is not None and usage.usage.bounded
        assert usage.usage.meters
        assert set(usage.usage.meters) <= owned.meters
        meter_number = session.scalar(
            select(MeterDevice.meter_number).where(MeterDevice.id == sorted(owned.meters)[0])
        )
        accounts = _grant_access(
            session,
            demo,
            catalogue,
            client_id,
            None,
            "cds_query_accounts_1",
            {"type": "cds_query_accounts_1", "meter_numbers": [meter_number]},
            None,
        )
        reach = accounts.reach(rc.ACCOUNTS)
        assert reach is not None and reach.ids
        assert set(reach.ids) <= owned.accounts
        session.rollback()


def test_a_customers_own_access_is_their_records_and_usage_only(
    setup: tuple[SmallDemo, Catalogue, str, list[str]],
) -> None:
    """Download My Data (`own_access`): every one of the Customer's meters with usage for the
    periods it measured them, their contracts and bill sections; nobody else's."""
    demo, catalogue, _, customers = setup
    tz = demo.settings.tz
    sections_seen = 0
    with session_factory(demo.engine)() as session:
        for customer_id in customers:
            owned = Owned(session, customer_id, tz)
            access = acc.own_access(session, catalogue, customer_id, tz, "cds_usage_1")
            assert access.usage is not None
            assert set(access.usage.meters) <= owned.meters
            assert set(access.usage.meters) == set(owned.periods)
            for meter_id, windows in access.usage.meters.items():
                assert all(owned.covers(meter_id, w) for w in windows)
            for kind, mine in ((rc.CONTRACTS, owned.contracts), (rc.SECTIONS, owned.sections)):
                reach = access.reach(kind)
                assert reach is not None and set(reach.ids) <= mine
            sections_seen += len(access.reach(rc.SECTIONS).ids)  # type: ignore[union-attr]
    assert sections_seen > 0
