"""The authorization endpoint (RFC 6749 §4.1.1-§4.1.2.1) and the checks CDS-WG3-01 §9.1.1 makes
before the Customer logs in: RFC 7636 PKCE (S256 only, CDS-WG1-02 §3.4), RFC 9396
authorization_details, an RFC 9126 §4 `request_uri`, and CDS-WG1-02 §8.3 `cds_grant_id`/`prompt`.

Order of the checks, and how each failure is answered:
1. `client_id`, then `redirect_uri` (exact match with a registered one; the Client's
   `cds_default_redirect_uri` when omitted), then `response_type`: a problem here shows the Invalid
   Request Error page (CDS-WG3-01 §9.3.2) and never redirects (RFC 6749 §4.1.2.1). A `request_uri`
   that cannot be used is answered by redirecting with `invalid_request_uri` when some redirect_uri
   of the Client is known to be valid, else with the page.
2. Everything else redirects to the redirect_uri with `error`, `error_description` and `state`:
   a disabled Client or one without `code` among its response_types (`unauthorized_client`), a
   parameter given twice, PKCE (`code_challenge` required, `code_challenge_method` must be `S256`;
   an omitted method means `plain`, RFC 7636 §4.3), `scope` and `authorization_details`
   (`invalid_scope`, `invalid_authorization_details`), `prompt=none` (`interaction_required`:
   this server always asks the Customer), and last `cds_grant_id` (`cds_grant_id_invalid_value`).

Defaults (CDS-WG3-01 §9.1.1): with neither `scope` nor `authorization_details`, the Client's
`cds_default_scope` and `cds_default_authorization_details`; with only `scope`, the default
authorization_details; with only `authorization_details`, no default scope (RFC 9396 §3 lets
authorization_details stand instead of scope). A Grant authorization request that names neither
asks for the Grant's own scope and authorization_details.

With a `request_uri`, the pushed parameters are the request; other query parameters than
`client_id` and `request_uri` may only repeat pushed values (`invalid_request` otherwise).

A valid request is kept as a pending request and the browser goes on to the authorization form
(`urls.CONSENT`), which asks for a login first when needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants import espi_scope
from gridshare.grants.authorization import (
    AuthorizationRefused,
    AuthorizationRequest,
    details_text,
    error_url,
    grant_for_request,
    open_pending,
    scope_ids,
)
from gridshare.grants.authorization_details import (
    Requested,
    RequestRejected,
    parse_authorization_details,
    resolve_request,
)
from gridshare.grants.espi_clients import ThirdParty, consent_scope_ids, third_party
from gridshare.grants.purposes import usable_for
from gridshare.grants.pushed_requests import Parameters, RequestUriError, take
from gridshare.grants.scopes import Catalogue, load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth import pkce
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Grant

router = APIRouter(tags=["OAuth"])
templates = Jinja2Templates(directory=Path(__file__).parents[1] / "web" / "templates")

NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
SINGLE: Final = (
    "scope",
    "authorization_details",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "request_uri",
)
"""Parameters that may appear at most once (RFC 6749 §3.1); `cds_grant_id` has its own rule."""
MAX_STATE: Final = 2048


class InvalidRequest(Exception):
    """A request that cannot be answered at a redirect_uri: the Invalid Request Error page
    (CDS-WG3-01 §9.3.2); the PAR endpoint answers it as a 400 with `error`."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class Refused(Exception):
    """A request answered by redirecting to `redirect_uri` with `error` (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state

    def url(self) -> str:
        return error_url(self.redirect_uri, self.state, self.error, self.description)


@router.get(urls.AUTHORIZE, response_class=HTMLResponse)
def authorize(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Check an authorization request and send the browser on to the authorization form."""
    query: Parameters = {}
    for name, value in request.query_params.multi_items():
        query.setdefault(name, []).append(value)
    try:
        if "request_uri" in query:
            parameters, conflict = _pushed(session, query)
        else:
            parameters, conflict = query, None
        checked = validate(session, settings, load_catalogue(settings), parameters)
        if conflict is not None:
            raise Refused(
                "invalid_request",
                f"{conflict} must not differ from the pushed request",
                checked.redirect_uri,
                checked.state,
            )
        pending_id = open_pending(session, settings, checked)
    except InvalidRequest as error:
        session.commit()  # a request_uri, once presented, stays used
        return invalid_request_page(request, settings, error.description)
    except Refused as error:
        session.commit()
        return RedirectResponse(error.url(), status_code=303, headers=NO_STORE)
    session.commit()
    return RedirectResponse(f"{urls.CONSENT}?request={pending_id}", 303, headers=NO_STORE)


def invalid_request_page(request: Request, settings: Settings, description: str) -> HTMLResponse:
    """CDS-WG3-01 §9.3.2: the request is broken; tell the Customer to tell the app."""
    return templates.TemplateResponse(
        request,
        "invalid_request.html",
        {"settings": settings, "description": description},
        status_code=400,
        headers=NO_STORE,
    )


