"""The authorization form, CDS-WG3-01 §9.1.1 after the pre-login checks, laid out as §9.2.1:
Header (the utility), Requester (the Client's name, linked to its `client_uri` in a new tab, and its
logo only when served from our own origin), Requests Container (one Request Section per scope in
plain words, `grants.consent_words`, each ending with its Purpose Component, §9.2.2.4), Closing,
Approval (Approve and Decline) and Footer (log out to switch Customer). No external assets.
A Request Section whose request sets `allow_scope_modifications` true (§7.4.5, §9.2.1.4) shows
plain controls, prefilled as requested, to leave out data, shorten durations or remove the section
(`web.modification_form`); Approve checks the changes (`grants.scope_modifications`) and a bad
one re-renders the form with 422 and the error beside its control, writing nothing.

`GET urls.CONSENT?request=<pending id>` asks for a login when there is no session, or when the
request said `prompt=login` and the session is older than the request (CDS-WG1-02 §8.3-d); then it
makes the checks that need the Customer (`grants.authorization.check_customer`: sandbox clients
only for test customers, `cds_grant_id` belongs to this Customer) and shows the Client's name (a
link to its `client_uri` opening a new tab, `rel="noopener nofollow"`) and the requested scopes in
plain words.

`POST` the same URL with `decision` = `approve` or `decline` and the session's CSRF token, or
`cancel` from the login page with the double-submit token. The pending request is answered once:
Approve creates the Grant (or updates the `cds_grant_id` Grant) and redirects with `code` and
`state`; Decline and Cancel redirect with `access_denied`; a second submission finds the request
answered and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.login_session import current_login, login_url
from gridshare.config import Settings
from gridshare.grants import purposes
from gridshare.grants.authorization import (
    AuthorizationRefused,
    AuthorizationRequest,
    Pending,
    PendingGone,
    approve,
    check_customer,
    decline_url,
    described_scopes,
    error_url,
    find_pending,
    take_pending,
)
from gridshare.grants.authorization_details import Requested, RequestRejected, resolve_request
from gridshare.grants.consent_words import preselection_words, request_sections
from gridshare.grants.purposes import usable_for
from gridshare.grants.scope_modifications import ModificationRejected, apply
from gridshare.grants.scopes import Catalogue, is_url, load_catalogue
from gridshare.grants.secrets import same
from gridshare.grants.selections import Chosen, SelectionGroup, selection_groups
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import LoginSession
from gridshare.web.browser import PAGE_HEADERS, FormDep, csrf_ok, notice, page
from gridshare.web.modification_form import Editing, editing, read_changes
from gridshare.web.selection_form import RequestPart, parts, selection_choices

router = APIRouter(include_in_schema=False)

NO_PRESELECTIONS: Final = "no_preselections"
"""The Preselection Error's decline answer (CDS-WG3-01 §7.4.3; see docs/spec-decisions.md)."""

PendingId = Annotated[str, Query(alias="request", max_length=100)]


@router.get(urls.CONSENT, response_class=HTMLResponse)
def consent_form(
    request: Request, session: SessionDep, settings: SettingsDep, pending_id: PendingId
) -> Response:
    found = _pending_with_login(request, session, settings, pending_id)
    if isinstance(found, Response):
        return found
    pending, login = found
    customer = session.get_one(Customer, login.customer_id)
    try:
        client = check_customer(session, pending.request, customer)
    except AuthorizationRefused as refused:
        return _refuse(request, session, settings, pending_id, refused)
    form = _Form.build(session, settings, client, pending.request, customer)
    session.commit()
    edits = editing(form.catalogue, settings, form.requested, form.parts, utcnow())
    return _show(request, settings, form, login, pending_id, edits)


