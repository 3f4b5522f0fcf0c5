"""Authorization Receipts, the receipt email and the connected-apps page (CDS-WG3-01 §9.4), driven
over HTTP through the real authorize -> login -> Approve flow."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants.clients import new_credential
from gridshare.grants.consent_words import date_words
from gridshare.grants.receipts import CHANGED_WORDS, RECEIPTS_PATH
from gridshare.jobs.worker import Worker
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.outbox import OutboxItem
from gridshare.store.tables.receipts import Receipt
from tests.oauth.authorization_setup import (
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

EMAIL = "home@example.org"


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    made = world(settings, engine)
    with made.session() as session:
        session.get_one(Customer, "cust-home").email = EMAIL
        session.commit()
    return made


@dataclass
class Approved:
    grant_id: str
    access_token: str
    receipt_path: str
    confirmation: str


def _approve(w: World) -> Approved:
    answer = redirect_params(w.approve_as(*TEST_CUSTOMER, w.query()))
    tokens = w.http.post(
        urls.TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
        },
        headers=w.basic,
    )
    assert tokens.status_code == 200, tokens.text
    with w.session() as session:
        grant = session.scalars(select(Grant).order_by(Grant.created.desc())).first()
        assert grant is not None
        (confirmation,) = grant.receipt_confirmations
        mail = session.scalars(select(OutboxItem).where(OutboxItem.kind == "email")).one()
        link = re.search(r"http://testserver(/receipts/\S+)", mail.payload["text"])
        assert link is not None
        return Approved(grant.grant_id, tokens.json()["access_token"], link.group(1), confirmation)


def _client_admin_token(w: World) -> str:
    """The Client's view of its Grants: the registration's cds_client_admin token."""
    with w.session() as session:
        _, secret = new_credential(session, w.settings, session.get_one(Client, w.admin_id))
        session.commit()
    answer = w.http.post(
        urls.TOKEN,
        data={"grant_type": "client_credentials", "scope": "cds_client_admin"},
        auth=(w.admin_id, secret),
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _grant_from_api(w: World, grant_id: str) -> dict[str, object]:
    token = _client_admin_token(w)
    answer = w.http.get(f"{urls.GRANTS}/{grant_id}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def _introspect(w: World, token: str) -> bool:
    answer = w.http.post(urls.INTROSPECT, data={"token": token}, headers=w.basic)
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["active"])


def _bearer_status(w: World, token: str) -> int:
    """A bearer API: a live accounts token is known but lacks the files scope (403); a dead one is
    not known at all (401)."""
    status: int = w.http.get(urls.FILES, headers={"Authorization": f"Bearer {token}"}).status_code
    return status


@pytest.mark.req("WG3-9.4-a", "WG3-9.4-b", "WG3-9.4-c", "WG3-9.4-f")
def test_approve_makes_a_receipt_anyone_with_the_link_can_read(w: World) -> None:
    approved = _approve(w)
    w.http.cookies.clear()  # not logged in
    page = w.http.get(approved.receipt_path)
    assert page.status_code == 200
    html = page.text
    assert page.headers["x-robots-tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in html
    assert approved.confirmation in html
    assert re.fullmatch(r"\d{9}", approved.confirmation)
    key = approved.receipt_path.removeprefix(f"{RECEIPTS_PATH}/")
    assert len(key) >= 43 and approved.confirmation not in key and approved.grant_id not in key
    assert "Sunny App" in html
    link = re.search(r'<a href="https://sunny.example/"[^>]*>', html)
    assert link is not None and 'rel="noopener nofollow"' in link.group(0)
    assert 'target="_blank"' in link.group(0)
    assert "Active: the app can use the access you approved." in html
    assert "Approved on" in html and "Access ends" in html
    assert "Contact customer support" in html
    assert "Revoke access" in html
    assert "Print this receipt" in html
    grant = _grant_from_api(w, approved.grant_id)
    assert grant["receipt_confirmations"] == [approved.confirmation]


@pytest.mark.req("WG3-9.4-g")
def test_the_selected_accounts_are_shown_only_to_their_customer(w: World) -> None:
    approved = _approve(w)
    own = w.http.get(approved.receipt_path).text
    assert "Your accounts included" in own
    assert "HOME-1 — Home at home — 1 Main St, Davis, CA 95616" in own
    w.http.cookies.clear()  # not logged in
    anonymous = w.http.get(approved.receipt_path).text
    assert "HOME-1" not in anonymous and "1 Main St" not in anonymous
    assert "1 account (all of yours at the time)." in anonymous
    login = re.search(r'<a href="([^"]+)">Log in to see which</a>', anonymous)
    assert login is not None
    assert login.group(1).startswith(urls.LOGIN + "?next=%2Freceipts%2F")


def test_an_unknown_receipt_is_not_found(w: World) -> None:
    assert w.http.get(f"{RECEIPTS_PATH}/{'x' * 43}").status_code == 404


def test_the_outcome_page_links_the_receipt(w: World) -> None:
    response = w.approve_as(*TEST_CUSTOMER, w.query(redirect_uri=None))
    target = urlsplit(response.headers["location"])
    assert target.path.startswith(urls.DEFAULT_REDIRECT)
    outcome = w.http.get(f"{target.path}?{target.query}")
    assert outcome.status_code == 200
    with w.session() as session:
        receipt = session.scalars(select(Receipt)).one()
    assert receipt.confirmation in outcome.text
    link = re.search(r'href="http://testserver(/receipts/[^"]+)"', outcome.text)
    assert link is not None
    assert w.http.get(link.group(1)).status_code == 200


@pytest.mark.req("WG3-9.4-h")
def test_revoking_from_the_receipt_needs_no_login_and_stops_the_tokens(w: World) -> None:
    approved = _approve(w)
    assert _introspect(w, approved.access_token)
    assert _bearer_status(w, approved.access_token) == 403
    w.http.cookies.clear()
    page = w.http.get(approved.receipt_path)
    token = hidden(page.text, "revoke_token")
    forged = w.http.post(
        f"{approved.receipt_path}/revoke", data={"revoke_token": "0" * 64}, follow_redirects=False
    )
    assert forged.status_code == 400
    assert _introspect(w, approved.access_token)
    done = w.http.post(
        f"{approved.receipt_path}/revoke", data={"revoke_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == approved.receipt_path
    assert not _introspect(w, approved.access_token)
    assert _bearer_status(w, approved.access_token) == 401
    assert _grant_from_api(w, approved.grant_id)["status"] == "revoked"
    after = w.http.get(approved.receipt_path).text
    assert "Revoked: you withdrew this access" in after
    assert "revoke_token" not in after


@pytest.mark.req("WG3-9.4-d", "WG3-9.4-e")
def test_the_receipt_email_is_enqueued_with_the_grant_and_captured_in_demo_mode(
    w: World, settings: Settings, engine: Engine
) -> None:
    approved = _approve(w)
    with w.session() as session:  # (that it rolls back with the approval: the test below)
        item = session.scalars(select(OutboxItem)).one()
    assert item.status == "pending"
    assert item.idempotency_key == f"receipt-email:{approved.confirmation}"
    payload = item.payload
    assert payload["to"] == EMAIL
    assert approved.confirmation in payload["subject"]
    text = payload["text"]
    for part in (settings.utility_name, approved.confirmation, "Sunny App", "Authorized on"):
        assert part in text
    assert "For these accounts:\n  - HOME-1 — Home at home — 1 Main St, Davis, CA 95616\n" in text
    assert f"http://testserver{approved.receipt_path}" in text

    assert w.http.get(urls.DEMO_MAIL).status_code == 404  # capture is off
    capturing = settings.model_copy(update={"mail_capture": True})
    assert Worker(engine, capturing).run_once() == 1
    assert Worker(engine, capturing).run_once() == 0
    mailbox = TestClient(create_app(capturing, engine)).get(urls.DEMO_MAIL)
    assert mailbox.status_code == 200
    assert approved.confirmation in mailbox.text
    assert EMAIL in mailbox.text
    assert approved.receipt_path in mailbox.text


def test_a_declined_request_makes_no_receipt_and_no_email(w: World) -> None:
    consent = w.consent_path(w.authorize(w.query()))
    w.log_in(*TEST_CUSTOMER, consent)
    w.decide(consent, "decline")
    with w.session() as session:
        assert session.scalars(select(Receipt)).first() is None
        assert session.scalars(select(OutboxItem)).first() is None


@pytest.mark.req("WG3-9.4-d")
def test_a_failed_approval_rolls_back_the_receipt_and_email(w: World) -> None:
    consent = w.consent_path(w.authorize(w.query()))
    w.log_in(*TEST_CUSTOMER, consent)
    form = w.http.get(consent)
    with w.session() as session:  # the client is disabled before the Customer presses Approve
        session.get_one(Client, w.client_id).status = "disabled"
        session.commit()
    w.http.post(
        consent,
        data={"decision": "approve", "csrf_token": hidden(form.text, "csrf_token")},
        follow_redirects=False,
    )
    with w.session() as session:
        assert session.scalars(select(Receipt)).first() is None
        assert session.scalars(select(OutboxItem)).first() is None


def test_connected_apps_lists_and_revokes(w: World) -> None:
    approved = _approve(w)
    w.http.cookies.clear()
    anonymous = w.http.get(urls.CONNECTED_APPS, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith(urls.LOGIN)
    w.log_in(*TEST_CUSTOMER, urls.CONNECTED_APPS)
    page = w.http.get(urls.CONNECTED_APPS)
    assert page.status_code == 200
    html = page.text
    assert "Sunny App" in html
    assert "Since" in html and "Until" in html
    assert "Active: the app can use the access you approved." in html
    assert approved.confirmation in html
    action = f"{urls.CONNECTED_APPS}/{approved.grant_id}/revoke"
    assert action in html
    forged = w.http.post(action, data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 400
    assert _introspect(w, approved.access_token)
    done = w.http.post(
        action, data={"csrf_token": hidden(html, "csrf_token")}, follow_redirects=False
    )
    assert done.status_code == 303
    assert not _introspect(w, approved.access_token)
    assert _bearer_status(w, approved.access_token) == 401
    assert _grant_from_api(w, approved.grant_id)["status"] == "revoked"
    after = w.http.get(urls.CONNECTED_APPS).text
    assert "Revoked: you withdrew this access" in after
    assert action not in after


def test_connected_apps_cannot_revoke_another_customers_grant(w: World) -> None:
    approved = _approve(w)
    w.http.cookies.clear()
    w.log_in("alice", "alice-password-1", urls.CONNECTED_APPS)
    html = w.http.get(urls.CONNECTED_APPS).text
    assert "Sunny App" not in html
    answer = w.http.post(
        f"{urls.CONNECTED_APPS}/{approved.grant_id}/revoke",
        data={"csrf_token": hidden(html, "csrf_token")},
        follow_redirects=False,
    )
    assert answer.status_code == 404
    assert _introspect(w, approved.access_token)


def test_the_receipts_path_agrees_with_urls() -> None:
    assert urls.RECEIPTS == RECEIPTS_PATH


def test_the_receipt_keeps_what_was_approved_and_shows_what_changed(w: World) -> None:
    approved = _approve(w)
    set_client(w, client_name="Sunny Renamed", client_uri="https://renamed.example/")
    html = w.http.get(approved.receipt_path).text
    assert "What has changed since you approved" in html
    assert "Sunny App" in html and "Sunny Renamed" in html
    assert 'href="https://sunny.example/"' in html  # the link shown when approving stays


@pytest.mark.req("WG3-9.4-f", "WG3-9.4-e")
def test_the_receipt_keeps_the_purpose_shown_on_the_form(w: World) -> None:
    purpose = {
        "name": "Audit",
        "content": "To score your home.\nNothing else.",
        "related_uri": "https://sunny.example/terms",
        "related_name": "Our data terms",
    }
    set_client(w, purposes={"p1": purpose})
    details = json.dumps([{"type": "cds_accounts_1", "purpose": "p1"}])
    answer = redirect_params(w.approve_as(*TEST_CUSTOMER, w.query(authorization_details=details)))
    assert "code" in answer
    set_client(w, purposes={"p1": purpose | {"content": "Changed later."}})
    with w.session() as session:
        receipt = session.scalars(select(Receipt)).one()
        mail = session.scalars(select(OutboxItem).where(OutboxItem.kind == "email")).one()
        assert receipt.snapshot["purpose"][0]["content"] == purpose["content"]
        path = re.search(r"http://testserver(/receipts/\S+)", mail.payload["text"])
        assert path is not None
        assert "score your home" not in mail.payload["text"]  # not reviewed: never mailed
    html = w.http.get(path.group(1)).text
    assert "To score your home.\nNothing else." in html and "Changed later." not in html
    assert "written by Sunny App" in html
    link = re.search(r'<a href="https://sunny.example/terms"[^>]*>Our data terms</a>', html)
    assert link is not None and 'rel="noopener nofollow"' in link.group(0)


def _approve_with(w: World, fields: list[tuple[str, str]]) -> tuple[str, str]:
    """Approve a request for account numbers and details kept up to date for two years, which
    allows scope modifications, with `fields` posted from the form's editing controls; returns
    the receipt page (as its Customer, logged in) and the receipt email."""
    details = json.dumps(
        [{"type": "cds_accounts_1", "allow_scope_modifications": True, "sync_until": "P2Y"}]
    )
    consent = w.consent_path(w.authorize(w.query(scope=None, authorization_details=details)))
    w.log_in(*TEST_CUSTOMER, consent)
    html = w.http.get(consent).text
    body = [("decision", "approve"), ("csrf_token", hidden(html, "csrf_token")), *ticks(html)]
    body += [("edit", v) for v in re.findall(r'name="edit" value="([^"]*)"', html)]
    answer = w.http.post(
        consent,
        content=urlencode(body + fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert "code" in redirect_params(answer)
    with w.session() as session:
        mail = session.scalars(select(OutboxItem).where(OutboxItem.kind == "email")).one()
        text = mail.payload["text"]
    path = re.search(r"http://testserver(/receipts/\S+)", text)
    assert path is not None
    return w.http.get(path.group(1)).text, text


def _section(html: str) -> str:
    found = re.search(r'<li id="section-cds_accounts_1">(.*?)</li>\s*</ul></dd>', html, re.S)
    assert found is not None
    return found.group(1)


@pytest.mark.req("WG3-9.4-f", "WG3-9.4-e")
def test_the_receipt_says_what_was_granted_as_requested(w: World, settings: Settings) -> None:
    page, text = _approve_with(
        w,
        [
            ("include.cds_accounts_1", "include_account_numbers"),
            ("include.cds_accounts_1", "include_account_details"),
        ],
    )
    in_two_years = utcnow().astimezone(settings.tz).year + 2
    section = _section(page)
    assert "<strong>Your account list</strong>" in section
    assert "<li>your account numbers</li>" in section
    assert "<li>account names, addresses and contacts</li>" in section
    assert re.search(rf"Kept up to date until \d+ \w+ {in_two_years}\.", section)
    assert CHANGED_WORDS not in page
    assert (
        "Access you approved:\n"
        "  - Your account list: your account numbers, account names, addresses and contacts\n"
        "    Kept up to date until "
    ) in text
    assert CHANGED_WORDS not in text


@pytest.mark.req("WG3-9.4-f", "WG3-9.4-e")
def test_the_receipt_says_what_the_customer_narrowed_on_the_form(
    w: World, settings: Settings
) -> None:
    until = utcnow().astimezone(settings.tz).date() + timedelta(days=30)
    page, text = _approve_with(
        w,
        [
            ("include.cds_accounts_1", "include_account_numbers"),  # details left out
            ("date.cds_accounts_1.sync_until", until.isoformat()),
        ],
    )
    ends = f"Kept up to date until {date_words(settings, until.isoformat())}."
    section = _section(page)
    assert "<li>your account numbers</li>" in section
    assert "account names, addresses and contacts" not in page
    assert ends in section
    assert f'<p id="changed-by-customer">{CHANGED_WORDS}</p>' in page.replace("&#39;", "'")
    assert (
        f"Access you approved:\n  - Your account list: your account numbers\n    {ends}\n"
        f"{CHANGED_WORDS}\n"
    ) in text
    assert "account names" not in text
