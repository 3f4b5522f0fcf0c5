"""Editing a request on the authorization form (CDS-WG3-01 §7.4.5, §9.2.1.3, §9.2.1.4): shown
only when the request allows it, prefilled as requested, checked strictly on Approve, and what the
Customer approved is what the Grant, the token response and the receipt carry."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from httpx import Response
from sqlalchemy import Engine, func, select

from gridshare import urls
from gridshare.config import Settings
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.receipts import Receipt
from tests.oauth.authorization_setup import (
    ACCOUNTS,
    REDIRECT,
    TEST_CUSTOMER,
    VERIFIER,
    World,
    hidden,
    redirect_params,
    set_client,
    ticks,
    world,
)

USAGE = "cds_usage_1"


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    set_up = world(settings, engine)
    set_client(set_up, scope=f"{ACCOUNTS} {USAGE}")
    return set_up


def _details(allow: bool = True, usage: bool = True) -> str:
    entries: list[dict[str, Any]] = [
        {"type": "cds_accounts_1", "allow_scope_modifications": allow, "sync_until": "P2Y"}
    ]
    if usage:
        entries.append(
            {
                "type": "cds_usage_1",
                "allow_scope_modifications": allow,
                "authorization_form_selection_type": "account_selection",
            }
        )
    return json.dumps(entries)


def _open(w: World, details: str) -> tuple[str, str]:
    consent = w.consent_path(w.authorize(w.query(scope=None, authorization_details=details)))
    w.log_in(*TEST_CUSTOMER, consent)
    page = w.http.get(consent)
    assert page.status_code == 200, page.text
    return consent, page.text


def _post(w: World, consent: str, html: str, fields: list[tuple[str, str]]) -> Response:
    """Approve with every resource ticked, the form's hidden `edit` markers and `fields`."""
    body = [("decision", "approve"), ("csrf_token", hidden(html, "csrf_token"))]
    body += ticks(html)
    body += [("edit", v) for v in re.findall(r'name="edit" value="([^"]*)"', html)]
    return w.http.post(
        consent,
        content=urlencode(body + fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def _kept(html: str, scope_id: str) -> list[tuple[str, str]]:
    """The include and value type boxes of a scope as the form ticks them."""
    return re.findall(rf'name="((?:include|value_type)\.{scope_id})" value="([^"]*)" checked', html)


def _grants(w: World) -> int:
    with w.session() as session:
        return int(session.scalar(select(func.count()).select_from(Grant)) or 0)


def _today(settings: Settings) -> date:
    from gridshare.store.db import utcnow

    return utcnow().astimezone(settings.tz).date()


@pytest.mark.req("WG3-7.4.5-b", "WG3-9.2.1.4-c")
def test_the_form_is_editable_only_when_the_request_allows_it(w: World) -> None:
    _, html = _open(w, _details(allow=False))
    assert 'name="edit"' not in html and 'name="include.' not in html
    assert 'type="date"' not in html and 'name="remove.' not in html
    assert "your account numbers" in html  # shown as words, not controls

    _, html = _open(w, _details(allow=True))
    assert re.findall(r'name="edit" value="([^"]*)"', html) == [ACCOUNTS, USAGE]
    # prefilled with what was asked: every requested include ticked, the requested end date set
    assert ("include.cds_accounts_1", "include_account_numbers") in _kept(html, ACCOUNTS)
    assert ("include.cds_accounts_1", "include_account_details") in _kept(html, ACCOUNTS)
    assert 'value="include_account_programs"' not in html  # not asked: cannot be added
    assert ("value_type.cds_usage_1", "electric_usage_net_kwh") in _kept(html, USAGE)
    sync = re.search(r'name="date\.cds_accounts_1\.sync_until" value="(\d{4}-\d{2}-\d{2})"', html)
    assert sync is not None and sync.group(1)[:4] == str(date.today().year + 2)
    assert re.search(r'name="date\.cds_usage_1\.segment_end" value=""', html)  # no end
    assert 'name="remove.cds_accounts_1" value="yes"' in html
    assert 'name="remove.cds_usage_1" value="yes"' in html
    assert "Undo my changes" in html
    assert "<script" not in html.split('id="auth-form"')[1].split("</form>")[0]


@pytest.mark.req("WG3-7.4.5-b", "WG3-9.2.1.3-a", "WG3-9.2.1.4-c")
def test_approving_as_requested_changes_nothing(w: World) -> None:
    consent, html = _open(w, _details())
    response = _post(w, consent, html, _kept(html, ACCOUNTS) + _kept(html, USAGE))
    assert "code" in redirect_params(response)
    with w.session() as session:
        grant = session.scalars(select(Grant)).one()
        assert grant.scope == f"{ACCOUNTS} {USAGE}"
        accounts, usage = grant.authorization_details
        assert accounts["include_account_details"] is True
        assert len(usage["include_usage_segment_value_types"]) == 5
        assert "allow_scope_modifications" not in accounts  # form-only, as before
        receipt = session.scalars(select(Receipt)).one()
        assert receipt.snapshot["changed_by_customer"] is False


@pytest.mark.req("WG3-7.4.5-b", "WG3-9.2.1.3-a")
def test_the_grant_and_the_token_response_carry_the_customers_changes(
    w: World, settings: Settings
) -> None:
    consent, html = _open(w, _details())
    until = _today(settings) + timedelta(days=30)
    fields = [
        ("include.cds_accounts_1", "include_account_numbers"),  # account details left out
        ("date.cds_accounts_1.sync_until", until.isoformat()),
        ("remove.cds_usage_1", "yes"),
    ]
    response = _post(w, consent, html, fields)
    params = redirect_params(response)
    with w.session() as session:
        grant = session.scalars(select(Grant)).one()
        assert grant.scope == ACCOUNTS
        (entry,) = grant.authorization_details
        assert entry["include_account_numbers"] is True
        assert entry["include_account_details"] is False
        assert entry["sync_until"].endswith("Z")
        local = date.fromisoformat(entry["sync_until"][:10])
        assert abs((local - until).days) <= 1  # that local day, stored in UTC
        assert [s["scopes"] for s in grant.selections] == [[ACCOUNTS]]
        receipt = session.scalars(select(Receipt)).one()
        assert receipt.snapshot["changed_by_customer"] is True
        assert receipt.snapshot["authorization_details"] == grant.authorization_details
        assert [s["id"] for s in receipt.snapshot["scopes"]] == [ACCOUNTS]
    token = w.http.post(
        urls.TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
        },
        headers=w.basic,
    )
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["scope"] == ACCOUNTS
    assert body["authorization_details"][0]["include_account_details"] is False
    assert body["authorization_details"][0]["sync_until"] == entry["sync_until"]


@pytest.mark.req("WG3-7.4.5-b")
def test_value_types_and_history_can_be_narrowed(w: World, settings: Settings) -> None:
    consent, html = _open(w, _details())
    start = _today(settings) - timedelta(days=60)
    fields = [
        *_kept(html, ACCOUNTS),
        ("include.cds_usage_1", "include_meter_devices"),
        ("value_type.cds_usage_1", "electric_usage_net_kwh"),
        ("date.cds_usage_1.segment_start", start.isoformat()),
    ]
    assert "code" in redirect_params(_post(w, consent, html, fields))
    with w.session() as session:
        usage = session.scalars(select(Grant)).one().authorization_details[1]
    assert usage["include_usage_segment_value_types"] == ["electric_usage_net_kwh"]
    assert usage["include_meter_devices"] is True and usage["include_meter_numbers"] is False
    assert abs((date.fromisoformat(usage["segment_start"][:10]) - start).days) <= 1


BAD = [
    pytest.param(
        [("include.cds_accounts_1", "include_account_programs")],
        "cds_accounts_1-include-error",
        "not add data it did not ask for",
        id="adding-an-include",
    ),
    pytest.param(
        [("date.cds_accounts_1.sync_until", "2999-01-01")],
        "date.cds_accounts_1.sync_until-error",
        "Choose a date from",
        id="extending-a-duration",
    ),
    pytest.param(
        [("date.cds_accounts_1.sync_until", "next tuesday")],
        "date.cds_accounts_1.sync_until-error",
        "Enter a date such as",
        id="not-a-date",
    ),
    pytest.param(
        [("date.cds_usage_1.segment_start", "2000-01-01")],
        "date.cds_usage_1.segment_start-error",
        "Choose a date from",
        id="more-history",
    ),
    pytest.param(
        [("date.cds_usage_1.segment_end", "2000-01-01")],
        "date.cds_usage_1.segment_end-error",
        "Choose a date on or after",
        id="end-in-the-past",
    ),
    pytest.param(
        [("value_type.cds_usage_1", "no_such_type")],
        "cds_usage_1-value-type-error",
        "not add others",
        id="unknown-value-type",
    ),
    pytest.param(
        [("remove.cds_accounts_1", "yes"), ("remove.cds_usage_1", "yes")],
        "form-error",
        "Keep at least one request",
        id="removing-everything",
    ),
    pytest.param(
        [("date.cds_nonexistent_1.sync_until", "2027-01-01")],
        "form-error",
        "not on the form",
        id="unknown-scope",
    ),
]


@pytest.mark.req("WG3-7.4.5-b", "WG3-9.2.1.6-d")
@pytest.mark.parametrize(("fields", "where", "message"), BAD)
def test_bad_changes_are_refused_beside_their_control_and_write_nothing(
    w: World, fields: list[tuple[str, str]], where: str, message: str
) -> None:
    consent, html = _open(w, _details())
    keep = _kept(html, ACCOUNTS) + _kept(html, USAGE)
    names = {name for name, _ in fields}
    response = _post(w, consent, html, [f for f in keep if f[0] not in names] + fields)
    assert response.status_code == 422, response.text
    assert _grants(w) == 0
    page = response.text
    assert message in page
    error = re.search(rf'class="error" role="alert" id="([^"]*)">[^<]*{re.escape(message)}', page)
    assert error is not None and error.group(1) == where
    assert w.http.get(consent).status_code == 200  # still open: the Customer can correct it
    fixed = _post(w, consent, html, keep)
    assert "code" in redirect_params(fixed)


@pytest.mark.req("WG3-7.4.5-b")
def test_a_request_that_does_not_allow_changes_refuses_them(w: World) -> None:
    consent, html = _open(w, _details(allow=False))
    fields = [("edit", ACCOUNTS), ("include.cds_accounts_1", "include_account_numbers")]
    response = _post(w, consent, html, fields)
    assert response.status_code == 422
    assert "does not allow changes" in response.text
    assert _grants(w) == 0


@pytest.mark.req("WG3-9.2.1.3-a")
def test_the_only_request_cannot_be_removed(w: World) -> None:
    consent, html = _open(w, _details(usage=False))
    assert 'name="remove.' not in html
    response = _post(w, consent, html, [("remove.cds_accounts_1", "yes")])
    assert response.status_code == 422
    assert "Keep at least one request" in response.text
    assert _grants(w) == 0


def test_a_removed_section_needs_no_selection(w: World) -> None:
    consent, html = _open(w, _details())
    body = [("decision", "approve"), ("csrf_token", hidden(html, "csrf_token"))]
    body += [t for t in ticks(html) if t[0] == f"select.{ACCOUNTS}"]
    body += [("edit", ACCOUNTS), ("edit", USAGE), ("remove.cds_usage_1", "yes")]
    body += _kept(html, ACCOUNTS)
    response = w.http.post(
        consent,
        content=urlencode(body),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert "code" in redirect_params(response)
    with w.session() as session:
        assert session.scalars(select(Grant)).one().scope == ACCOUNTS
