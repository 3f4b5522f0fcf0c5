"""The tables, one module per area; importing this package registers them on `Base.metadata`."""

from gridshare.store.tables import (
    accounts,
    aggregations,
    bills,
    clients,
    contracts,
    coverage,
    customers,
    eacs,
    grants,
    mail,
    messages,
    meters,
    outbox,
    programs,
    receipts,
    servicepoints,
    usage,
)
from gridshare.store.tables.base import Base

__all__ = [
    "Base",
    "accounts",
    "aggregations",
    "bills",
    "clients",
    "contracts",
    "coverage",
    "customers",
    "eacs",
    "grants",
    "mail",
    "messages",
    "meters",
    "outbox",
    "programs",
    "receipts",
    "servicepoints",
    "usage",
]
