"""Green Button usage subscriptions on the small demo utility, made directly: a Grant of the
Customer Consent scope an ESPI scope becomes (`cds_usage_1` with its include flags), the Customer
choosing every account, and its `Access`; and what each Customer holds, read straight from the
tables (not with `espi.usage_model`'s walk) for the tests' expectations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.espi import atom, hrefs
from gridshare.espi.query import Query
from gridshare.espi.resources.meter_reading import meter_reading_id
from gridshare.espi.subscription import Subscription
from gridshare.grants.access import Access, access_for
from gridshare.grants.clients import register
from gridshare.grants.grants import create_grant
from gridshare.grants.scopes import load_catalogue
from gridshare.grants.tokens import issue
from gridshare.store.db import session_factory
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import ServicePointContract
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility import codec
from tests.demo.conftest import SmallDemo

SINCE: Final = "2024-01-01T00:00:00Z"
"""Before the small demo's first day."""
ALL_BLOCKS: Final = frozenset({1, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16, 32, 37})
SHIFT: Final = {"kWh": 3, "kW": 3, "therm": 0, "gal": 0}
"""Our units -> ESPI uom (kWh -> Wh, kW -> W): powers of ten."""
INCLUDED: Final = {
    "include_service_points": True,
    "include_meter_devices": True,
    "include_service_contracts": True,
    "include_accounts": True,
    "include_bill_sections": True,
    "include_bill_section_line_items": True,
}


@dataclass(frozen=True)
class Subscriber:
    username: str
    customer_id: str
    grant_id: str
    access: Access


def subscriptions(demo: SmallDemo) -> Callable[..., Subscriber]:
    """`make(username, **entry fields)`: a committed Grant of every account of the Customer."""
    settings = demo.settings
    catalogue = load_catalogue(settings)
    with session_factory(demo.engine)() as session:
        done = register(
            session,
            settings,
            catalogue,
            {
                "scope": "cds_client_admin cds_usage_1",
                "client_name": "Green Meter App",
                "cds_company_name": "Green Meter Inc.",
            },
        )
        session.commit()
        client_id = done.clients[-1].client_id
    made: dict[tuple[str, str], Subscriber] = {}

    def make(username: str, **fields: Any) -> Subscriber:
        key = (username, repr(sorted(fields.items())))
        if key in made:
            return made[key]
        entry = {"type": "cds_usage_1", "segment_start": SINCE, **INCLUDED, **fields}
        with session_factory(demo.engine)() as session:
            customer_id = session.scalars(
                select(Customer.id).where(Customer.username == username)
            ).one()
            grant = create_grant(
                session,
                client_id=client_id,
                scope="cds_usage_1",
                authorization_details=[entry],
                customer_id=customer_id,
            )
            grant.selections = [
                {
                    "scopes": ["cds_usage_1"],
                    "type": "account_selection",
                    "ids": [],
                    "include_future": True,
                }
            ]
            token = issue(
                session,
                kind="access",
                client_id=client_id,
                scope="cds_usage_1",
                lifetime=None,
                grant_ids=[grant.grant_id],
            )
            session.commit()
            access = access_for(session, catalogue, token.record, settings.tz)
            made[key] = Subscriber(username, customer_id, grant.grant_id, access)
        return made[key]

    return make


def feed_of(demo: SmallDemo, entries: Iterable[atom.Entry], subscription_id: str = "s") -> bytes:
    settings = demo.settings
    feed = atom.Feed(
        atom_id=hrefs.atom_id(settings, f"Batch/Subscription/{subscription_id}"),
        title="Green Button usage",
        self_href=hrefs.resource(settings, "Batch", "Subscription", subscription_id),
        updated=datetime(2025, 4, 1, tzinfo=UTC),
    )
    return b"".join(atom.stream_feed(feed, entries))


def batch(
    demo: SmallDemo,
    who: Subscriber,
    blocks: frozenset[int] = ALL_BLOCKS,
    query: Query | None = None,
    history_start: datetime | None = None,
    usage_point_id: str | None = None,
) -> bytes:
    with session_factory(demo.engine)() as session:
        entries = Subscription.open(
            session, demo.settings, who.access, who.grant_id, blocks, history_start
        ).batch_feed(query or Query(), usage_point_id)
        return feed_of(demo, entries, who.grant_id)


def periods(
    session: Session, customer_id: str, tz: ZoneInfo
) -> dict[tuple[str, str], list[tuple[datetime, datetime | None]]]:
    """(meter, service point) -> when the meter measured one of the Customer's contracts there."""
    found: dict[tuple[str, str], list[tuple[datetime, datetime | None]]] = {}
    rows = session.execute(
        select(MeterInstallation, ServicePointContract)
        .join(
            ServicePointContract,
            ServicePointContract.service_point_id == MeterInstallation.service_point_id,
        )
        .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
        .join(Account, Account.id == ServiceContract.account_id)
        .where(Account.customer_id == customer_id)
    ).all()
    for installed, served in rows:
        start = max(installed.start, served.start)
        ends = [e for e in (installed.end, served.end) if e is not None]
        end = min(ends) if ends else None
        if end is not None and end <= start:
            continue
        key = (installed.meter_id, installed.service_point_id)
        found.setdefault(key, []).append((_utc(start, tz), None if end is None else _utc(end, tz)))
    return found


def _utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def stored_readings(
    demo: SmallDemo, customer_id: str
) -> dict[tuple[str, str], set[tuple[datetime, Decimal]]]:
    """Every reading of the Customer's meters while they measured its contracts, from the
    tables: (service point, MeterReading id) -> {(start, value in the ESPI uom)}."""
    found: dict[tuple[str, str], set[tuple[datetime, Decimal]]] = defaultdict(set)
    with session_factory(demo.engine)() as session:
        for (meter_id, point_id), spans in periods(session, customer_id, demo.settings.tz).items():
            for channel in session.scalars(select(Channel).where(Channel.meter_id == meter_id)):
                key = (
                    point_id,
                    meter_reading_id(
                        meter_id, channel.kind, channel.direction, channel.interval_seconds
                    ),
                )
                for block in session.scalars(
                    select(UsageBlock).where(UsageBlock.channel_id == channel.id)
                ):
                    for i, value in enumerate(codec.unpack_decimals(block.values)):
                        start = block.start + timedelta(seconds=i * block.interval_seconds)
                        end = start + timedelta(seconds=block.interval_seconds)
                        inside = any(start >= a and (b is None or end <= b) for a, b in spans)
                        if value is not None and inside:
                            found[key].add((start, value.scaleb(SHIFT[channel.units])))
    return {k: v for k, v in found.items() if v}