def validate(
    session: Session, settings: Settings, catalogue: Catalogue, parameters: Parameters
) -> AuthorizationRequest:
    """Every check that can be made before the Customer logs in (CDS-WG3-01 §9.1.1).

    Raises `InvalidRequest` (no redirect possible) or `Refused` (redirect with an error).
    """
    client = _client(session, parameters)
    redirect_uri, redirect_uri_given = _redirect_uri(client, parameters)
    states = parameters.get("state", [])
    if len(states) > 1:
        raise Refused("invalid_request", "state is given more than once", redirect_uri, None)
    state = (states[0] if states else "") or None
    if state is not None and len(state) > MAX_STATE:
        raise Refused("invalid_request", f"state is longer than {MAX_STATE}", redirect_uri, None)
    _response_type(parameters)

    def refuse(error: str, description: str) -> Refused:
        return Refused(error, description, redirect_uri, state)

    if client.status == "disabled":
        raise refuse("unauthorized_client", "this client object is disabled")
    if "code" not in client.response_types:
        raise refuse("unauthorized_client", "this client object does not take authorizations")
    for name in SINGLE:
        if len(parameters.get(name, [])) > 1:
            raise refuse("invalid_request", f"{name} is given more than once")
    if "request" in parameters:
        raise refuse("request_not_supported", "request objects are not supported; use PAR")
    single = {name: (parameters.get(name) or [""])[0] or None for name in SINGLE}
    if single["request_uri"] is not None:
        raise refuse("invalid_request", "a pushed request cannot contain request_uri")
    party = third_party(client)
    espi_text: str | None = None
    try:
        grant_ids = [value for value in parameters.get("cds_grant_id", []) if value]
        scope, details = single["scope"], single["authorization_details"]
        if party is not None:
            code_challenge = _espi_code_challenge(single)
            espi_text, scope, details = _espi_request(catalogue, party, scope, details, grant_ids)
        else:
            code_challenge = _code_challenge(
                single["code_challenge"], single["code_challenge_method"]
            )
        from_grant = len(grant_ids) == 1 and scope is None and details is None
        if not from_grant:
            scope, details = _with_defaults(client, scope, details)
            requested = _requested(settings, catalogue, client, scope, details)
        prompts = (single["prompt"] or "").split()
        if "none" in prompts:
            raise AuthorizationRefused(
                "interaction_required", "this server always asks the customer (prompt=none)"
            )
        grant: Grant | None = None
        if grant_ids:
            grant = _grant(session, catalogue, client, grant_ids, None if from_grant else requested)
            if from_grant:
                scope, details = grant.scope, details_text(grant.authorization_details)
    except AuthorizationRefused as error:
        raise refuse(error.error, error.description) from error
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        redirect_uri_given=redirect_uri_given,
        state=state,
        scope=scope or "",
        authorization_details=details or "[]",
        code_challenge=code_challenge,
        grant_id=grant.grant_id if grant is not None else None,
        force_login="login" in prompts,
        espi_scope=espi_text,
    )


def _response_type(parameters: Parameters) -> None:
    """Only the authorization code flow (CDS-WG3-01 §9.1.1: a bad one gets the error page)."""
    response_types = parameters.get("response_type", [])
    if len(response_types) > 1:
        raise InvalidRequest("invalid_request", "response_type is given more than once")
    if response_types != ["code"]:
        raise InvalidRequest(
            "unsupported_response_type", "response_type must be code (the authorization code flow)"
        )


def _code_challenge(challenge: str | None, method: str | None) -> str:
    """RFC 7636 §4.3 with S256 only; an omitted method means plain, which is refused."""
    if challenge is None:
        raise AuthorizationRefused("invalid_request", "code_challenge is required (PKCE, S256)")
    if method != "S256":
        raise AuthorizationRefused(
            "invalid_request", "code_challenge_method must be S256 (plain is not allowed)"
        )
    if not pkce.is_s256_challenge(challenge):
        raise AuthorizationRefused(
            "invalid_request", "code_challenge is not an S256 challenge (43 characters)"
        )
    return challenge


def _espi_code_challenge(single: dict[str, str | None]) -> str:
    """Green Button third parties need not use PKCE (NAESB REQ.21 ESPI predates it); one that
    sends a challenge is held to it. An empty challenge marks a code without PKCE."""
    if single["code_challenge"] is None and single["code_challenge_method"] is None:
        return ""
    return _code_challenge(single["code_challenge"], single["code_challenge_method"])


