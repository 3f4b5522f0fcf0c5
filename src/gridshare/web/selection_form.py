"""The authorization form's Selection Components in the Customer's words (CDS-WG3-01 §9.2.2.3,
§9.2.3): which Request Sections share a Selection (§7.4.2), and each list's entries with what
§9.2.3.1-§9.2.3.5 say they show, ticked from the preselection (§7.1) or from the Customer's last
submission, with the form error when nothing was chosen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from gridshare.grants.consent_words import RequestSection
from gridshare.grants.selections import (
    ACCOUNTS,
    CONTRACTS,
    NOUNS,
    Chosen,
    Resource,
    SelectionGroup,
)

SEARCHABLE_FROM: Final = 11
"""Lists longer than 10 entries get search, a count and "show only selected" (§9.2.3.1-5)."""

SERVICE_WORDS: Final = {
    "electric": "electricity",
    "natural_gas": "gas",
    "water": "water",
}


@dataclass(frozen=True)
class RequestPart:
    """Request Sections rendered together: one, or several merged into one Selection."""

    sections: tuple[RequestSection, ...]
    selection_key: str | None


@dataclass(frozen=True)
class Entry:
    id: str
    number: str
    details: tuple[str, ...]
    search_text: str
    checked: bool


@dataclass(frozen=True)
class SelectionChoice:
    key: str
    singular: str
    plural: str
    fixed: bool
    entries: tuple[Entry, ...]
    future_option: bool
    future_checked: bool
    error: str | None

    @property
    def searchable(self) -> bool:
        return len(self.entries) >= SEARCHABLE_FROM

    @property
    def selected(self) -> int:
        return sum(entry.checked for entry in self.entries)


def parts(
    sections: Sequence[RequestSection], groups: Sequence[SelectionGroup]
) -> list[RequestPart]:
    """The Request Sections in request order, merged scopes together (§7.4.2)."""
    by_scope = {scope_id: group for group in groups for scope_id in group.scope_ids}
    result: list[RequestPart] = []
    placed: dict[str, int] = {}
    for section in sections:
        group = by_scope.get(section.scope_id)
        if group is not None and group.key in placed:
            index = placed[group.key]
            merged = result[index]
            result[index] = RequestPart((*merged.sections, section), merged.selection_key)
            continue
        if group is not None:
            placed[group.key] = len(result)
        result.append(RequestPart((section,), group.key if group is not None else None))
    return result


def selection_choices(
    groups: Sequence[SelectionGroup],
    chosen: Sequence[Chosen] | None,
    kept: Sequence[Chosen] | None = None,
) -> dict[str, SelectionChoice]:
    """Each Selection's entries, ticked from `chosen` (a submission) or the preselection; an
    empty choice is an error only in `kept` (when given: the Request Sections not removed)."""
    choices = {}
    for index, group in enumerate(groups):
        singular, plural = NOUNS[group.selection_type]
        picked = chosen[index] if chosen is not None else None
        ticked = set(picked.ids) if picked is not None else set(group.preselection.ids)
        future = picked.include_future if picked is not None else group.preselection.include_future
        error = None
        if picked is not None and picked.empty and (kept is None or picked in kept):
            error = (
                f"Choose at least one {singular} to share, or choose Decline."
                if group.resources
                else f"You have no {plural} to share with this app. Choose Decline."
            )
        choices[group.key] = SelectionChoice(
            key=group.key,
            singular=singular,
            plural=plural,
            fixed=group.fixed,
            entries=tuple(_entry(group.selection_type, r, r.id in ticked) for r in group.resources),
            future_option=group.future_option,
            future_checked=future and group.future_option,
            error=error,
        )
    return choices


def _entry(selection_type: str, resource: Resource, checked: bool) -> Entry:
    details: list[str] = []
    if resource.name:
        details.append(resource.name)
    if selection_type == CONTRACTS:
        services = ", ".join(SERVICE_WORDS.get(t, t.replace("_", " ")) for t in resource.types)
        details.append(f"{services} service on account {resource.account_number}")
    elif selection_type != ACCOUNTS and resource.types:
        details.append(", ".join(t.replace("_", " ") for t in resource.types))
    if resource.address:
        details.append(resource.address)
    if resource.related:
        details.append("Includes your " + "; ".join(resource.related))
    search = " ".join([resource.number, *details, resource.account_number or ""]).lower()
    return Entry(resource.id, resource.number, tuple(details), search, checked)
