"""The authorization form: it names the Client and the scopes in plain words, needs the session's
CSRF token, and answers a request once (CDS-WG3-01 §9.1.1, §9.1.2)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import Engine, func, select

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants.scopes import load_catalogue
from gridshare.store.tables.grants import AuthorizationCode, Grant
from tests.oauth.authorization_setup import (
    ACCOUNTS,
    TEST_CUSTOMER,
    World,
    hidden,
    redirect_params,
    set_client,
    ticks,
    world,
)


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    return world(settings, engine)


def _grants(w: World) -> int:
    with w.session() as session:
        return int(session.scalar(select(func.count()).select_from(Grant)) or 0)


def _logged_in_form(w: World) -> tuple[str, str]:
    consent = w.consent_path(w.authorize(w.query()))
    w.log_in(*TEST_CUSTOMER, consent)
    page = w.http.get(consent)
    assert page.status_code == 200
    return consent, page.text


@pytest.mark.req("WG3-9.2.1.2-a", "WG3-9.2.1.2-b", "WG3-9.2.2.1-a", "WG3-9.2.1.6-a", "WG3-9.2-c")
def test_the_form_names_the_client_and_the_scopes_in_plain_words(
    w: World, settings: Settings
) -> None:
    _, html = _logged_in_form(w)
    described = load_catalogue(settings).scopes[ACCOUNTS]
    assert "Sunny App" in html
    assert "asks for access to your data" in html
    link = re.search(r'<a href="https://sunny.example/"[^>]*>', html)
    assert link is not None
    assert 'rel="noopener nofollow"' in link.group(0)
    assert 'target="_blank"' in link.group(0)
    assert "Your account list" in html
    assert "your account numbers" in html
    assert described.description not in html  # the developer description is not for customers
    assert "authorization_details" not in html and "include_" not in html
    approve = re.search(r'<button[^>]*value="approve"[^>]*>Approve</button>', html)
    assert approve is not None and 'class="primary"' in approve.group(0)
    assert re.search(r'<button[^>]*value="decline"[^>]*>Decline</button>', html)
    assert "Log out" in html


@pytest.mark.req("WG3-9.2.1-a", "WG3-9.2-a")
def test_the_sections_come_in_the_order_of_the_layout(w: World, settings: Settings) -> None:
    _, html = _logged_in_form(w)
    marks = ['class="form-header"', 'class="requester"', 'class="requests"', 'class="closing"']
    marks += ['class="approval"', 'class="form-footer"']
    positions = [html.index(mark) for mark in marks]
    assert positions == sorted(positions)
    assert not re.search(r"<script[^>]*\ssrc=", html), "scripts are inline: no external assets"
    ours = re.escape(settings.base_url.split("//", 1)[1].rstrip("/"))
    assert not re.search(rf'(src|href)="(https?:)?//(?!sunny\.example/"|{ours}/)', html)


@pytest.mark.req("WG3-9.2.1.4-b", "WG3-9.2.2.2-a")
def test_each_scope_has_a_section_with_its_durations_in_words(w: World) -> None:
    set_client(w, scope=f"{ACCOUNTS} cds_usage_1")
    consent = w.consent_path(w.authorize(w.query(scope=f"{ACCOUNTS} cds_usage_1")))
    w.log_in(*TEST_CUSTOMER, consent)
    html = w.http.get(consent).text
    assert html.count('class="request"') == 2
    assert html.index("Your account list") < html.index("Your electricity usage")
    assert "Kept up to date with no end date" in html
    since = re.search(r"Includes your usage since (\d{1,2} [A-Z][a-z]+ \d{4}), and new usage", html)
    assert since is not None
    assert "with no end date" in html[since.end() :]
    assert "P13M" not in html and "segment_start" not in html and "infinite" not in html
    assert "electricity used (kWh)" in html


def test_a_logo_is_shown_only_from_our_own_origin(w: World, settings: Settings) -> None:
    set_client(w, logo_uri="https://cdn.example/logo.png")
    _, html = _logged_in_form(w)
    assert "cdn.example" not in html and "<img" not in html
    set_client(w, logo_uri=settings.base_url.rstrip("/") + "/static/sunny.png")
    _, html = _logged_in_form(w)
    assert '<img src="' + settings.base_url.rstrip("/") + '/static/sunny.png"' in html


def test_a_client_uri_that_is_not_a_web_address_is_not_linked(w: World) -> None:
    set_client(w, client_uri="javascript:alert(1)")
    _, html = _logged_in_form(w)
    assert "javascript:" not in html


@pytest.mark.req("WG3-9.1.1-f")
def test_approve_without_the_sessions_csrf_token_changes_nothing(w: World) -> None:
    consent, _ = _logged_in_form(w)
    response = w.http.post(
        consent, data={"decision": "approve", "csrf_token": "forged"}, follow_redirects=False
    )
    assert response.status_code == 400
    assert _grants(w) == 0
    assert w.http.get(consent).status_code == 200  # still open


@pytest.mark.req("WG3-9.2.1.6-d", "WG3-9.2.1.6-e")
def test_a_double_submitted_approval_makes_one_grant_and_one_code(w: World) -> None:
    consent, html = _logged_in_form(w)
    form = {"decision": "approve", "csrf_token": hidden(html, "csrf_token"), **dict(ticks(html))}
    first = w.http.post(consent, data=form, follow_redirects=False)
    assert "code" in redirect_params(first)
    second = w.http.post(consent, data=form, follow_redirects=False)
    assert second.status_code == 409
    assert "already answered" in second.text
    again = w.http.post(consent, data={**form, "decision": "decline"}, follow_redirects=False)
    assert again.status_code == 409
    assert _grants(w) == 1
    with w.session() as session:
        assert session.scalar(select(func.count()).select_from(AuthorizationCode)) == 1


@pytest.mark.req("WG3-9.1.2-b", "WG3-9.1.2-c")
def test_cancel_on_the_login_page_answers_access_denied(w: World) -> None:
    consent = w.consent_path(w.authorize(w.query()))
    login_page = w.http.get(consent)  # follows to the login page
    assert "Cancel" in login_page.text
    response = w.http.post(
        consent,
        data={"decision": "cancel", "csrf_token": hidden(login_page.text, "csrf_token")},
        follow_redirects=False,
    )
    params = redirect_params(response)
    assert params["error"] == "access_denied"
    assert params["state"] == "st-123"
    assert w.http.get(consent).status_code == 409


def test_cancel_needs_the_double_submit_token(w: World) -> None:
    consent = w.consent_path(w.authorize(w.query()))
    w.http.get(consent)
    response = w.http.post(
        consent, data={"decision": "cancel", "csrf_token": "x" * 43}, follow_redirects=False
    )
    assert response.status_code == 400
    assert w.http.get(consent, follow_redirects=False).status_code == 303  # still pending


def test_an_unknown_request_or_decision_is_a_page_not_a_redirect(w: World) -> None:
    assert w.http.get(urls.CONSENT, params={"request": "nope"}).status_code == 404
    consent, html = _logged_in_form(w)
    odd = w.http.post(
        consent,
        data={"decision": "maybe", "csrf_token": hidden(html, "csrf_token")},
        follow_redirects=False,
    )
    assert odd.status_code == 400
    assert _grants(w) == 0


def test_a_session_that_ended_before_approval_asks_to_log_in_again(w: World) -> None:
    consent, html = _logged_in_form(w)
    token = hidden(html, "csrf_token")
    w.http.post(urls.LOGOUT, data={"csrf_token": token}, follow_redirects=False)
    response = w.http.post(
        consent, data={"decision": "approve", "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(urls.LOGIN)
    assert _grants(w) == 0


@pytest.mark.req("WG3-9.1.1-e")
def test_approval_after_the_client_was_disabled_redirects_with_the_error(w: World) -> None:
    consent, html = _logged_in_form(w)
    set_client(w, status="disabled")
    response = w.http.post(
        consent,
        data={"decision": "approve", "csrf_token": hidden(html, "csrf_token")},
        follow_redirects=False,
    )
    assert redirect_params(response)["error"] == "unauthorized_client"
    assert _grants(w) == 0


PURPOSE_ID = "p0123456789abcdef"
PURPOSE = {
    "name": "Audit",
    "content": "To score your home.\n  <b>Nothing</b> else.",
    "related_uri": "https://sunny.example/terms",
    "related_name": "Our data terms",
}


def _form_with_purpose(w: World, purpose: str | None) -> str:
    set_client(w, purposes={PURPOSE_ID: PURPOSE})
    details = json.dumps([{"type": ACCOUNTS, "purpose": purpose}])
    consent = w.consent_path(w.authorize(w.query(authorization_details=details)))
    w.log_in(*TEST_CUSTOMER, consent)
    page = w.http.get(consent)
    assert page.status_code == 200
    return page.text


@pytest.mark.req(
    "WG3-9.2.2.4-a",
    "WG3-9.2.2.4-b",
    "WG3-9.2.2.4-c",
    "WG3-9.2.2.4-d",
    "WG3-7.4.4-c",
    "WG3-9.2.1.4-d",
)
def test_the_purpose_component_shows_the_clients_words_as_text(w: World) -> None:
    html = _form_with_purpose(w, PURPOSE_ID)
    block = re.search(r'<div class="purpose" data-purpose="[^"]+">(.*?)</div>\n</div>', html, re.S)
    assert block is not None
    part = block.group(1)
    assert "For this purpose (written by Sunny App" in part
    content = re.search(r'<div class="purpose-content" style="([^"]*)">(.*)', part, re.S)
    assert content is not None
    style = content.group(1)
    for rule in ("white-space: pre-wrap", "word-break: break-word", "overflow: scroll"):
        assert rule in style
    assert "max-height: 15em" in style and "line-height: 1.5em" in style  # 10 lines
    assert "min-height" not in style
    assert content.group(2).startswith(
        'To score your home.\n  &lt;b&gt;Nothing&lt;/b&gt; else. <a href="https://sunny.example/terms"'
    )
    link = re.search(r'<a href="https://sunny.example/terms"[^>]*>Our data terms</a>', part)
    assert link is not None
    assert 'target="_blank"' in link.group(0) and 'rel="noopener"' in link.group(0)
    # the Purpose Component comes last in its Request Section, after the Selection Component
    assert html.index("purpose-content") > html.index("data-selection")


@pytest.mark.req("WG3-7.4.4-c", "WG3-9.2.1.4-d")
def test_no_purpose_component_without_a_purpose(w: World) -> None:
    assert "For this purpose" not in _form_with_purpose(w, None)
    _, html = _logged_in_form(w)
    assert "For this purpose" not in html


@pytest.mark.req("WG3-7.4.4-b")
def test_a_purpose_the_client_does_not_have_is_refused(w: World) -> None:
    set_client(w, purposes={PURPOSE_ID: PURPOSE})
    details = f'[{{"type": "{ACCOUNTS}", "purpose": "someone-elses"}}]'
    answer = redirect_params(w.authorize(w.query(authorization_details=details)))
    assert answer["error"] == "invalid_authorization_details"