def _espi_request(
    catalogue: Catalogue,
    party: ThirdParty,
    scope: str | None,
    details: str | None,
    grant_ids: list[str],
) -> tuple[str, str, str]:
    """A Green Button request: one of the third party's registered scope strings (the first when
    `scope` is omitted, RFC 6749 §3.3), as its Customer Consent equivalent (`grants.espi_scope`).
    Returns the scope string, the consent scopes and their authorization_details."""
    if details is not None or grant_ids:
        raise AuthorizationRefused(
            "invalid_request",
            "authorization_details and cds_grant_id are CDS parameters; a Green Button third "
            "party asks with its registered scope only",
        )
    chosen = scope if scope is not None else party.scopes[0]
    if chosen not in party.scopes:
        raise AuthorizationRefused(
            "invalid_scope",
            f"scope must be one of the registered scope strings: {' | '.join(party.scopes)}",
        )
    entries = espi_scope.consent_request(espi_scope.parse(chosen), *consent_scope_ids(catalogue))
    return chosen, " ".join(e["type"] for e in entries), details_text(entries)


def _requested(
    settings: Settings, catalogue: Catalogue, client: Client, scope: str, details: str
) -> Requested:
    """The scope and authorization_details, checked against the Client's scopes (RFC 9396)."""
    try:
        requested = resolve_request(
            catalogue,
            scope=scope,
            details=parse_authorization_details(details),
            allowed_scopes=set(client.scope.split()),
            settings=settings,
            now=utcnow(),
            purposes=usable_for(settings, catalogue, client),
        )
    except RequestRejected as error:
        raise AuthorizationRefused(error.error, error.description) from error
    for scope_id in requested.scopes:
        if "code" not in catalogue.scopes[scope_id].response_types_supported:
            raise AuthorizationRefused(
                "invalid_scope", f"{scope_id} cannot be authorized by a customer"
            )
    return requested


def _grant(
    session: Session,
    catalogue: Catalogue,
    client: Client,
    grant_ids: list[str],
    requested: Requested | None,
) -> Grant:
    """The Grant of a Grant authorization request (CDS-WG1-02 §8.3-b, -c), checked last.

    With `requested` the request must ask for the Grant's scopes; without, the Grant's scopes
    must be ones a Customer can authorize.
    """
    if len(grant_ids) > 1:
        raise AuthorizationRefused("cds_grant_id_invalid_value", "cds_grant_id is given twice")
    grant = grant_for_request(session, grant_ids[0], client)
    grant_scopes = scope_ids(catalogue, grant.scope, grant.authorization_details)
    if requested is not None:
        if set(requested.scopes) != set(grant_scopes):
            raise AuthorizationRefused(
                "cds_grant_id_invalid_value", "the requested scopes are not the Grant's scopes"
            )
        return grant
    for scope_id in grant_scopes:
        described = catalogue.get(scope_id)
        if described is None or "code" not in described.response_types_supported:
            raise AuthorizationRefused(
                "cds_grant_id_invalid_value",
                f"the Grant's scope {scope_id} cannot be authorized by a customer",
            )
    return grant


def _client(session: Session, parameters: Parameters) -> Client:
    values = parameters.get("client_id", [])
    if len(values) > 1:
        raise InvalidRequest("invalid_request", "client_id is given more than once")
    if not values or not values[0]:
        raise InvalidRequest("invalid_request", "client_id is missing")
    client = session.get(Client, values[0])
    if client is None:
        raise InvalidRequest("invalid_request", "client_id names no registered client")
    return client


def _redirect_uri(client: Client, parameters: Parameters) -> tuple[str, bool]:
    """The redirect_uri to answer at, and whether the request named it (RFC 6749 §3.1.2.3)."""
    values = parameters.get("redirect_uri", [])
    if len(values) > 1:
        raise InvalidRequest("invalid_request", "redirect_uri is given more than once")
    if values and values[0]:
        if values[0] not in client.redirect_uris:
            raise InvalidRequest(
                "invalid_request", "redirect_uri is not one registered for this client"
            )
        return values[0], True
    if not client.default_redirect_uri:
        raise InvalidRequest(
            "invalid_request", "redirect_uri is missing and the client has no default"
        )
    return client.default_redirect_uri, False


def _with_defaults(client: Client, scope: str | None, details: str | None) -> tuple[str, str]:
    if details is None:
        details = details_text(list(client.default_authorization_details or []))
        if scope is None:
            scope = client.default_scope or ""
    return scope or "", details


def _pushed(session: Session, query: Parameters) -> tuple[Parameters, str | None]:
    """The pushed request named by `request_uri` (RFC 9126 §4), and the name of a query
    parameter that contradicts it, if any."""
    client = _client(session, query)
    request_uris = query["request_uri"]
    try:
        if len(request_uris) > 1:
            raise RequestUriError("request_uri is given more than once")
        pushed = take(session, request_uris[0], client_id=client.client_id)
    except RequestUriError as error:
        known = error.record.parameters["pushed"] if error.record is not None else query
        redirect_uri, _ = _redirect_uri(client, known)
        states = known.get("state", [])
        state = states[0] if len(states) == 1 and len(states[0]) <= MAX_STATE else None
        raise Refused("invalid_request_uri", error.description, redirect_uri, state) from error
    conflict = next(
        (
            name
            for name, values in sorted(query.items())
            if name not in ("client_id", "request_uri") and pushed.get(name) != values
        ),
        None,
    )
    return {**pushed, "client_id": [client.client_id]}, conflict
