"""The Duration Component's sentences (CDS-WG3-01 §9.2.2.2) for resolved dates around today."""

from __future__ import annotations

from datetime import date

import pytest

from gridshare.config import Settings
from gridshare.grants.consent_words import duration_words

TODAY = date(2026, 11, 22)
PAST = "2023-11-22T08:00:00Z"
NOW = "2026-11-22T08:00:00Z"
LATER = "2027-11-22T08:00:00Z"


@pytest.mark.req("WG3-9.2.2.2-c")
@pytest.mark.parametrize(
    ("scope_type", "start_field", "end_field", "what"),
    [
        ("cds_usage", "segment_start", "segment_end", "usage"),
        ("cds_bill_statements", "statement_date_start", "statement_date_end", "bills"),
        ("cds_service_bills", "start_date", "end_date", "bill charges"),
    ],
)
def test_history_ranges_in_words(
    settings: Settings, scope_type: str, start_field: str, end_field: str, what: str
) -> None:
    def words(start: str, end: str) -> str | None:
        return duration_words(settings, scope_type, {start_field: start, end_field: end}, TODAY)

    assert words(PAST, LATER) == (
        f"Includes your {what} since 22 November 2023, and new {what} until 22 November 2027."
    )
    assert words(PAST, "infinite") == (
        f"Includes your {what} since 22 November 2023, and new {what} with no end date "
        "(until you stop it)."
    )
    assert words(NOW, LATER) == f"Only new {what} from now on, until 22 November 2027."
    assert words(NOW, "infinite") == (
        f"Only new {what} from now on, with no end date (until you stop it)."
    )
    assert words(PAST, NOW) == f"Only your past {what} since 22 November 2023; no new {what}."


@pytest.mark.req("WG3-9.2.2.2-b", "WG3-9.2.2.2-d")
def test_updates_and_consent_lengths_in_words(settings: Settings) -> None:
    def words(scope_type: str, **entry: str) -> str | None:
        return duration_words(settings, scope_type, entry, TODAY)

    assert words("cds_meters", sync_until=LATER) == "Kept up to date until 22 November 2027."
    assert words("cds_meters", sync_until="infinite") == (
        "Kept up to date with no end date (until you stop it)."
    )
    assert words("cds_meters", sync_until=NOW) == (
        "A one-time copy of your current details; no updates after today."
    )
    consent = "cds_aggregation_consent"
    assert words(consent, expires=LATER) == "Your consent lasts until 22 November 2027."
    assert words(consent, expires="infinite") == "Your consent lasts until you withdraw it."
    assert words(consent, expires=NOW) == (
        "Your consent is for this request only; the app must ask you again for later updates."
    )
