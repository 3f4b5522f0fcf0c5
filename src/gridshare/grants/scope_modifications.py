"""CDS-WG3-01 §7.4.5 Allow Scope Modifications: what a Customer may change on the authorization
form for a scope whose request sets `allow_scope_modifications` true, and the request as changed
(§9.2.1.3, §9.2.1.4).

Our reading (docs/spec-decisions.md): the Customer may narrow what the Client asked for, never
widen it.
- An `include_*` field the request set true may be turned off; one it left false stays false.
- Some of the `include_usage_segment_value_types` the request listed may be dropped; at least one
  stays (to share no usage at all, remove the request).
- A duration field (§7.3) may move closer to now, within the request and the field's limits
  (CDS-WG1-02 §3.8): a forward field (`sync_until`, `segment_end`, `statement_date_end`,
  `end_date`) may end earlier, a historical one (`segment_start`, `statement_date_start`,
  `start_date`) may start later. The Customer picks a local day; a datetime field gets that day at
  the time of day of `now` (so today is "now"), and the requested day itself keeps the requested
  value unchanged.
- A whole Request Section may be removed (§9.2.1.3), with every scope merged into it (§7.4.2),
  but not every one of them.
Preselection, selection type, purpose, merge and `jwk` fields do not change here (the Customer
picks resources in the Selection Component). A scope whose request leaves the field false, or
whose section fixes it false (§6.1.10), cannot be changed at all (§7.4.5); nor can a scope asked
for by more than one authorization_details entry (the form shows one set of values per scope).

`apply` returns the changed request, which the Grant, its token responses, the Grants API and the
receipt then carry (the Grant drops `allow_scope_modifications` itself with the other form-only
fields). Problems are reported per form control, so the form can show each beside its control.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from gridshare.config import Settings
from gridshare.grants import durations
from gridshare.grants.authorization_details import Requested
from gridshare.grants.scopes import (
    DATE_KINDS,
    VALUE_TYPES_FIELD,
    Catalogue,
    FieldDescription,
    FieldValueError,
    ScopeDescription,
)

MODIFY_FIELD: Final = "allow_scope_modifications"
INCLUDE_PREFIX: Final = "include_"
FORM: Final = "_form"
"""The problem key for the form as a whole (every Request Section removed)."""
MERGE_FIELD: Final = "merge_selection_with"


@dataclass(frozen=True)
class Change:
    """What the Customer changed in one scope's Request Section."""

    removed: bool = False
    includes: frozenset[str] | None = None
    """The `include_*` fields kept true; None: as requested."""
    value_types: frozenset[str] | None = None
    """The usage value types kept; None: as requested."""
    days: Mapping[str, date] = field(default_factory=dict)
    """Duration fields moved to another local day."""

    @property
    def empty(self) -> bool:
        return (
            not self.removed
            and self.includes is None
            and self.value_types is None
            and not self.days
        )


class ModificationRejected(ValueError):
    """Changes the request does not allow: `problems` maps a key (`scope_id`, `scope_id.field`,
    or `FORM`) to what is wrong, in the Customer's words."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True)
class DurationLimits:
    """The days a duration field may be moved to: `earliest`..`latest` (None: no end)."""

    field: FieldDescription
    requested: str
    earliest: date
    latest: date | None


def entries_by_scope(catalogue: Catalogue, requested: Requested) -> dict[str, list[dict[str, Any]]]:
    """The request's authorization_details entries of each requested scope."""
    found: dict[str, list[dict[str, Any]]] = {scope_id: [] for scope_id in requested.scopes}
    for entry in requested.authorization_details:
        owner = catalogue.scope_for_type(str(entry.get("type")))
        if owner is not None and owner.id in found:
            found[owner.id].append(entry)
    return found


def editable(catalogue: Catalogue, scope_id: str, entries: list[dict[str, Any]]) -> bool:
    """Whether the Customer may change this scope's request (§7.4.5)."""
    described = catalogue.scopes.get(scope_id)
    return (
        described is not None
        and bool(described.response_types_supported)
        and len(entries) == 1
        and entries[0].get(MODIFY_FIELD) is True
    )


def requested_includes(entry: Mapping[str, Any]) -> list[str]:
    """The `include_*` fields the request set true, which the Customer may turn off."""
    return [k for k, v in entry.items() if k.startswith(INCLUDE_PREFIX) and v is True]


def requested_value_types(entry: Mapping[str, Any]) -> list[str]:
    value = entry.get(VALUE_TYPES_FIELD)
    return [str(v) for v in value] if isinstance(value, list) else []


def duration_limits(
    settings: Settings, scope: ScopeDescription, entry: Mapping[str, Any], now: datetime
) -> list[DurationLimits]:
    """The request's duration fields with the days each may move to (narrowing only)."""
    today = now.astimezone(settings.tz).date()
    found = []
    for described in scope.fields_for(str(entry.get("type"))):
        value = entry.get(described.id)
        if described.format not in DATE_KINDS or not isinstance(value, str):
            continue
        kind = DATE_KINDS[described.format]
        closest = durations.resolve(
            described.minimum, kind, tz=settings.tz, now=now, past=described.historical
        )
        asked = _local_day(settings, value)
        closest_day = _local_day(settings, closest.text) or today
        if described.historical:
            found.append(DurationLimits(described, value, asked or today, closest_day))
        else:
            found.append(DurationLimits(described, value, closest_day, asked))
    return found