@router.post(urls.CONSENT, response_class=HTMLResponse)
def consent_decision(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    pending_id: PendingId,
    form: FormDep,
) -> Response:
    decision = form.get("decision")
    if decision == "cancel":
        if not csrf_ok(request, form):
            return _expired_form(request, settings)
        return _answer(request, session, settings, pending_id, "the customer cancelled the login")
    if decision not in ("approve", "decline", NO_PRESELECTIONS):
        return notice(request, settings, 400, "Please choose", "Choose Approve or Decline.")
    found = _pending_with_login(request, session, settings, pending_id)
    if isinstance(found, Response):
        return found
    pending, login = found
    if not same(form.get("csrf_token", ""), login.csrf_token):
        session.commit()
        return _expired_form(request, settings)
    if decision == "decline":
        return _answer(request, session, settings, pending_id, "the customer declined")
    if decision == NO_PRESELECTIONS:
        return _take(
            request,
            session,
            settings,
            pending_id,
            lambda pending: error_url(
                pending.request.redirect_uri,
                pending.request.state,
                NO_PRESELECTIONS,
                "the customer has none of the preselected resources",
            ),
        )
    customer = session.get_one(Customer, login.customer_id)
    try:
        client = check_customer(session, pending.request, customer)
    except AuthorizationRefused as refused:
        return _refuse(request, session, settings, pending_id, refused)
    shown = _Form.build(session, settings, client, pending.request, customer)
    changes, problems = read_changes(form, shown.parts)
    now = utcnow()
    if shown.requested is not None and not problems:
        try:
            apply(shown.catalogue, settings, shown.requested, changes, now)
        except ModificationRejected as rejected:
            problems = rejected.problems
    removed = {scope_id for scope_id, change in changes.items() if change.removed}
    chosen = [
        group.choose(form.all(f"select.{group.key}"), form.get(f"future.{group.key}") == "yes")
        for group in shown.groups
    ]
    kept = [c for c in chosen if not set(c.group.scope_ids) <= removed]
    if shown.blocked or problems or any(c.empty for c in kept):
        session.commit()
        edits = editing(
            shown.catalogue, settings, shown.requested, shown.parts, now, form, problems
        )
        return _show(
            request, settings, shown, login, pending_id, edits, chosen, kept, status_code=422
        )
    try:
        taken = take_pending(session, pending_id)
        location = approve(
            session, settings, shown.catalogue, taken.request, customer, kept, changes
        )
    except PendingGone as gone:
        session.rollback()
        return _gone(request, settings, gone)
    except ModificationRejected as rejected:
        session.rollback()
        edits = editing(
            shown.catalogue, settings, shown.requested, shown.parts, now, form, rejected.problems
        )
        return _show(
            request, settings, shown, login, pending_id, edits, chosen, kept, status_code=422
        )
    except AuthorizationRefused as refused:
        location = error_url(
            pending.request.redirect_uri, pending.request.state, refused.error, refused.description
        )
    session.commit()
    return RedirectResponse(location, 303, headers=PAGE_HEADERS)


@dataclass(frozen=True)
class _Form:
    """What the authorization form shows this Customer for this request."""

    catalogue: Catalogue
    client: Client
    customer: Customer
    renewal: bool
    requested: Requested | None
    """The request resolved now (None when it no longer resolves: nothing is editable)."""
    parts: list[RequestPart]
    groups: list[SelectionGroup]
    purposes: list[dict[str, Any]]

    @property
    def blocked(self) -> bool:
        """The request asked for a Preselection Error (§7.4.3, §9.3.1)."""
        return any(group.no_preselections for group in self.groups)

    @classmethod
    def build(
        cls,
        session: Session,
        settings: Settings,
        client: Client,
        request: AuthorizationRequest,
        customer: Customer,
    ) -> _Form:
        """Resolve the request now, so durations are dates (§9.2.2.2), and find the Customer's
        resources for each Selection Component (§9.2.3)."""
        catalogue = load_catalogue(settings)
        scope, details = request.scope, request.details()
        try:
            resolved = resolve_request(
                catalogue,
                scope=scope,
                details=details,
                allowed_scopes=set(client.scope.split()),
                settings=settings,
                now=utcnow(),
                purposes=usable_for(settings, catalogue, client),
            )
        except RequestRejected:
            scope = " ".join(s.id for s in described_scopes(catalogue, scope, details))
            shown_purposes = []
            requested = None
        else:
            requested = resolved
            scope, details = resolved.scope, resolved.authorization_details
            shown_purposes = purposes.shown(settings, catalogue, client, details)
        today = utcnow().astimezone(settings.tz).date()
        groups = selection_groups(session, catalogue, customer.id, scope, details, today)
        sections = request_sections(catalogue, settings, scope, details, today)
        return cls(
            catalogue,
            client,
            customer,
            request.grant_id is not None,
            requested,
            parts(sections, groups),
            groups,
            shown_purposes,
        )


