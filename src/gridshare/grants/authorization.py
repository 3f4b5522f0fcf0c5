"""CDS-WG3-01 §9.1.1 Authorization Requests, after the pre-login checks: the pending request,
the checks that need the Customer (CDS-WG1-02 §8.3, §5.2), and the Customer's decision.

The authorization endpoint checks a request before anyone logs in and keeps it here as a pending
request under a random id (256 bits, stored hashed), so the login and authorization form pages carry
only that id. A pending request lives `settings.session_minutes` (at least 10 minutes, CDS-WG3-01
§9.1.2) and is answered once: taking it is one conditional UPDATE, so a double-submitted form
cannot create two Grants.

Pending requests share the `pushed_requests` table with RFC 9126 pushed requests (same shape:
client, parameters, expiry, single use). Their ids are hashed with a `pending:` prefix, so a pending
id is never accepted as a `request_uri`, nor a `request_uri` as a pending id.

Decisions kept here:
- Sandbox Client Objects are authorized only by sandbox test customers (`Customer.is_test`), and
  production ones only by real customers (CDS-WG1-02 §5.2); anyone else gets `access_denied`.
- A Grant authorization request (`cds_grant_id`, CDS-WG1-02 §8.3) authorizes the Grant's own scope
  and authorization_details; approval makes the Grant `active` at once (§8.3-f) and binds it to
  the Customer. Another Customer's Grant is `cds_grant_id_invalid_user` (§8.3-e). A child Grant
  asking for Aggregation Inclusion (CDS-WG3-01 §4.11) that completes its parent's consents makes
  the parent active (`grants.aggregates.child_authorized`).
- Otherwise approval resolves the request again at that moment (relative dates count from the
  approval, CDS-WG1-02 §3.9) and creates an `active` Grant for the Customer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import update
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants.aggregates import child_authorized
from gridshare.grants.authorization_details import (
    RequestRejected,
    for_grant,
    parse_authorization_details,
    resolve_request,
)
from gridshare.grants.codes import issue_code
from gridshare.grants.grants import create_grant, set_status
from gridshare.grants.purposes import usable_for
from gridshare.grants.receipts import issue_receipt
from gridshare.grants.scope_modifications import FORM, Change, ModificationRejected, apply
from gridshare.grants.scopes import Catalogue, ScopeDescription
from gridshare.grants.secrets import digest, new_secret
from gridshare.grants.selections import Chosen
from gridshare.store.db import utcnow
from gridshare.store.jsontext import dumps
from gridshare.store.tables.clients import Client
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Grant, PushedRequest

PENDING_PREFIX: Final = "pending:"
NEEDS_AUTHORIZATION: Final = "needs_authorization"


class AuthorizationRefused(Exception):
    """A request refused once its redirect_uri is known: answered by redirecting with `error`
    (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class PendingGone(Exception):
    """A pending request id that is unknown, expired or already answered."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AuthorizationRequest:
    """A request that passed the pre-login checks, with the Client's defaults applied.

    `authorization_details` is JSON text (so decimals stay exact); `grant_id` is the `cds_grant_id`
    of a Grant authorization request, whose `scope` and details are then the Grant's.
    """

    client_id: str
    redirect_uri: str
    redirect_uri_given: bool
    state: str | None
    scope: str
    authorization_details: str
    code_challenge: str
    grant_id: str | None
    force_login: bool
    espi_scope: str | None = None
    """The Green Button scope string of an ESPI request (`grants.espi_scope`); `scope` and
    `authorization_details` are then its Customer Consent equivalent."""

    def details(self) -> list[dict[str, Any]]:
        return parse_authorization_details(self.authorization_details)


@dataclass(frozen=True)
class Pending:
    request: AuthorizationRequest
    created: datetime


def details_text(details: list[dict[str, Any]]) -> str:
    """authorization_details as JSON text, decimals exact."""
    return dumps(details)


def open_pending(session: Session, settings: Settings, request: AuthorizationRequest) -> str:
    """Keep `request` until the Customer decides; returns its id."""
    value = new_secret()
    now = utcnow()
    session.add(
        PushedRequest(
            request_hash=_pending_hash(value),
            client_id=request.client_id,
            parameters={"pending": asdict(request)},
            created=now,
            expires_at=now + timedelta(minutes=settings.session_minutes),
        )
    )
    return value


def find_pending(session: Session, pending_id: str) -> Pending:
    """The pending request `pending_id` if it can still be answered, else `PendingGone`."""
    record = session.get(PushedRequest, _pending_hash(pending_id))
    if record is None:
        raise PendingGone("unknown")
    if record.used_at is not None:
        raise PendingGone("answered")
    if record.expires_at <= utcnow():
        raise PendingGone("expired")
    return _pending(record)


def take_pending(session: Session, pending_id: str) -> Pending:
    """Answer the pending request: returns it the first time only, else `PendingGone`."""
    now = utcnow()
    request_hash = _pending_hash(pending_id)
    won = session.execute(
        update(PushedRequest)
        .where(
            PushedRequest.request_hash == request_hash,
            PushedRequest.used_at.is_(None),
            PushedRequest.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        find_pending(session, pending_id)  # raises with the reason
    record = session.get_one(PushedRequest, request_hash, populate_existing=True)
    return _pending(record)


def grant_for_request(session: Session, grant_id: str, client: Client) -> Grant:
    """The Grant a `cds_grant_id` names, if this Client may ask for its authorization (§8.3-b)."""
    grant = session.get(Grant, grant_id)
    if grant is None or grant.client_id != client.client_id:
        raise AuthorizationRefused(
            "cds_grant_id_invalid_value", "cds_grant_id names no Grant of this client"
        )
    if grant.status != NEEDS_AUTHORIZATION:
        raise AuthorizationRefused(
            "cds_grant_id_invalid_value",
            f"the Grant is {grant.status}; only a Grant that needs authorization can be authorized",
        )
    return grant


def check_customer(session: Session, request: AuthorizationRequest, customer: Customer) -> Client:
    """The checks that need the logged-in Customer (CDS-WG3-01 §9.1.1); returns the Client."""
    client = session.get(Client, request.client_id)
    if client is None or client.status == "disabled":
        raise AuthorizationRefused("unauthorized_client", "this client object is disabled")
    if client.status == "sandbox" and not customer.is_test:
        raise AuthorizationRefused(
            "access_denied", "a sandbox client can be authorized only by a test customer"
        )
    if client.status != "sandbox" and customer.is_test:
        raise AuthorizationRefused(
            "access_denied", "a test customer can authorize only sandbox clients"
        )
    if request.grant_id is not None:
        grant = grant_for_request(session, request.grant_id, client)
        if grant.customer_id is not None and grant.customer_id != customer.id:
            raise AuthorizationRefused(
                "cds_grant_id_invalid_user", "the Grant was authorized by another customer"
            )
    return client


def approve(
    session: Session,
    settings: Settings,
    catalogue: Catalogue,
    request: AuthorizationRequest,
    customer: Customer,
    chosen: Sequence[Chosen],
    changes: Mapping[str, Change] | None = None,
) -> str:
    """Create (or, for `cds_grant_id`, update) the Grant with the resources the Customer chose
    (`chosen`, one per Selection Component, §9.2.3) and the Customer's `changes` to the request
    by scope id (CDS-WG3-01 §7.4.5), its Authorization Receipt (with the receipt email, §9.4)
    and a code; returns the redirect.

    Raises `AuthorizationRefused` when the request no longer holds for this Customer, and
    `ModificationRejected` when `changes` are not allowed (nothing is then written).
    """
    client = check_customer(session, request, customer)
    changes = {k: c for k, c in (changes or {}).items() if not c.empty}
    changed = False
    if request.grant_id is not None:
        if changes:
            raise ModificationRejected({FORM: "A renewal cannot be changed: approve or decline."})
        grant = session.get_one(Grant, request.grant_id)
        grant.customer_id = customer.id
        set_status(session, grant, "active")
        child_authorized(session, settings, grant)
    else:
        try:
            requested = resolve_request(
                catalogue,
                scope=request.scope,
                details=request.details(),
                allowed_scopes=set(client.scope.split()),
                settings=settings,
                now=utcnow(),
                purposes=usable_for(settings, catalogue, client),
            )
        except RequestRejected as error:
            raise AuthorizationRefused(error.error, error.description) from error
        if changes:
            asked, requested = requested, apply(catalogue, settings, requested, changes, utcnow())
            changed = requested != asked
        kept = for_grant(catalogue, requested)
        grant = create_grant(
            session,
            client_id=client.client_id,
            scope=kept.scope,
            authorization_details=kept.authorization_details,
            customer_id=customer.id,
            status="active",
            espi_scope=request.espi_scope,
        )
    grant.selections = [c.record() for c in chosen]
    issue_receipt(
        session,
        settings,
        catalogue,
        grant,
        client,
        customer,
        [c.summary() for c in chosen],
        changed_by_customer=changed,
    )
    code = issue_code(
        session,
        settings,
        client_id=client.client_id,
        grant_id=grant.grant_id,
        redirect_uri=request.redirect_uri,
        redirect_uri_given=request.redirect_uri_given,
        code_challenge=request.code_challenge,
    )
    return response_url(request.redirect_uri, {"code": code, "state": request.state})


def decline_url(request: AuthorizationRequest, description: str) -> str:
    """The redirect telling the Client the Customer declined (RFC 6749 §4.1.2.1)."""
    return error_url(request.redirect_uri, request.state, "access_denied", description)


def error_url(redirect_uri: str, state: str | None, error: str, description: str) -> str:
    """An error response to the Client's redirect_uri (RFC 6749 §4.1.2.1)."""
    return response_url(
        redirect_uri, {"error": error, "error_description": description, "state": state}
    )


def response_url(redirect_uri: str, parameters: Mapping[str, str | None]) -> str:
    """`redirect_uri` with `parameters` added to its query, keeping its own (RFC 6749 §3.1.2)."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in parameters.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def scope_ids(catalogue: Catalogue, scope: str, details: list[dict[str, Any]]) -> list[str]:
    """The scope ids a scope string and authorization_details entries name, in order."""
    found: list[str] = []
    for scope_id in scope.split():
        if scope_id not in found:
            found.append(scope_id)
    for entry in details:
        owner = catalogue.scope_for_type(str(entry.get("type")))
        scope_id = owner.id if owner is not None else str(entry.get("type"))
        if scope_id not in found:
            found.append(scope_id)
    return found


def described_scopes(
    catalogue: Catalogue, scope: str, details: list[dict[str, Any]]
) -> list[ScopeDescription]:
    """The Scope Descriptions of the scopes named, for showing to the Customer."""
    return [
        catalogue.scopes[s] for s in scope_ids(catalogue, scope, details) if s in catalogue.scopes
    ]


def _pending(record: PushedRequest) -> Pending:
    return Pending(AuthorizationRequest(**record.parameters["pending"]), record.created)


def _pending_hash(pending_id: str) -> str:
    return digest(PENDING_PREFIX + pending_id)
