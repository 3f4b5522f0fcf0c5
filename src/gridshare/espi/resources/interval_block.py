"""ESPI IntervalBlock (espi.xsd `IntervalBlock`, `IntervalReading`, `ReadingQuality`; DIGEST §2, §3,
§4, §9): one stored usage block (one channel, one local day or one read period; DESIGN rule 3) as
the Subscription may see it.

- The block's readings are kept when their interval lies wholly inside one of the windows the
  Access gives its meter at that service point; a missing reading (null) is left out. A block
  with no reading left is not published.
- `interval` runs from the first kept reading's start to the last one's end (so `interval/start`
  is the first reading's `timePeriod/start`, FB_04 D042); every reading has its `timePeriod`
  (duration, start: epoch seconds) and its `value`, an integer in the ReadingType's
  `uom * 10**powerOfTenMultiplier` (`reading_type.multiplier`): exact for blocks packed as scaled
  integers, rounded half-even for blocks packed as floats.
- A reading whose quality is not our default (`valid`) carries one `ReadingQuality`: raw 14,
  manual 7 (manually edited), revenue 19, estimated 8, calculated 11 (derived), corrected 17
  (validated), website 16 (other).
- `cost` (hundred-thousandths of the ReadingType's currency, DIGEST §9) is the reading's value at
  the energy rate of its local time (`utility.tariffs.interval_rates`, as the Usage Segments API
  prices a segment), rounded half away from zero (half-even for float blocks), when the caller
  gives rates.

The id is the block's stored start in epoch seconds (as PG&E's `IntervalBlock/{startEpoch}`); the
entry is published and updated when the block was written and last changed. The content is
written as text and parsed once, not built element by element: a block of 96 readings is a few
hundred elements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
from lxml import etree

from gridshare.espi import atom
from gridshare.espi.resources import Paths, meter_reading
from gridshare.grants.reach import Window
from gridshare.timefmt import rfc3339
from gridshare.utility import codec

NAME: Final = "IntervalBlock"
COST_SCALE: Final = 5
"""Costs are integers of 10**-5 of the currency."""
ESPI_QUALITY: Final[Mapping[str, int]] = {
    "valid": 0,
    "raw": 14,
    "manual": 7,
    "revenue": 19,
    "estimated": 8,
    "calculated": 11,
    "corrected": 17,
    "website": 16,
}
"""QualityOfReading of each of our quality codes (`utility.codec.QUALITIES`)."""
_QUALITY_CODES: Final = np.array([ESPI_QUALITY[name] for name in codec.QUALITIES], dtype=np.int64)


@dataclass(frozen=True)
class Block:
    """A stored usage block as the reader fetched it."""

    start: datetime
    interval_seconds: int
    count: int
    values: bytes
    quality: bytes | None
    created: datetime
    modified: datetime

    @property
    def id(self) -> str:
        return str(int(self.start.timestamp()))


@dataclass(frozen=True)
class Rates:
    """The energy rate of each of a block's readings: `scaled[i] * 10**exponent` per unit."""

    scaled: npt.NDArray[np.int64]
    exponent: int


@dataclass(frozen=True)
class Readings:
    """What one IntervalBlock shows: the kept readings' starts (epoch seconds), values,
    QualityOfReading codes, and costs (None without rates)."""

    starts: npt.NDArray[np.int64]
    duration: int
    values: npt.NDArray[np.int64]
    qualities: npt.NDArray[np.int64]
    costs: npt.NDArray[np.int64] | None

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(int(self.starts[0]), UTC)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(int(self.starts[-1]) + self.duration, UTC)


def readings(
    block: Block, windows: Sequence[Window], power: int, rates: Rates | None
) -> Readings | None:
    """The block's readings inside `windows`, values scaled by `10**power` (the unit's shift minus
    the ReadingType's multiplier), or None when none is left (module docstring)."""
    first = int(block.start.timestamp())
    starts = first + np.arange(block.count, dtype=np.int64) * block.interval_seconds
    keep = ~codec.missing_mask(block.values)[: block.count] & _inside(
        starts, block.interval_seconds, windows
    )
    if not keep.any():
        return None
    encoding, exponent = codec.header(block.values)
    raw, _ = codec.unpack_array(block.values)
    if encoding == codec.FLOAT64:
        values = np.rint(np.nan_to_num(raw[: block.count]) * 10.0**power).astype(np.int64)
    else:
        values = raw[: block.count].astype(np.int64) * 10 ** (exponent + power)
    qualities = _QUALITY_CODES[codec.unpack_quality(block.quality, block.count)]
    costs = None if rates is None else _costs(block, rates)
    return Readings(
        starts[keep],
        block.interval_seconds,
        values[keep],
        qualities[keep],
        None if costs is None else costs[keep],
    )


