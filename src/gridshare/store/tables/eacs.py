"""Energy attribute certificates (CDS-WG3-01 §10.9) and the grid supply mix (§10.8.5.3).

`beneficiaries` hold our internal ids (customer, account, contract, rate plan or program ids, by
`beneficiary_type`); the API maps them to the identifiers the client may see.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.tables.base import Base, DecimalText, Id, Timestamps


class EnergyAttributeCertificate(Timestamps, Base):
    __tablename__ = "eacs"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    beneficiary_type: Mapped[str] = mapped_column(String(20))
    beneficiaries: Mapped[list[str]]
    eac_numbers: Mapped[list[str]]
    eac_format: Mapped[str] = mapped_column(String(40))
    data: Mapped[str] = mapped_column(
        String(4000), comment="the certificate data, served at eac_data_url"
    )
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]


class SupplyMix(Base):
    """One component of the grid supply mix for an entity over a period."""

    __tablename__ = "supply_mix"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_id: Mapped[str] = mapped_column(ForeignKey("entities.id"), index=True)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    attribution: Mapped[str] = mapped_column(String(12), comment="base, individual, residual")
    supply_type: Mapped[str] = mapped_column(String(20), comment="solar, wind, natural_gas, ...")
    share: Mapped[Decimal] = mapped_column(DecimalText(), comment="0..1")
    carbon_intensity: Mapped[Decimal | None] = mapped_column(DecimalText(), comment="gCO2e/kWh")
    eac_ids: Mapped[list[str]] = mapped_column(default=list)
