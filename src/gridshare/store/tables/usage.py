"""Channels and usage blocks: interval data, one row per channel per local day (DESIGN rule 3).

A channel is one measured quantity of one meter (kind + direction + units + interval). A block
holds that channel's values for one local day (96 values at 15 minutes; 92 or 100 on DST change
days), or one read period for monthly reads (`count` 1, `interval_seconds` the period's length).
Values and quality flags are packed by `gridshare.utility.codec`; never one row per reading.
Beside them, `values_json` keeps the block's encoded CDS `values` array (`utility.usage_read.
values_json`), refreshed by every write, so that serving an untrimmed one-channel Usage Segment
copies bytes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("meter_id", "kind", "direction", "interval_seconds"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meter_id: Mapped[str] = mapped_column(ForeignKey("meter_devices.id"), index=True)
    kind: Mapped[str] = mapped_column(
        String(24), comment="electric_usage, electric_demand, natural_gas_usage, water_usage, ..."
    )
    direction: Mapped[str | None] = mapped_column(String(8), comment="net, forward, reverse")
    units: Mapped[str] = mapped_column(String(8), comment="CDS unit type: kWh, kW, therm, gal, ...")
    interval_seconds: Mapped[int] = mapped_column(comment="900, 3600, ...; 0 for read periods")
    created: Mapped[datetime] = mapped_column(default=utcnow)


class UsageBlock(Base):
    __tablename__ = "usage_blocks"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    start: Mapped[datetime] = mapped_column(
        primary_key=True, comment="UTC start of the first value"
    )
    interval_seconds: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(SmallInteger)
    values: Mapped[bytes] = mapped_column(LargeBinary, comment="packed by utility.codec")
    quality: Mapped[bytes | None] = mapped_column(
        LargeBinary, comment="one code per value; null when every value has the codec's default"
    )
    values_json: Mapped[bytes | None] = mapped_column(
        LargeBinary,
        comment="the block's CDS-WG3-01 §10.8.3 `values` array as JSON bytes (one Value Object "
        "per value, quality included), written with the block; null for channels the Usage "
        "Segments API does not serve and for blocks written before 0006",
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
