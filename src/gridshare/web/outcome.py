"""The server-hosted default redirect URI (CDS-WG1-02 §4.2; CDS-WG3-01 §9.1.1, §9.3.3): where a
Client that runs no redirect endpoint of its own sends the Customer back to.

`GET urls.DEFAULT_REDIRECT/{client_id}` shows the Customer the outcome:
- with `code`: a confirmation of the approval (the Client, the scopes in plain words, when, the
  Grant's status) with the confirmation number and a link to the Authorization Receipt
  (CDS-WG3-01 §9.4); the Client reaches the Grant through its Grant Admin scope
  (CDS-WG1-02 §3.3.2).
- with `error=access_denied`: confirmation that the Customer declined.
- with another `error`: why the request could not be completed, in our words for that error code
  (the `error_description` a link carries is not shown, so a link cannot put words in our mouth),
  and advice to contact the app.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gridshare import urls
from gridshare.grants.authorization import described_scopes
from gridshare.grants.receipts import latest_receipt, receipt_url
from gridshare.grants.scopes import load_catalogue
from gridshare.grants.secrets import digest
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import AuthorizationCode, Grant
from gridshare.web.browser import notice, page
from gridshare.web.wording import status_in_words

router = APIRouter(include_in_schema=False)

EXPLANATIONS = {
    "invalid_request": "the app's request was incomplete or malformed",
    "unauthorized_client": "the app is not allowed to ask for this kind of authorization",
    "unsupported_response_type": "the app asked for a kind of authorization we do not offer",
    "invalid_scope": "the app asked for access that does not exist or that it may not ask for",
    "invalid_authorization_details": "the app described the access it wants in a way we cannot "
    "accept",
    "invalid_request_uri": "the app's request had expired or had already been used",
    "request_not_supported": "the app sent its request in a form we do not support",
    "interaction_required": "the app asked us not to show you this page, but your approval is "
    "always needed",
    "cds_grant_id_invalid_value": "the app asked to renew an authorization that cannot be renewed",
    "cds_grant_id_invalid_user": "the authorization the app asked to renew belongs to another "
    "customer",
    "server_error": "something went wrong on our side",
    "temporarily_unavailable": "our service was briefly unavailable",
}


@router.get(f"{urls.DEFAULT_REDIRECT}/{{client_id}}", response_class=HTMLResponse)
def outcome(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client_id: str,
    code: str | None = None,
    error: str | None = None,
) -> Response:
    client = session.get(Client, client_id)
    if client is None:
        return notice(request, settings, 404, "Not found", "There is no such app.")
    name = client.client_name or client.client_id
    if error == "access_denied":
        return page(request, settings, "outcome.html", outcome="declined", client_name=name)
    if error:
        return page(
            request,
            settings,
            "outcome.html",
            outcome="error",
            client_name=name,
            explanation=EXPLANATIONS.get(error, "the request could not be completed"),
        )
    found = session.get(AuthorizationCode, digest(code)) if code else None
    if found is None or found.client_id != client_id:
        return notice(
            request,
            settings,
            404,
            "Authorization not found",
            "We cannot find this authorization. If you approved it, ask the app for help.",
        )
    grant = session.get_one(Grant, found.grant_id)
    described = described_scopes(load_catalogue(settings), grant.scope, grant.authorization_details)
    receipt = latest_receipt(session, grant.grant_id)
    return page(
        request,
        settings,
        "outcome.html",
        outcome="approved",
        client_name=name,
        scopes=described,
        approved_at=found.created.astimezone(settings.tz),
        reference=grant.grant_id,
        status=status_in_words(grant.status),
        confirmation=receipt.confirmation if receipt else None,
        receipt=receipt_url(settings, receipt) if receipt else None,
    )
