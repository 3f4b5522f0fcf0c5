"""ESPI ElectricPowerQualitySummary (espi.xsd `ElectricPowerQualitySummary`; DIGEST §2, FB_17):
we hold no power quality measurements (flicker, harmonics, interruptions, voltage dips...), so a
UsagePoint's `ElectricPowerQualitySummary` collection is an empty feed, no member exists, and no
UsagePoint links the collection (`espi.subscription.power_quality_summaries`).
"""

from __future__ import annotations

from typing import Final

NAME: Final = "ElectricPowerQualitySummary"
