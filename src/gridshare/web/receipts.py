"""The Authorization Receipt page, CDS-WG3-01 §9.4 (the receipt itself is made by
`grants.receipts.issue_receipt` on Approve).

`GET urls.RECEIPTS/{key}` needs no login. It is never indexed (`<meta name="robots"
content="noindex">` and `X-Robots-Tag: noindex`), cached or framed, and names no Referer. It shows
the frozen copy of what was approved (confirmation number, when, the Client's name with its
`client_uri` opening a new tab `rel="noopener nofollow"`, what was granted as the form's Request
Sections (which data, for how long and how far back: `grants.receipts.approved_sections`, and a
line saying so when the Customer changed the request on the form, CDS-WG3-01 §7.4.5), when the
access ends, the Client's terms and policy links, support contact), the Grant's current status in
plain words, what has changed since (the Client's name or link, the scopes, the end date), and a
link to the newer receipt when one superseded it. The resources the Customer selected are Customer
Data: they are listed only to that Customer logged in; anyone else sees how many there are, whether
all and future ones were included, and a link to log in (§9.4).

While the Grant's access has not ended, a Revoke button posts `urls.RECEIPTS/{key}/revoke` with
the receipt's revoke token: no login needed (§9.4); the Grant becomes `revoked` and its tokens stop
at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.login_session import current_login, login_url
from gridshare.config import Settings
from gridshare.grants.authorization import described_scopes
from gridshare.grants.grants import ENDED, access_ends, apply_time, revoke_grant
from gridshare.grants.receipts import (
    CHANGED_WORDS,
    approved_sections,
    find_receipt,
    latest_receipt,
    receipt_path,
    receipt_url,
    revoke_token,
    revoke_token_ok,
)
from gridshare.grants.scopes import is_url, load_catalogue
from gridshare.grants.selections import NOUNS
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.receipts import Receipt
from gridshare.timefmt import rfc3339
from gridshare.web.browser import PAGE_HEADERS, FormDep, notice, page
from gridshare.web.wording import local_time, status_in_words

router = APIRouter(include_in_schema=False)

Key = Annotated[str, Path(min_length=20, max_length=100)]


@router.get(f"{urls.RECEIPTS}/{{key}}", response_class=HTMLResponse)
def show_receipt(
    request: Request, session: SessionDep, settings: SettingsDep, key: Key
) -> Response:
    receipt = find_receipt(session, key)
    if receipt is None:
        return _not_found(request, settings)
    grant = session.get_one(Grant, receipt.grant_id)
    apply_time(session, grant)
    context = _context(session, settings, receipt, grant)
    login = current_login(session, settings, request)
    session.commit()
    return page(
        request,
        settings,
        "receipt.html",
        **context,
        selections=_selections(receipt.snapshot),
        shows_customer_data=login is not None and login.customer_id == receipt.customer_id,
        login_link=login_url(receipt_path(key)),
        revoke_action=f"{receipt_path(key)}/revoke",
        revoke_token=revoke_token(settings, receipt),
    )


@router.post(f"{urls.RECEIPTS}/{{key}}/revoke", response_class=HTMLResponse)
def revoke_from_receipt(
    request: Request, session: SessionDep, settings: SettingsDep, key: Key, form: FormDep
) -> Response:
    receipt = find_receipt(session, key)
    if receipt is None:
        return _not_found(request, settings)
    if not revoke_token_ok(settings, receipt, form.get("revoke_token", "")):
        return notice(
            request,
            settings,
            400,
            "Please try again",
            "This form had expired. Go back, reload the receipt and try again.",
        )
    grant = session.get_one(Grant, receipt.grant_id, with_for_update=True)
    revoke_grant(session, settings, grant)
    session.commit()
    return RedirectResponse(receipt_path(key), 303, headers=PAGE_HEADERS)


def _context(
    session: Session, settings: Settings, receipt: Receipt, grant: Grant
) -> dict[str, Any]:
    shot = receipt.snapshot
    client = session.get(Client, grant.client_id)
    now_name = (client.client_name or client.client_id) if client else shot["client_name"]
    now_uri = (
        client.client_uri if client and client.client_uri and is_url(client.client_uri) else None
    )
    catalogue = load_catalogue(settings)
    now_scopes = described_scopes(catalogue, grant.scope, grant.authorization_details)
    ends = access_ends(grant)
    approved_ends = _parse(shot["ends"])
    changes: list[tuple[str, str, str]] = []
    if now_name != shot["client_name"]:
        changes.append(("App name", shot["client_name"], now_name))
    if now_uri != shot["client_uri"]:
        changes.append(("App website", shot["client_uri"] or "none", now_uri or "none"))
    if [s.id for s in now_scopes] != [s["id"] for s in shot["scopes"]] or (
        grant.authorization_details != shot["authorization_details"]
    ):
        changes.append(
            (
                "Access",
                ", ".join(s["name"] for s in shot["scopes"]),
                ", ".join(s.name for s in now_scopes) or "none",
            )
        )
    if (None if ends is None else rfc3339(ends)) != shot["ends"]:
        changes.append(
            (
                "Access ends",
                local_time(settings, approved_ends) or "when you revoke it",
                local_time(settings, ends) or "when you revoke it",
            )
        )
    newer = None
    if receipt.superseded_by is not None:
        latest = latest_receipt(session, grant.grant_id)
        if latest is not None and latest.key_hash != receipt.key_hash:
            newer = receipt_url(settings, latest)
    return {
        "shot": shot,
        "sections": approved_sections(settings, catalogue, receipt),
        "changed_words": CHANGED_WORDS if shot.get("changed_by_customer") else None,
        "confirmation": receipt.confirmation,
        "created": local_time(settings, receipt.created),
        "ends": local_time(settings, approved_ends),
        "status": status_in_words(grant.status),
        "can_revoke": grant.status not in ENDED,
        "changes": changes,
        "newer": newer,
    }


def _selections(shot: dict[str, Any]) -> list[dict[str, Any]]:
    """The snapshot's selected resources with their nouns (receipts before selections: none)."""
    shown = []
    for picked in shot.get("selections", []):
        singular, plural = NOUNS.get(picked["type"], ("item", "items"))
        count = len(picked["labels"])
        shown.append(
            {**picked, "noun": plural, "count": f"{count} {singular if count == 1 else plural}"}
        )
    return shown


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _not_found(request: Request, settings: Settings) -> Response:
    return notice(
        request,
        settings,
        404,
        "Receipt not found",
        "We cannot find this receipt. Check the link in your email, or contact us.",
    )