def _show(
    request: Request,
    settings: Settings,
    form: _Form,
    login: LoginSession,
    pending_id: str,
    edits: Editing,
    chosen: list[Chosen] | None = None,
    kept: list[Chosen] | None = None,
    status_code: int = 200,
) -> Response:
    """The authorization form, or the Preselection Error page (§9.3.1) when the request wants
    one. `chosen` are the Customer's ticks from a submission that needs correcting, `kept` those
    of the Request Sections not removed (only they need a choice), `edits` the controls of the
    Request Sections the Customer may change (§7.4.5)."""
    client = form.client
    name = client.client_name or client.client_id
    common = {
        "client_name": name,
        "customer": form.customer,
        "csrf_token": login.csrf_token,
        "action": _here(pending_id),
        "logout_path": urls.LOGOUT,
    }
    if form.blocked:
        missing = [group for group in form.groups if group.no_preselections]
        return page(
            request,
            settings,
            "preselection_error.html",
            status_code,
            requested=preselection_words(missing),
            **common,
        )
    return page(
        request,
        settings,
        "consent.html",
        status_code,
        client_uri=client.client_uri if client.client_uri and is_url(client.client_uri) else None,
        logo_uri=_our_logo(settings, client.logo_uri),
        sandbox=client.status == "sandbox",
        parts=form.parts,
        choices=selection_choices(form.groups, chosen, kept),
        edits=edits,
        purposes=_part_purposes(form),
        renewal=form.renewal,
        **common,
    )


def _part_purposes(form: _Form) -> dict[str, list[dict[str, Any]]]:
    """The Purpose Components of each Request Section (§9.2.2.4), keyed by its first scope:
    merged scopes share one (§7.4.2 requires the same purpose)."""
    result = {}
    for part in form.parts:
        scope_ids = {section.scope_id for section in part.sections}
        result[part.sections[0].scope_id] = [
            purpose for purpose in form.purposes if scope_ids & set(purpose["scopes"])
        ]
    return result


def _our_logo(settings: Settings, logo_uri: str | None) -> str | None:
    """The Client's logo only when it is served from our own origin (no external assets)."""
    if not logo_uri:
        return None
    origin = settings.base_url.rstrip("/")
    if logo_uri.startswith(origin + "/"):
        return logo_uri
    if logo_uri.startswith("/") and not logo_uri.startswith("//") and "\\" not in logo_uri:
        return logo_uri
    return None


def _here(pending_id: str) -> str:
    return f"{urls.CONSENT}?request={pending_id}"


def _fresh_login(
    session: Session, settings: Settings, request: Request, pending: Pending
) -> LoginSession | None:
    """The login session, unless there is none or `prompt=login` asks for a newer one."""
    login = current_login(session, settings, request)
    if login is None or (pending.request.force_login and login.authenticated_at < pending.created):
        return None
    return login


def _pending_with_login(
    request: Request, session: Session, settings: Settings, pending_id: str
) -> Response | tuple[Pending, LoginSession]:
    """The pending request and a fresh enough login for it, or the page to show instead: the
    request's gone page, or a redirect to log in (and back here)."""
    try:
        pending = find_pending(session, pending_id)
    except PendingGone as gone:
        return _gone(request, settings, gone)
    login = _fresh_login(session, settings, request, pending)
    if login is None:
        session.commit()
        here = _here(pending_id)
        return RedirectResponse(login_url(here, cancel=here), 303, headers=PAGE_HEADERS)
    return pending, login


def _answer(
    request: Request, session: Session, settings: Settings, pending_id: str, why: str
) -> Response:
    """Decline (or cancel) the pending request: redirect with access_denied."""
    return _take(
        request, session, settings, pending_id, lambda pending: decline_url(pending.request, why)
    )


def _refuse(
    request: Request,
    session: Session,
    settings: Settings,
    pending_id: str,
    refused: AuthorizationRefused,
) -> Response:
    """The request does not hold for this Customer: answer it with the error."""
    return _take(
        request,
        session,
        settings,
        pending_id,
        lambda pending: error_url(
            pending.request.redirect_uri, pending.request.state, refused.error, refused.description
        ),
    )


def _take(
    request: Request,
    session: Session,
    settings: Settings,
    pending_id: str,
    location: Callable[[Pending], str],
) -> Response:
    """Answer the pending request once: redirect to `location(pending)`."""
    try:
        pending = take_pending(session, pending_id)
    except PendingGone as gone:
        session.rollback()
        return _gone(request, settings, gone)
    session.commit()
    return RedirectResponse(location(pending), 303, headers=PAGE_HEADERS)


def _gone(request: Request, settings: Settings, gone: PendingGone) -> Response:
    if gone.reason == "answered":
        return notice(
            request,
            settings,
            409,
            "Already answered",
            "You have already answered this request. Return to the app to continue.",
        )
    if gone.reason == "expired":
        return notice(
            request,
            settings,
            410,
            "This request has expired",
            "Return to the app and start again.",
        )
    return notice(
        request,
        settings,
        404,
        "Request not found",
        "We cannot find this authorization request. Return to the app and start again.",
    )


def _expired_form(request: Request, settings: Settings) -> Response:
    return notice(
        request,
        settings,
        400,
        "Please try again",
        "This form had expired. Go back, reload the page and try again.",
    )
