"""The tables, one module per area. Importing this package registers every table on `Base.metadata`."""

from gridshare.store.tables import (
    accounts,
    aggregations,
    bills,
    contracts,
    coverage,
    customers,
    eacs,
    meters,
    outbox,
    programs,
    servicepoints,
    usage,
)
from gridshare.store.tables.base import Base

__all__ = [
    "Base",
    "accounts",
    "aggregations",
    "bills",
    "contracts",
    "coverage",
    "customers",
    "eacs",
    "meters",
    "outbox",
    "programs",
    "servicepoints",
    "usage",
]
