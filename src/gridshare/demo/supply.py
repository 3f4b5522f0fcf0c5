"""Where DG&E's electricity comes from: energy attribute certificates (CDS-WG3-01 §10.9) and the
monthly grid supply mix (§10.8.5.3).

Quarterly wind certificates apply to every customer (`general`), quarterly certificates from a
solar farm serve one business's power purchase agreement (`account`), and each month's mix has
shares that sum to exactly 1 (solar high in summer, hydro in spring, natural gas the rest).
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from gridshare.demo.ids import Ids
from gridshare.demo.timeline import months
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.eacs import EnergyAttributeCertificate, SupplyMix
from gridshare.store.tables.programs import Entity
from gridshare.utility.usage import day_start

EAC_FORMAT = "wregis_certificate_json"
"""The `eac_format` of the demo's certificates (the server metadata's `cds_eac_formats` id)."""

CARBON_INTENSITY = {  # gCO2e/kWh at the point of generation
    "solar": "0",
    "wind": "0",
    "hydro": "0",
    "nuclear": "0",
    "geothermal": "38",
    "biomass": "18",
    "natural_gas": "404",
}


def certificates(
    first: date, last: date, tz: ZoneInfo, ids: Ids, ppa_account: Account | None
) -> list[EnergyAttributeCertificate]:
    """Wind certificates for everyone and solar ones for the PPA account, per calendar quarter
    that overlaps the history."""
    found = []
    for start, after in _quarters(first, last):
        quarter = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        sources: list[tuple[str, list[str], str, str, str, int]] = [
            ("general", [], "Dunnigan Hills Wind", "wind", "W1147", 18_400)
        ]
        if ppa_account is not None:
            sources.append(
                ("account", [ppa_account.id], "Yolo Sunfields Solar", "solar", "S2093", 310)
            )
        for beneficiary_type, beneficiaries, generator, fuel, unit, mwh in sources:
            serial = f"WREGIS-{unit}-{quarter}-000001-{mwh:06d}"
            found.append(
                EnergyAttributeCertificate(
                    id=ids("eac", unit, quarter),
                    beneficiary_type=beneficiary_type,
                    beneficiaries=beneficiaries,
                    eac_numbers=[serial],
                    eac_format=EAC_FORMAT,
                    data=json.dumps(
                        {
                            "registry": "WREGIS",
                            "certificate_serial": serial,
                            "generator": generator,
                            "generator_id": unit,
                            "fuel": fuel,
                            "vintage": quarter,
                            "quantity_mwh": str(mwh),
                            "location": "Yolo County, CA",
                        },
                        sort_keys=True,
                    ),
                    period_start=day_start(start, tz),
                    period_end=day_start(after, tz),
                )
            )
    return found


def supply_mix(
    first: date,
    last: date,
    tz: ZoneInfo,
    utility: Entity,
    general: list[EnergyAttributeCertificate],
) -> list[SupplyMix]:
    """DG&E's base supply mix for every calendar month of the history."""
    rows = []
    for start, end in months(first, last):
        summer = math.cos(2 * math.pi * (start.month - 7) / 12)
        spring = math.cos(2 * math.pi * (start.month - 4) / 12)
        shares = {
            "solar": Decimal(f"{0.17 + 0.08 * summer:.3f}"),
            "wind": Decimal(f"{0.11 + 0.03 * spring:.3f}"),
            "hydro": Decimal(f"{0.12 + 0.07 * spring:.3f}"),
            "nuclear": Decimal("0.090"),
            "geothermal": Decimal("0.050"),
            "biomass": Decimal("0.030"),
        }
        shares["natural_gas"] = Decimal(1) - sum(shares.values(), Decimal(0))
        month_start = day_start(start, tz)
        month_end = day_start(end + timedelta(days=1), tz)
        covering = [e.id for e in general if e.period_start <= month_start < e.period_end]
        for supply_type, share in shares.items():
            rows.append(
                SupplyMix(
                    entity_id=utility.id,
                    period_start=month_start,
                    period_end=month_end,
                    attribution="base",
                    supply_type=supply_type,
                    share=share,
                    carbon_intensity=Decimal(CARBON_INTENSITY[supply_type]),
                    eac_ids=covering if supply_type == "wind" else [],
                )
            )
    return rows


def _quarters(first: date, last: date) -> list[tuple[date, date]]:
    start = date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    found = []
    while start <= last:
        after = date(start.year + (start.month + 2) // 12, (start.month + 2) % 12 + 1, 1)
        found.append((start, after))
        start = after
    return found
