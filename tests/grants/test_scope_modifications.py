"""The changes a Customer may make to a request (CDS-WG3-01 §7.4.5): narrowing only, within the
fields' limits, never on a scope whose request does not allow it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gridshare.config import Settings
from gridshare.grants.authorization_details import Requested, resolve_request
from gridshare.grants.scope_modifications import (
    FORM,
    Change,
    ModificationRejected,
    apply,
)
from gridshare.grants.scopes import load_catalogue

NOW = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)


def _requested(settings: Settings, *entries: dict[str, object]) -> Requested:
    catalogue = load_catalogue(settings)
    return resolve_request(
        catalogue,
        scope=None,
        details=list(entries),
        allowed_scopes=set(catalogue.scopes),
        settings=settings,
        now=NOW,
    )


def _apply(settings: Settings, requested: Requested, **changes: Change) -> Requested:
    return apply(load_catalogue(settings), settings, requested, changes, NOW)


ACCOUNTS = {"type": "cds_accounts_1", "allow_scope_modifications": True, "sync_until": "P1Y"}


@pytest.mark.req("WG3-7.4.5-b")
def test_includes_and_durations_narrow(settings: Settings) -> None:
    requested = _requested(settings, ACCOUNTS)
    day = date(2026, 6, 1)
    result = _apply(
        settings,
        requested,
        cds_accounts_1=Change(
            includes=frozenset({"include_account_numbers"}), days={"sync_until": day}
        ),
    )
    (entry,) = result.authorization_details
    assert entry["include_account_details"] is False
    assert entry["include_account_numbers"] is True
    local = datetime.fromisoformat(entry["sync_until"].replace("Z", "+00:00"))
    assert local.astimezone(settings.tz).date() == day
    # the requested day itself keeps the requested value
    same = _apply(
        settings, requested, cds_accounts_1=Change(days={"sync_until": date(2027, 3, 10)})
    )
    assert same.authorization_details == requested.authorization_details


@pytest.mark.req("WG3-7.4.5-b")
@pytest.mark.parametrize(
    ("change", "key"),
    [
        (Change(includes=frozenset({"include_account_programs"})), "cds_accounts_1.include"),
        (Change(days={"sync_until": date(2028, 1, 1)}), "cds_accounts_1.sync_until"),
        (Change(days={"sync_until": date(2026, 3, 9)}), "cds_accounts_1.sync_until"),
        (Change(days={"account_numbers": date(2026, 3, 9)}), "cds_accounts_1.account_numbers"),
        (Change(removed=True), FORM),
    ],
)
def test_widening_or_leaving_nothing_is_refused(
    settings: Settings, change: Change, key: str
) -> None:
    requested = _requested(settings, ACCOUNTS)
    with pytest.raises(ModificationRejected) as refused:
        _apply(settings, requested, cds_accounts_1=change)
    assert key in refused.value.problems


@pytest.mark.req("WG3-7.4.5-b")
def test_no_change_when_the_request_does_not_allow_it(settings: Settings) -> None:
    requested = _requested(settings, {**ACCOUNTS, "allow_scope_modifications": False})
    with pytest.raises(ModificationRejected) as refused:
        _apply(settings, requested, cds_accounts_1=Change(includes=frozenset()))
    assert "does not allow changes" in refused.value.problems["cds_accounts_1"]
    # an empty change is no change
    assert _apply(settings, requested, cds_accounts_1=Change()) == requested


@pytest.mark.req("WG3-7.4.5-b", "WG3-9.2.1.3-a")
def test_removal_takes_merged_scopes_together(settings: Settings) -> None:
    merged = {
        "type": "cds_service_contracts_1",
        "allow_scope_modifications": True,
        "merge_selection_with": "cds_usage_1",
    }
    usage = {
        "type": "cds_usage_1",
        "allow_scope_modifications": True,
        "merge_selection_with": "cds_service_contracts_1",
    }
    requested = _requested(settings, ACCOUNTS, merged, usage)
    with pytest.raises(ModificationRejected) as refused:
        _apply(settings, requested, cds_usage_1=Change(removed=True))
    assert "cds_usage_1" in refused.value.problems
    result = _apply(
        settings,
        requested,
        cds_usage_1=Change(removed=True),
        cds_service_contracts_1=Change(removed=True),
    )
    assert result.scope == "cds_accounts_1"
    assert [e["type"] for e in result.authorization_details] == ["cds_accounts_1"]


@pytest.mark.req("WG3-7.4.5-a", "WG3-7.4.5-c")
def test_every_consent_scope_offers_the_field_and_no_other_scope_does(settings: Settings) -> None:
    for scope in load_catalogue(settings).scopes.values():
        described = scope.field("allow_scope_modifications")
        if scope.response_types_supported:
            assert described is not None, scope.id
            assert described.format == "boolean"
        else:
            assert described is None, scope.id
