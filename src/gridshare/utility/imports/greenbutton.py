"""Green Button XML into the utility's records (NAESB REQ.21 ESPI; DIGEST §2, §3, §9).

`import_greenbutton` reads a Green Button file, an Atom feed of ESPI resources, as a stream
(`greenbutton_feed`) and joins its entries by their Atom links (DIGEST §3; `greenbutton_join`): a
MeterReading's `up` is one of its UsagePoint's `related` links, an IntervalBlock's `up` one of its
MeterReading's, and a MeterReading links `related` to exactly one ReadingType's `self`. Then:

- each UsagePoint maps to a service point and its meter: created, with numbers derived from the
  UsagePoint's Atom id (else its `self` link) and linked to no customer, or, with
  `service_point=`, an existing service point and the meter installed there now
  (`greenbutton_records`);
- each MeterReading with its ReadingType is a channel of that meter: kind, units and direction
  from commodity, uom and flowDirection, the interval from intervalLength; an interval of a day or
  more makes read periods (channel interval 0, one block per period) (`greenbutton_channels`);
- each IntervalReading goes, as `value * 10**powerOfTenMultiplier` exactly (reverse flow
  negated) with its quality, into the per-day arrays of `readings`, which `loader.store_readings`
  merges with the stored blocks: no Python object per reading, whatever the file's size;
- each UsageSummary becomes a Bill Section when a contract served the service point
  (`greenbutton_records`), or is skipped with a warning.

Files that bend the link rules are joined by weaker rules where that is unambiguous (a `related`
link naming the child itself, a child's `self` under its parent's, the only candidate in the file),
each with a warning. Anything that cannot be placed or stored exactly refuses the whole file; the
import writes in one transaction, so a refused file changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, RootTransaction, select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.store.db import session_factory
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePoint
from gridshare.utility.imports import espi_codes
from gridshare.utility.imports.errors import UsageImportError
from gridshare.utility.imports.greenbutton_feed import FeedReader, Problem
from gridshare.utility.imports.greenbutton_join import Joiner, loader_problem
from gridshare.utility.imports.greenbutton_records import (
    PointCounts,
    PointPlan,
    SummaryCounts,
    ensure_points,
    write_summaries,
)
from gridshare.utility.imports.loader import UsageImportReport, store_readings

__all__ = ["GreenButtonRefused", "GreenButtonReport", "Problem", "import_greenbutton"]


class GreenButtonRefused(ValueError):
    """A file that cannot be imported; nothing from it has been stored."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        fatal = [p for p in self.problems if p.fatal]
        more = f" (and {len(fatal) - 1} more problems)" if len(fatal) > 1 else ""
        super().__init__(f"{fatal[0] if fatal else 'refused'}{more}")


@dataclass(frozen=True)
class GreenButtonReport:
    """What an import stored (or, for a dry run, would have stored)."""

    usage: UsageImportReport
    usage_points: tuple[PointPlan, ...]
    points: PointCounts
    summaries: SummaryCounts
    warnings: tuple[Problem, ...]
    dry_run: bool

    def summary(self) -> str:
        usage = self.usage
        span = f" ({usage.first_day} to {usage.last_day})" if usage.first_day else ""
        lines = [
            f"{usage.readings:,} readings ({usage.missing:,} missing) for "
            f"{_many(usage.channels, 'channel')} ({usage.new_channels:,} new): "
            f"{_many(usage.blocks_written, 'block')} written, {usage.blocks_unchanged:,} "
            f"unchanged, over {_many(usage.days, 'local day')}{span}."
        ]
        for plan in self.usage_points:
            where = f"service point {plan.servicepoint_number}, meter {plan.meter_number}"
            if plan.existing:
                lines.append(f"UsagePoint (line {plan.line}) -> {where} (--service-point).")
            else:
                lines.append(
                    f"UsagePoint (line {plan.line}) -> {where}: not linked to any customer; link "
                    "the service point to a service contract to share its data."
                )
        created = self.points
        updated = f", updated {_many(created.changed, 'record')}" if created.changed else ""
        lines.append(
            f"Created {_many(created.service_points_created, 'service point')} and "
            f"{_many(created.meters_created, 'meter')}{updated}; "
            f"usage summaries: {self.summaries.written:,} written as Bill Sections, "
            f"{self.summaries.unchanged:,} unchanged, {len(self.summaries.skipped):,} skipped."
        )
        if self.warnings:
            lines.append(f"{_many(len(self.warnings), 'warning')}.")
        head = "Dry run, nothing was written. It would import " if self.dry_run else "Imported "
        lines[0] = head + lines[0]
        return "\n".join(lines)


