"""Words the Customer-facing pages share: a Grant's status and times in plain terms."""

from __future__ import annotations

from datetime import datetime

from gridshare.config import Settings

STATUS_WORDS = {
    "active": "Active: the app can use the access you approved.",
    "future": "Approved: the app's access starts later.",
    "pending": "Being set up: the app gets access as the data becomes available.",
    "partial": "Partly active: the app can use part of the access you approved.",
    "needs_authorization": "Waiting for your approval.",
    "needs_sub_grants": "Waiting for further approvals.",
    "disabled": "Stopped by us: the app can no longer use this access.",
    "suspended": "Paused: the app cannot use this access for now.",
    "revoked": "Revoked: you withdrew this access; the app can no longer use it.",
    "closed": "Closed: the app gave up this access.",
    "expired": "Expired: the access you approved has ended.",
}


def status_in_words(status: str) -> str:
    return STATUS_WORDS.get(status, f"Status: {status.replace('_', ' ')}.")


def local_time(settings: Settings, moment: datetime | None) -> str | None:
    """`moment` in the utility's time zone, to the minute (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M %Z")
