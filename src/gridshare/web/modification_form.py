"""The authorization form's editing controls for scopes whose request allows modifications
(CDS-WG3-01 §7.4.5, §9.2.1.3, §9.2.1.4): plain checkboxes and date fields, no script, prefilled
with what the Client asked for, and the posted form read back as `grants.scope_modifications`
changes.

Form fields: `edit` (hidden, one per editable scope, so unticking every box still counts),
`include.<scope>` (the `include_*` fields kept), `value_type.<scope>` (the usage value types kept),
`date.<scope>.<field>` (a local day `YYYY-MM-DD`; empty keeps the request's value) and
`remove.<first scope of the Request Section>` = `yes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from gridshare.config import Settings
from gridshare.grants.authorization_details import Requested
from gridshare.grants.consent_words import INCLUDES, VALUE_TYPES, date_words
from gridshare.grants.scope_modifications import (
    FORM,
    Change,
    duration_limits,
    editable,
    entries_by_scope,
    requested_includes,
    requested_value_types,
)
from gridshare.grants.scopes import VALUE_TYPES_FIELD, Catalogue
from gridshare.web.browser import Form
from gridshare.web.selection_form import RequestPart

DATE_LABELS: Final = {
    "sync_until": ("Keep it up to date until", "Leave empty for no end date."),
    "segment_start": ("Usage from", "A later date shares less of your past usage."),
    "segment_end": ("New usage until", "Leave empty for no end date."),
    "statement_date_start": ("Bills from", "A later date shares fewer of your past bills."),
    "statement_date_end": ("New bills until", "Leave empty for no end date."),
    "start_date": ("Bill charges from", "A later date shares fewer of your past charges."),
    "end_date": ("New bill charges until", "Leave empty for no end date."),
    "expires": ("Consent lasts until", "Leave empty for no end date."),
}
"""Each §7.3 duration field's label and hint (the hint about an empty field only applies to a
request with no end)."""


@dataclass(frozen=True)
class Box:
    value: str
    words: str
    checked: bool


@dataclass(frozen=True)
class DateField:
    name: str
    label: str
    hint: str
    value: str
    earliest: str
    latest: str | None
    error: str | None


@dataclass(frozen=True)
class SectionEdit:
    """The controls of one editable scope's Request Section."""

    scope_id: str
    includes: tuple[Box, ...]
    value_types: tuple[Box, ...]
    dates: tuple[DateField, ...]
    include_error: str | None
    value_type_error: str | None
    error: str | None


@dataclass(frozen=True)
class PartEdit:
    """A Request Section's removal control (§9.2.1.3)."""

    key: str
    removed: bool
    error: str | None


@dataclass(frozen=True)
class Editing:
    sections: dict[str, SectionEdit]
    parts: dict[str, PartEdit]
    error: str | None
    """A problem with the form as a whole (every Request Section removed)."""

    @property
    def any(self) -> bool:
        return bool(self.sections)

    def removed_scopes(self, parts: Sequence[RequestPart]) -> set[str]:
        return {
            section.scope_id
            for part in parts
            if (edit := self.parts.get(part.sections[0].scope_id)) is not None and edit.removed
            for section in part.sections
        }


def read_changes(
    form: Form, parts: Sequence[RequestPart]
) -> tuple[dict[str, Change], dict[str, str]]:
    """The posted changes by scope id, and the fields that are not even dates."""
    removed = {
        section.scope_id
        for part in parts
        if form.get(f"remove.{part.sections[0].scope_id}") == "yes"
        for section in part.sections
    }
    scope_ids = set(form.all("edit")) | removed
    for name, _ in form.pairs:
        prefix, _, rest = name.partition(".")
        if prefix in ("include", "value_type", "date", "remove"):
            scope_ids.add(rest.split(".", 1)[0])
    changes: dict[str, Change] = {}
    problems: dict[str, str] = {}
    for scope_id in sorted(scope_ids):
        marked = scope_id in form.all("edit")
        includes = form.all(f"include.{scope_id}")
        value_types = form.all(f"value_type.{scope_id}")
        days: dict[str, date] = {}
        for name, value in form.pairs:
            if name.startswith(f"date.{scope_id}.") and value.strip():
                try:
                    days[name.split(".", 2)[2]] = date.fromisoformat(value.strip())
                except ValueError:
                    problems[name.removeprefix("date.")] = "Enter a date such as 2027-11-22."
        changes[scope_id] = Change(
            removed=scope_id in removed,
            includes=frozenset(includes) if marked or includes else None,
            value_types=frozenset(value_types) if marked or value_types else None,
            days=days,
        )
    return changes, problems