def apply(
    catalogue: Catalogue,
    settings: Settings,
    requested: Requested,
    changes: Mapping[str, Change],
    now: datetime,
) -> Requested:
    """`requested` with the Customer's `changes` (by scope id); raises `ModificationRejected`."""
    by_scope = entries_by_scope(catalogue, requested)
    problems: dict[str, str] = {}
    changed: dict[int, dict[str, Any]] = {}
    removed: set[str] = set()
    for scope_id, change in changes.items():
        if change.empty:
            continue
        entries = by_scope.get(scope_id)
        if entries is None:
            problems[scope_id] = "This request is not on the form."
            continue
        if not editable(catalogue, scope_id, entries):
            problems[scope_id] = "The app does not allow changes to this request."
            continue
        if change.removed:
            removed.add(scope_id)
            continue
        entry = entries[0]
        new = _changed_entry(
            settings, catalogue.scopes[scope_id], scope_id, entry, change, now, problems
        )
        changed[id(entry)] = new
    _check_removals(catalogue, by_scope, removed, problems)
    if problems:
        raise ModificationRejected(problems)
    kept = [s for s in requested.scopes if s not in removed]
    details = [
        changed.get(id(entry), entry) for scope_id in kept for entry in by_scope.get(scope_id, [])
    ]
    return Requested(" ".join(kept), details)


def _changed_entry(
    settings: Settings,
    scope: ScopeDescription,
    scope_id: str,
    entry: dict[str, Any],
    change: Change,
    now: datetime,
    problems: dict[str, str],
) -> dict[str, Any]:
    new = dict(entry)
    if change.includes is not None:
        asked = set(requested_includes(entry))
        extra = sorted(change.includes - asked)
        if extra:
            problems[f"{scope_id}.include"] = (
                "You can leave out data the app asked for, but not add data it did not ask for."
            )
        for field_id in asked:
            new[field_id] = field_id in change.includes
    asked_types = requested_value_types(entry)
    if change.value_types is not None and (asked_types or change.value_types):
        if not change.value_types <= set(asked_types):
            problems[f"{scope_id}.{VALUE_TYPES_FIELD}"] = (
                "You can leave out kinds of usage the app asked for, but not add others."
            )
        elif not change.value_types:
            problems[f"{scope_id}.{VALUE_TYPES_FIELD}"] = (
                "Keep at least one kind of usage, or remove this request."
            )
        else:
            new[VALUE_TYPES_FIELD] = [t for t in asked_types if t in change.value_types]
    limits = {d.field.id: d for d in duration_limits(settings, scope, entry, now)}
    for field_id, day in change.days.items():
        limit = limits.get(field_id)
        key = f"{scope_id}.{field_id}"
        if limit is None:
            problems[key] = "This date cannot be changed."
            continue
        value = _moved(settings, limit, day, now)
        if value is None:
            problems[key] = _range_words(limit)
        else:
            new[field_id] = value
    return new


def _moved(settings: Settings, limit: DurationLimits, day: date, now: datetime) -> str | None:
    """The field's value on `day`, or None when that day is outside what may be chosen."""
    if day == _local_day(settings, limit.requested):
        return limit.requested
    if day < limit.earliest or (limit.latest is not None and day > limit.latest):
        return None
    described = limit.field
    if DATE_KINDS[described.format] == "date":
        text = day.isoformat()
    else:
        local = now.astimezone(settings.tz).replace(microsecond=0)
        text = durations.resolve(
            datetime.combine(day, local.timetz()).isoformat(), "datetime", tz=settings.tz, now=now
        ).text
    try:
        return str(described.validate(text, tz=settings.tz, now=now))
    except FieldValueError:
        return None


def _range_words(limit: DurationLimits) -> str:
    earliest = day_words(limit.earliest)
    if limit.latest is None:
        return f"Choose a date on or after {earliest}, or leave it empty for no end date."
    latest = day_words(limit.latest)
    if limit.earliest == limit.latest:
        return f"This date can only be {earliest}."
    return f"Choose a date from {earliest} to {latest}."


def _check_removals(
    catalogue: Catalogue,
    by_scope: Mapping[str, list[dict[str, Any]]],
    removed: set[str],
    problems: dict[str, str],
) -> None:
    """Merged scopes go together (§7.4.2); at least one Request Section stays (§9.2.1.3)."""
    for scope_id, entries in by_scope.items():
        for entry in entries:
            target = entry.get(MERGE_FIELD)
            linked = isinstance(target, str) and target in by_scope
            if linked and (scope_id in removed) != (target in removed):
                where = scope_id if scope_id in removed else str(target)
                problems[where] = "Remove the requests shown together with this one as well."
    consent = [s for s in by_scope if (d := catalogue.scopes.get(s)) and d.response_types_supported]
    if consent and all(s in removed for s in consent):
        problems[FORM] = "Keep at least one request, or choose Decline."


def _local_day(settings: Settings, value: str) -> date | None:
    """An absolute date or datetime as the utility's local day; None for `infinite`."""
    if value == durations.INFINITE:
        return None
    if "T" in value or "t" in value:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        return moment.astimezone(settings.tz).date()
    return date.fromisoformat(value)


def day_words(day: date) -> str:
    """A day as "22 November 2027"."""
    return f"{day.day} {day.strftime('%B %Y')}"
