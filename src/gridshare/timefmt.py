"""How datetimes leave the server: RFC 3339 in UTC to the second ("2024-01-01T00:00:00Z").

CDS-WG1-01 §2 and CDS-WG1-02 §2 datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime) -> str:
    """`moment` in UTC to the second, as in "2024-01-01T00:00:00Z"."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