def editing(
    catalogue: Catalogue,
    settings: Settings,
    requested: Requested | None,
    parts: Sequence[RequestPart],
    now: datetime,
    posted: Form | None = None,
    problems: Mapping[str, str] | None = None,
) -> Editing:
    """The controls for every editable scope, filled from `posted` (a submission that needs
    correcting) or the request, with `problems` beside their controls."""
    problems = problems or {}
    if requested is None:
        return Editing({}, {}, None)
    by_scope = entries_by_scope(catalogue, requested)
    sections: dict[str, SectionEdit] = {}
    for scope_id, entries in by_scope.items():
        if not editable(catalogue, scope_id, entries):
            continue
        entry = entries[0]
        marked = posted is not None and scope_id in posted.all("edit")
        kept = set(posted.all(f"include.{scope_id}")) if posted is not None and marked else None
        types_kept = (
            set(posted.all(f"value_type.{scope_id}")) if posted is not None and marked else None
        )
        dates = []
        for limit in duration_limits(settings, catalogue.scopes[scope_id], entry, now):
            field_id = limit.field.id
            name = f"date.{scope_id}.{field_id}"
            label, hint = DATE_LABELS.get(field_id, (limit.field.name, ""))
            asked = _day_text(settings, limit.requested)
            value = posted.get(name, asked) if posted is not None else asked
            if limit.latest is not None or limit.field.historical:
                hint = (
                    f"As the app asked: {date_words(settings, limit.requested)}. "
                    "You can choose a date closer to today."
                )
            dates.append(
                DateField(
                    name=name,
                    label=label,
                    hint=hint,
                    value=value,
                    earliest=limit.earliest.isoformat(),
                    latest=limit.latest.isoformat() if limit.latest is not None else None,
                    error=problems.get(f"{scope_id}.{field_id}"),
                )
            )
        sections[scope_id] = SectionEdit(
            scope_id=scope_id,
            includes=tuple(
                Box(f, INCLUDES.get(f, f.removeprefix("include_").replace("_", " ")), _on(f, kept))
                for f in requested_includes(entry)
                if f != VALUE_TYPES_FIELD
            ),
            value_types=tuple(
                Box(t, VALUE_TYPES.get(t, t.replace("_", " ")), _on(t, types_kept))
                for t in requested_value_types(entry)
            ),
            dates=tuple(dates),
            include_error=problems.get(f"{scope_id}.include"),
            value_type_error=problems.get(f"{scope_id}.{VALUE_TYPES_FIELD}"),
            error=problems.get(scope_id),
        )
    part_edits = {}
    if len(parts) > 1:
        for part in parts:
            key = part.sections[0].scope_id
            if key in sections:
                part_edits[key] = PartEdit(
                    key,
                    posted is not None and posted.get(f"remove.{key}") == "yes",
                    problems.get(key),
                )
    shown = {f"{s}.{f}" for s in sections for f in ("include", VALUE_TYPES_FIELD)}
    shown |= {d.name.removeprefix("date.") for e in sections.values() for d in e.dates}
    shown |= set(sections)
    stray = [text for key, text in problems.items() if key != FORM and key not in shown]
    error = problems.get(FORM) or (stray[0] if stray else None)
    return Editing(sections, part_edits, error)


def _on(value: str, kept: set[str] | None) -> bool:
    return kept is None or value in kept


def _day_text(settings: Settings, value: str) -> str:
    """A requested value as the day the date field shows ('' for no end)."""
    if value == "infinite":
        return ""
    if "T" in value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.astimezone(settings.tz).date().isoformat()
    return value
