"""Coverage entries for the CDS tests, saved through `utility.coverage.save_entry`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare.utility.coverage import save_entry

TERRITORY: dict[str, Any] = {
    "type": "Polygon",
    "coordinates": [
        [[-122.5, 37.7], [-122.3, 37.7], [-122.3, 37.9], [-122.5, 37.9], [-122.5, 37.7]]
    ],
}


def entry_fields(entry_id: str, **overrides: Any) -> dict[str, Any]:
    """The keyword arguments of `save_entry` for a geographic electric territory."""
    fields: dict[str, Any] = {
        "entry_id": entry_id,
        "entity_name": "Demo Gas & Electric",
        "entity_abbreviation": "DG&E",
        "country": "US",
        "name": f"Territory {entry_id}",
        "description": "Electric service in the western half of the region",
        "type": "geographic",
        "role": "authoritative",
        "infrastructure_types": ["distribution_utility", "metering_provider"],
        "commodity_types": ["electricity"],
        "capabilities": ["oauth"],
        "geojson": TERRITORY,
    }
    return fields | overrides


def save(
    engine: Engine, entry_id: str, *, updated: datetime | None = None, **overrides: Any
) -> None:
    """Save an entry (committed); `updated` backdates it as an import of old records would,
    with `created` at the same time."""
    with Session(engine) as session, session.begin():
        entry = save_entry(session, **entry_fields(entry_id, **overrides))
        if updated is not None:
            entry.created = entry.updated = updated