def _inside(
    starts: npt.NDArray[np.int64], interval: int, windows: Sequence[Window]
) -> npt.NDArray[np.bool_]:
    """Which intervals lie wholly inside one of the windows."""
    inside = np.zeros(starts.shape, dtype=np.bool_)
    for window in windows:
        fits = np.ones(starts.shape, dtype=np.bool_)
        if window.start is not None:
            fits &= starts >= window.start.timestamp()
        if window.end is not None:
            fits &= starts + interval <= window.end.timestamp()
        inside |= fits
    return inside


def _costs(block: Block, rates: Rates) -> npt.NDArray[np.int64]:
    """Each reading's value times its rate, in 10**-5 of the currency (module docstring)."""
    encoding, exponent = codec.header(block.values)
    raw, _ = codec.unpack_array(block.values)
    scaled = rates.scaled[: block.count]
    if encoding == codec.FLOAT64:
        floats = np.nan_to_num(raw[: block.count]) * scaled
        costs = np.rint(floats * 10.0 ** (rates.exponent + COST_SCALE))
        return np.asarray(costs, dtype=np.int64)
    product = raw[: block.count].astype(np.int64) * scaled
    power = exponent + rates.exponent + COST_SCALE
    if power >= 0:
        return np.asarray(product * 10**power, dtype=np.int64)
    divisor = 10**-power
    rounded = (np.abs(product) + divisor // 2) // divisor
    return np.asarray(np.where(product < 0, -rounded, rounded), dtype=np.int64)


def collection(usage_point_id: str, meter_reading_id: str) -> tuple[str, ...]:
    return (*meter_reading.path(usage_point_id, meter_reading_id), NAME)


def path(usage_point_id: str, meter_reading_id: str, block_id: str) -> tuple[str, ...]:
    return (*collection(usage_point_id, meter_reading_id), block_id)


def entry(
    paths: Paths, usage_point_id: str, meter_reading_id: str, block: Block, shown: Readings
) -> atom.Entry:
    at = path(usage_point_id, meter_reading_id, block.id)
    return atom.Entry(
        atom_id=paths.atom_id(at),
        title=f"Readings from {rfc3339(shown.start)}",
        links=(
            paths.collection("up", collection(usage_point_id, meter_reading_id)),
            paths.member("self", at),
        ),
        content=element(shown),
        published=block.created,
        updated=block.modified,
    )


def element(shown: Readings) -> etree._Element:
    """`espi:IntervalBlock` with its `interval` and `IntervalReading`s, in the XSD order."""
    duration = shown.duration
    first = int(shown.starts[0])
    span = int(shown.starts[-1]) + duration - first
    parts = [
        f'<espi:{NAME} xmlns:espi="{atom.ESPI_NS}"><espi:interval>'
        f"<espi:duration>{span}</espi:duration><espi:start>{first}</espi:start></espi:interval>"
    ]
    costs = shown.costs.tolist() if shown.costs is not None else None
    for i, (start, value, quality) in enumerate(
        zip(shown.starts.tolist(), shown.values.tolist(), shown.qualities.tolist(), strict=True)
    ):
        parts.append("<espi:IntervalReading>")
        if costs is not None:
            parts.append(f"<espi:cost>{costs[i]}</espi:cost>")
        if quality:
            parts.append(f"<espi:ReadingQuality><espi:quality>{quality}</espi:quality>")
            parts.append("</espi:ReadingQuality>")
        parts.append(
            f"<espi:timePeriod><espi:duration>{duration}</espi:duration>"
            f"<espi:start>{start}</espi:start></espi:timePeriod>"
            f"<espi:value>{value}</espi:value></espi:IntervalReading>"
        )
    parts.append(f"</espi:{NAME}>")
    return etree.fromstring("".join(parts))