def _many(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def import_greenbutton(
    engine: Engine,
    settings: Settings,
    path: Path,
    *,
    service_point: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> GreenButtonReport:
    """Import the Green Button file at `path`, all or nothing (see the module docstring).

    `service_point` maps the file's one UsagePoint onto that existing service point and its
    current meter. `dry_run` does everything but commit. `progress` is called now and then with
    the bytes read so far. Raises `GreenButtonRefused` listing every problem found.
    """
    existing = _existing(engine, service_point) if service_point is not None else None
    importer = Joiner(settings.tz, existing)
    FeedReader(importer.problems, importer.handle, progress).read(path)
    if not importer.problems.fatal:
        importer.finish()
    if importer.problems.fatal:
        raise GreenButtonRefused(importer.problems.fatal + importer.problems.warnings)
    if progress is not None:
        progress(path.stat().st_size)
    return _store(engine, settings.tz, importer, dry_run)


def _existing(engine: Engine, number: str) -> PointPlan:
    """The service point `number` and the meter installed there now, or why they will not do."""
    with session_factory(engine)() as session:
        point = session.scalars(
            select(ServicePoint).where(ServicePoint.servicepoint_number == number)
        ).first()
        if point is None:
            raise GreenButtonRefused(
                [_option(f"no service point has the number {number!r}", "an existing number")]
            )
        installed = session.execute(
            select(MeterDevice, MeterInstallation.start)
            .join(MeterInstallation, MeterInstallation.meter_id == MeterDevice.id)
            .where(MeterInstallation.service_point_id == point.id, MeterInstallation.end.is_(None))
            .order_by(MeterInstallation.start.desc())
        ).first()
        meter = None if installed is None else installed[0]
        if meter is None or not meter.meter_number:
            problem = (
                "has no meter installed now"
                if meter is None
                else f"has meter {meter.id} installed now, which has no meter number"
            )
            raise GreenButtonRefused(
                [
                    _option(
                        f"service point {number} {problem}",
                        "a service point with a numbered meter installed (no end date)",
                    )
                ]
            )
        commodities = [t for t in point.types if t in espi_codes.SERVICE_KINDS.values()]
        return PointPlan(
            0,
            number,
            meter.meter_number,
            existing=True,
            commodity=commodities[0] if len(commodities) == 1 else None,
            installed=installed[1] if installed is not None else None,
        )


def _option(problem: str, expected: str) -> Problem:
    return Problem(None, "--service-point", problem, expected, fatal=True)


# Writing -------------------------------------------------------------------------------------


def _store(engine: Engine, tz: ZoneInfo, importer: Joiner, dry_run: bool) -> GreenButtonReport:
    """Write everything in one transaction (rolled back for a dry run)."""
    channels = list(importer.channels.values())
    plans = list({id(plan): plan for plan in importer.plans.values()}.values())
    # One connection, one transaction: this session and the loader's (which it opens on what it
    # is given) both join it, so records, blocks and Bill Sections commit or roll back together.
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            with Session(bind=connection) as session:
                points = ensure_points(session, plans, tz)
                usage = store_readings(connection, channels, importer.rows, importer.missing)
                summaries = write_summaries(session, importer.summary_plans, tz)
                session.flush()
            if dry_run:
                transaction.rollback()
            else:
                transaction.commit()
        except UsageImportError as error:
            _roll_back(transaction)
            line, element, problem, expected = loader_problem(error)
            refused = Problem(line, element, problem, expected, fatal=True)
            raise GreenButtonRefused([refused, *importer.problems.warnings]) from error
        except BaseException:
            _roll_back(transaction)
            raise
    warnings = (*importer.problems.warnings, *summaries.skipped)
    return GreenButtonReport(usage, tuple(plans), points, summaries, warnings, dry_run)


def _roll_back(transaction: RootTransaction) -> None:
    """Roll back, unless a failing session on the connection already did."""
    if transaction.is_active:
        transaction.rollback()
