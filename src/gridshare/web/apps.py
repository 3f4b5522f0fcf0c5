"""Connected apps: the logged-in Customer's Grants, each with a revoke button.

`GET urls.CONNECTED_APPS` (login needed; otherwise the login page, then back here) lists every Grant
the Customer authorized, newest first: the Client's name, what it shares in the scope catalogue's
plain words, since when, until when, its status in plain words, and a link to its latest
Authorization Receipt (CDS-WG3-01 §9.4).

`POST urls.CONNECTED_APPS/{grant_id}/revoke` with the session's CSRF token revokes one of the
Customer's Grants (`grants.grants.revoke_grant`: status `revoked`, tokens stop at once; the Client
sees the status in the Grants API). Another Customer's Grant is "not found".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from gridshare import urls
from gridshare.api.login_session import current_login, login_url
from gridshare.grants.authorization import described_scopes
from gridshare.grants.grants import ENDED, access_ends, apply_time, revoke_grant
from gridshare.grants.receipts import latest_receipt, receipt_url
from gridshare.grants.scopes import load_catalogue
from gridshare.grants.secrets import same
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.clients import Client
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Grant
from gridshare.web.browser import PAGE_HEADERS, FormDep, notice, page
from gridshare.web.wording import local_time, status_in_words

router = APIRouter(include_in_schema=False)


@router.get(urls.CONNECTED_APPS, response_class=HTMLResponse)
def connected_apps(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    login = current_login(session, settings, request)
    if login is None:
        session.commit()
        return RedirectResponse(login_url(urls.CONNECTED_APPS), 303, headers=PAGE_HEADERS)
    customer = session.get_one(Customer, login.customer_id)
    catalogue = load_catalogue(settings)
    grants = session.scalars(
        select(Grant)
        .where(Grant.customer_id == customer.id)
        .order_by(Grant.created.desc(), Grant.grant_id)
    ).all()
    apps: list[dict[str, Any]] = []
    for grant in grants:
        apply_time(session, grant)
        client = session.get(Client, grant.client_id)
        receipt = latest_receipt(session, grant.grant_id)
        apps.append(
            {
                "grant_id": grant.grant_id,
                "client_name": (client.client_name or client.client_id) if client else "An app",
                "scopes": described_scopes(catalogue, grant.scope, grant.authorization_details),
                "since": local_time(settings, grant.created),
                "until": local_time(settings, access_ends(grant)),
                "status": status_in_words(grant.status),
                "can_revoke": grant.status not in ENDED,
                "receipt": receipt_url(settings, receipt) if receipt else None,
                "confirmation": receipt.confirmation if receipt else None,
            }
        )
    session.commit()
    return page(
        request,
        settings,
        "apps.html",
        customer=customer,
        apps=apps,
        csrf_token=login.csrf_token,
        action=urls.CONNECTED_APPS,
        logout_path=urls.LOGOUT,
        download_path=urls.DOWNLOAD,
    )


@router.post(f"{urls.CONNECTED_APPS}/{{grant_id}}/revoke", response_class=HTMLResponse)
def revoke_app(
    request: Request, session: SessionDep, settings: SettingsDep, grant_id: str, form: FormDep
) -> Response:
    login = current_login(session, settings, request)
    if login is None:
        session.commit()
        return RedirectResponse(login_url(urls.CONNECTED_APPS), 303, headers=PAGE_HEADERS)
    if not same(form.get("csrf_token", ""), login.csrf_token):
        session.commit()
        return notice(
            request,
            settings,
            400,
            "Please try again",
            "This form had expired. Go back, reload the page and try again.",
        )
    grant = session.get(Grant, grant_id, with_for_update=True)
    if grant is None or grant.customer_id != login.customer_id:
        session.commit()
        return notice(request, settings, 404, "Not found", "You have no such connected app.")
    revoke_grant(session, settings, grant)
    session.commit()
    return RedirectResponse(urls.CONNECTED_APPS, 303, headers=PAGE_HEADERS)
