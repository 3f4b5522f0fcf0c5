"""RFC 6749 Token Endpoint (§3.2, §4.1.3, §4.4, §5, §6) with CDS-WG1-02 §3.3.2 Grant Admin tokens.

Every request is form-encoded (`oauth.form`), counted per remote address and per client
(CDS-WG1-02 §11.3), authenticated with `client_secret_basic`, and answered with no-store headers.
Every token is bound to a Grant (CDS-WG1-02 §8), whose id the answer lists in `cds_grant_ids`
(CDS-WG3-01 cites this as "Grants in Token Responses"), and records the credential that obtained
it, so expiring that credential ends it (CDS-WG1-02 §7.6).

- `client_credentials` (§4.4): the scope and `authorization_details` are resolved against the
  scope catalogue and the Client Object's registered scopes; every scope must allow the grant type.
  The token is bound to a server-created Grant for this client and this request, reused while it
  gives access (a Grant the Server has disabled or suspended is not bypassed by asking again; one
  the client closed, or one that expired, is replaced by a new Grant). Relative dates resolve at
  the first request for that Grant (CDS-WG1-02 §3.9). Direct Access scopes (CDS-WG3-01 §6.2)
  reach Customer Data without consent, so only a `production` Client Object obtains them; their
  preselection fields stay in the Grant and limit its access.
- Aggregated usage (CDS-WG3-01 §4.11, §4.12, §12.3): a new Grant whose Usage Query names
  `aggregation_numbers` starts `pending`; if every named Aggregation has at least
  `GRIDSHARE_AGGREGATION_MINIMUM_CUSTOMERS` distinct Customers it becomes `active`, otherwise it
  becomes `needs_sub_grants` with one `needs_authorization` child Grant per member Customer for
  the registration's Client Object that has the Aggregation Inclusion scope
  (`grants.aggregates`); a registration without one is refused (`invalid_scope`).
- Grant Admin (CDS-WG1-02 §3.3.2): `client_credentials` with a `cds_grant_admin` scope and one
  `authorization_details` entry naming a Client Object of the same registration and its Grant. The
  token reaches that Grant's enabled access (its scope and `grant_ids` are the Grant's); the answer
  echoes the Grant Admin scope and entry, as the spec's examples do.
- `authorization_code` (§4.1.3, RFC 7636): the code is single use; a second use is refused and
  revokes every token issued from it (§4.1.2, §10.5). PKCE S256 is required (except of a Green
  Button third party that sent no challenge), `redirect_uri` must repeat the authorization
  request's.
- Green Button third parties (`oauth.espi_token`): `client_credentials` gives a
  client_access_token; answers add `resourceURI` and `authorizationURI`; a refresh ends the access
  tokens issued before it.
- `refresh_token` (§6): refresh tokens rotate; a rotated one presented again revokes its whole
  family (every token descending from the same code). The new tokens carry the Grant's access as
  it is now (narrowed by `scope` if given, never beyond what the Grant authorized).

Access tokens never outlive their Grant's `not_after` / `expires`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, NoReturn

from fastapi import APIRouter, Depends, Header, Request, Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.errors import OAuthError, invalid_client, invalid_request
from gridshare.config import Settings
from gridshare.grants import aggregates, direct_scopes, tokens
from gridshare.grants.authorization_details import (
    Requested,
    RequestRejected,
    parse_authorization_details,
    resolve_request,
)
from gridshare.grants.clients import PRODUCTION
from gridshare.grants.codes import CodeError, CodeReused, redeem_code
from gridshare.grants.espi_clients import CUSTOMER_ACCESS, third_party
from gridshare.grants.grants import (
    access_ends,
    apply_time,
    create_grant,
    gives_access,
)
from gridshare.grants.purposes import usable_for
from gridshare.grants.scopes import GRANT_ADMIN_TYPE, Catalogue, load_catalogue
from gridshare.grants.secrets import digest, new_id, same
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth import espi_token, pkce
from gridshare.oauth.client_auth import authenticate
from gridshare.oauth.form import Form, NoStoreRoute
from gridshare.oauth.rate_limit import per_address, per_client
from gridshare.oauth.responses import json_response
from gridshare.store.db import utcnow
from gridshare.store.jsontext import to_bytes
from gridshare.store.tables.clients import Client, Credential
from gridshare.store.tables.grants import AuthorizationCode, Grant, Token

log = logging.getLogger(__name__)

router = APIRouter(route_class=NoStoreRoute, tags=["oauth"])

LIMITER: Final = "token"

REPLACEABLE: Final = frozenset({"closed", "expired"})
"""Statuses of a client_credentials Grant after which asking again creates a new Grant."""
WAITING: Final = frozenset({"pending", "needs_sub_grants"})
"""Statuses of a client_credentials Grant that will give access later: asking again gets a
token bound to it (which reaches what it enables now)."""


@dataclass(frozen=True)
class TokenRequest:
    """One authenticated token request."""

    session: Session
    settings: Settings
    client: Client
    credential: Credential
    form: dict[str, str]
    now: datetime


@router.post(urls.TOKEN, dependencies=[Depends(per_address(LIMITER))])
def token_endpoint(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Form,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Issue tokens (RFC 6749 §3.2)."""
    authenticated = authenticate(session, authorization)
    client = authenticated.client
    if "client_secret" in form:
        raise invalid_request("authenticate with HTTP Basic only, not also with client_secret")
    if "client_id" in form and not same(form["client_id"], client.client_id):
        raise invalid_client("client_id is not the authenticated client")
    per_client(request, settings, LIMITER, client.client_id)
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise invalid_request("grant_type is required")
    flow = FLOWS.get(grant_type)
    if flow is None:
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
    if grant_type not in client.grant_types:
        raise OAuthError(
            "unauthorized_client", f"this Client Object may not use the {grant_type} grant type"
        )
    body = flow(TokenRequest(session, settings, client, authenticated.credential, form, utcnow()))
    session.commit()
    return json_response(body, headers=None)


# --- client_credentials (RFC 6749 §4.4) and Grant Admin (CDS-WG1-02 §3.3.2) ----------------------


def client_credentials(req: TokenRequest) -> dict[str, Any]:
    party = third_party(req.client)
    if party is not None:
        return espi_token.client_access(
            req.session, req.settings, req.client, party, req.credential, req.form, req.now
        )
    catalogue = load_catalogue(req.settings)
    details = _parsed_details(req.form.get("authorization_details"))
    scope = req.form.get("scope")
    if scope is None and not details:
        scope = req.client.scope  # the pre-defined default of RFC 6749 §3.3
    admin_scope = _grant_admin_scope(catalogue, scope, details)
    if admin_scope is not None:
        return _grant_admin(req, catalogue, admin_scope, scope, details)
    requested = _resolve(req, catalogue, scope, details, req.now)
    for scope_id in requested.scopes:
        if "client_credentials" not in catalogue.scopes[scope_id].grant_types_supported:
            raise OAuthError(
                "invalid_scope", f"scope {scope_id} cannot be obtained with client_credentials"
            )
    _check_direct_access(req, catalogue, requested)
    grant = _client_grant(req, catalogue, scope, details, requested)
    granted = _enabled(grant)
    access, expires_in = _issue(req, "access", grant, granted)
    return _answer(access, expires_in, granted, [grant.grant_id])


def _check_direct_access(req: TokenRequest, catalogue: Catalogue, requested: Requested) -> None:
    """CDS-WG3-01 §6.2 direct access reaches Customer Data without consent: only a `production`
    Client Object (one the utility's staff approved, `grants.direct_scopes`) obtains it."""
    direct = [s for s in requested.scopes if direct_scopes.is_direct(catalogue.scopes[s])]
    if direct and req.client.status != PRODUCTION:
        raise OAuthError(
            "unauthorized_client",
            f"scope {' '.join(direct)} gives direct access to Customer Data: this "
            f"{req.client.status} Client Object may use it once the utility approved it for "
            "production (ask with a production_request Message)",
        )


def _grant_admin_scope(
    catalogue: Catalogue, scope: str | None, details: list[dict[str, Any]]
) -> str | None:
    """The Grant Admin scope asked for, if any (then it must be the only scope asked for)."""
    named = set((scope or "").split())
    for entry in details:
        owner = catalogue.scope_for_type(entry["type"])
        if owner is not None:
            named.add(owner.id)
    admins = {
        s for s in named if (d := catalogue.get(s)) is not None and d.type == GRANT_ADMIN_TYPE
    }
    if not admins:
        return None
    if len(named) > 1:
        raise OAuthError(
            "invalid_scope", "ask for one Grant Admin scope alone, without other scopes"
        )
    return admins.pop()


def _grant_admin(
    req: TokenRequest,
    catalogue: Catalogue,
    admin_scope: str,
    scope: str | None,
    details: list[dict[str, Any]],
) -> dict[str, Any]:
    requested = _resolve(req, catalogue, scope, details, req.now)
    if len(details) != 1 or len(requested.authorization_details) != 1:
        raise _invalid_details(
            f"a {admin_scope} request carries exactly one authorization_details entry "
            f'{{"type": "{admin_scope}", "client_id": ..., "grant_id": ...}}'
        )
    entry = requested.authorization_details[0]
    grant = _administered_grant(req, entry["client_id"], entry["grant_id"])
    if not gives_access(req.session, grant, req.now):
        raise OAuthError(
            "invalid_grant", f"Grant {grant.grant_id} gives no access (status {grant.status})"
        )
    outside = [
        scope_id
        for scope_id in grant.enabled_scope.split()
        if (described := catalogue.get(scope_id)) is None
        or described.grant_admin_scope != admin_scope
    ]
    if outside:
        raise _invalid_details(
            f"Grant {grant.grant_id} has scope {' '.join(outside)}, which {admin_scope} "
            "does not administer"
        )
    access, expires_in = _issue(req, "access", grant, _enabled(grant))
    return _answer(access, expires_in, requested, [grant.grant_id])


def _administered_grant(req: TokenRequest, client_id: str, grant_id: str) -> Grant:
    """The Grant named by a Grant Admin entry, if it belongs to that Client Object of the same
    registration; one error for every other case, so other registrations' ids stay unknown."""
    named = req.session.get(Client, client_id)
    grant = req.session.get(Grant, grant_id)
    if (
        named is None
        or named.registration_id != req.client.registration_id
        or grant is None
        or grant.client_id != named.client_id
    ):
        raise _invalid_details(
            f"there is no Grant {grant_id} of Client Object {client_id} in your registration"
        )
    return grant


def _client_grant(
    req: TokenRequest,
    catalogue: Catalogue,
    scope: str | None,
    details: list[dict[str, Any]],
    requested: Requested,
) -> Grant:
    """The client_credentials Grant for this request: reused, or created (module docstring)."""
    candidates = req.session.scalars(
        select(Grant)
        .where(
            Grant.client_id == req.client.client_id,
            Grant.customer_id.is_(None),
            Grant.parent_id.is_(None),
            Grant.scope == requested.scope,
        )
        .order_by(Grant.created.desc(), Grant.grant_id)
    ).all()
    for grant in candidates:
        if not _same_request(req, catalogue, scope, details, grant, requested):
            continue
        if gives_access(req.session, grant, req.now) or grant.status in WAITING:
            return grant
        if grant.status not in REPLACEABLE:
            raise OAuthError(
                "invalid_grant",
                f"the Server has set this access (Grant {grant.grant_id}) to {grant.status}",
            )
    numbers = aggregates.usage_query_numbers(catalogue, requested.authorization_details)
    if not numbers:
        return create_grant(
            req.session,
            client_id=req.client.client_id,
            scope=requested.scope,
            authorization_details=requested.authorization_details,
        )
    try:
        return aggregates.usage_query_grant(
            req.session,
            req.settings,
            catalogue,
            req.client,
            requested.scope,
            requested.authorization_details,
            numbers,
        )
    except aggregates.NoInclusionClient as error:
        raise OAuthError("invalid_scope", str(error)) from error


def _same_request(
    req: TokenRequest,
    catalogue: Catalogue,
    scope: str | None,
    details: list[dict[str, Any]],
    grant: Grant,
    requested: Requested,
) -> bool:
    """Whether `grant` was created for this very request (relative dates as of its creation)."""
    if _canonical(grant.authorization_details) == _canonical(requested.authorization_details):
        return True
    try:
        then = _resolve(req, catalogue, scope, details, grant.created)
    except OAuthError:
        return False
    return _canonical(grant.authorization_details) == _canonical(then.authorization_details)


# --- authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.5-§4.6) ------------------------------------


def authorization_code(req: TokenRequest) -> dict[str, Any]:
    raw = req.form.get("code")
    if raw is None:
        raise invalid_request("code is required")
    stored = req.session.get(AuthorizationCode, digest(raw))
    if stored is not None and stored.client_id != req.client.client_id:
        raise _invalid_grant("the authorization code is unknown")
    try:
        code = redeem_code(req.session, raw)
    except CodeReused as reused:
        revoked = tokens.revoke_where(req.session, Token.code_hash == reused.code.code_hash)
        req.session.commit()
        log.warning(
            "authorization code for grant %s presented again by client %s: %d tokens revoked",
            reused.code.grant_id,
            req.client.client_id,
            revoked,
        )
        raise _invalid_grant(
            f"{reused.description}; every token issued from it is revoked"
        ) from reused
    except CodeError as error:
        raise _invalid_grant(error.description) from error
    try:
        grant = _redeemed_grant(req, code)
    except OAuthError:
        req.session.commit()  # the code stays spent
        raise
    granted = _enabled(grant)
    family = new_id("f")
    access, expires_in = _issue(req, "access", grant, granted, family, code.code_hash)
    refresh = None
    if "refresh_token" in req.client.grant_types:
        refresh, _ = _issue(req, "refresh", grant, granted, family, code.code_hash)
    return _espi_fields(req, grant, _answer(access, expires_in, granted, [grant.grant_id], refresh))


def _redeemed_grant(req: TokenRequest, code: AuthorizationCode) -> Grant:
    """The code's Grant, once the request matches the code (client, redirect_uri, verifier)."""
    if code.client_id != req.client.client_id:
        raise _invalid_grant("the authorization code is unknown")
    redirect_uri = req.form.get("redirect_uri")
    if (code.redirect_uri_given or redirect_uri is not None) and (
        redirect_uri is None or not same(redirect_uri, code.redirect_uri)
    ):
        raise _invalid_grant("redirect_uri must be the one of the authorization request")
    espi_without_pkce = code.code_challenge == "" and third_party(req.client) is not None
    if not espi_without_pkce and not pkce.verify(
        req.form.get("code_verifier"), code.code_challenge
    ):
        raise _invalid_grant("code_verifier is missing or does not match the code_challenge (S256)")
    grant = req.session.get(Grant, code.grant_id)
    if grant is None or not gives_access(req.session, grant, req.now):
        raise _invalid_grant("the authorization of this code gives no access any more")
    return grant


# --- refresh_token (RFC 6749 §6, §10.4) ----------------------------------------------------------


def refresh_token(req: TokenRequest) -> dict[str, Any]:
    raw = req.form.get("refresh_token")
    if raw is None:
        raise invalid_request("refresh_token is required")
    old = req.session.get(Token, digest(raw))
    if old is None or old.kind != "refresh" or old.client_id != req.client.client_id:
        raise _invalid_grant("the refresh token is unknown")
    if old.revoked_at is not None:
        _reused(req, old)
    grants = [g for g in (req.session.get(Grant, gid) for gid in old.grant_ids) if g is not None]
    for grant in grants:
        apply_time(req.session, grant, req.now)
    if len(grants) != 1 or not tokens.is_active(req.session, old, req.now):
        raise _invalid_grant("the refresh token has expired, or its access has ended")
    grant = grants[0]
    if grant.espi_scope is not None and req.form.get("scope", grant.espi_scope) == grant.espi_scope:
        granted = _enabled(grant)  # a Green Button refresh repeats its scope string or none
    else:
        granted = _narrowed(req, grant)
    rotated = req.session.execute(
        update(Token)
        .where(Token.token_hash == old.token_hash, Token.revoked_at.is_(None))
        .values(revoked_at=req.now)
        .execution_options(synchronize_session=False)
    )
    if rotated.rowcount != 1:  # type: ignore[attr-defined]
        _reused(req, old)  # a concurrent request rotated it first
    if grant.espi_scope is not None:
        # Green Button: a refresh ends the access tokens issued before it (DIGEST §15).
        tokens.revoke_where(
            req.session, (Token.family == old.family) & (Token.kind == CUSTOMER_ACCESS), req.now
        )
    access, expires_in = _issue(req, "access", grant, granted, old.family, old.code_hash)
    refresh, _ = _issue(req, "refresh", grant, granted, old.family, old.code_hash)
    return _espi_fields(req, grant, _answer(access, expires_in, granted, [grant.grant_id], refresh))


def _reused(req: TokenRequest, old: Token) -> NoReturn:
    """A rotated or revoked refresh token came back: end its whole family (RFC 6749 §10.4)."""
    revoked = tokens.revoke_where(req.session, Token.family == old.family)
    req.session.commit()
    log.warning(
        "refresh token of family %s presented again by client %s: %d tokens revoked",
        old.family,
        req.client.client_id,
        revoked,
    )
    raise _invalid_grant("the refresh token was already used or revoked; its family is revoked")


def _narrowed(req: TokenRequest, grant: Grant) -> Requested:
    """The Grant's current access, narrowed to `scope` if asked; never beyond what the Grant's
    authorization covers (RFC 6749 §6)."""
    enabled = grant.enabled_scope.split()
    asked = req.form.get("scope", grant.enabled_scope).split()
    beyond = [s for s in asked if s not in grant.scope.split()]
    if beyond:
        raise OAuthError("invalid_scope", f"scope {' '.join(beyond)} was never granted")
    scopes = [s for s in enabled if s in asked]
    if not scopes:
        raise OAuthError("invalid_scope", "none of the asked scopes is enabled on the Grant now")
    catalogue = load_catalogue(req.settings)
    details = []
    for entry in grant.enabled_authorization_details:
        owner = catalogue.scope_for_type(entry.get("type", "")) if isinstance(entry, dict) else None
        if owner is not None and owner.id in scopes:
            details.append(entry)
    return Requested(" ".join(scopes), details)


FLOWS: Final = {
    "client_credentials": client_credentials,
    "authorization_code": authorization_code,
    "refresh_token": refresh_token,
}


# --- shared steps --------------------------------------------------------------------------------


def _parsed_details(raw: str | None) -> list[dict[str, Any]]:
    try:
        return parse_authorization_details(raw)
    except RequestRejected as error:
        raise OAuthError(error.error, error.description) from error


def _resolve(
    req: TokenRequest,
    catalogue: Catalogue,
    scope: str | None,
    details: list[dict[str, Any]],
    now: datetime,
) -> Requested:
    try:
        return resolve_request(
            catalogue,
            scope=scope,
            details=details,
            allowed_scopes=set(req.client.scope.split()),
            settings=req.settings,
            now=now,
            purposes=usable_for(req.settings, catalogue, req.client),
        )
    except RequestRejected as error:
        raise OAuthError(error.error, error.description) from error


def _issue(
    req: TokenRequest,
    kind: str,
    grant: Grant,
    granted: Requested,
    family: str | None = None,
    code_hash: str | None = None,
) -> tuple[tokens.Issued, int]:
    """A token of `kind` bound to `grant`, expiring no later than the Grant's access."""
    if kind == "access":
        lifetime = timedelta(seconds=req.settings.access_token_seconds)
        if grant.espi_scope is not None:
            kind = CUSTOMER_ACCESS  # a Green Button token reads the Green Button API only
    else:
        lifetime = timedelta(days=req.settings.refresh_token_days)
    ends = access_ends(grant)
    if ends is not None:
        lifetime = min(lifetime, ends - req.now)
    issued = tokens.issue(
        req.session,
        kind=kind,
        client_id=req.client.client_id,
        scope=granted.scope,
        lifetime=lifetime,
        credential_id=req.credential.credential_id,
        grant_ids=[grant.grant_id],
        authorization_details=granted.authorization_details,
        family=family,
        code_hash=code_hash,
    )
    return issued, max(1, int(lifetime.total_seconds()))


def _answer(
    access: tokens.Issued,
    expires_in: int,
    shown: Requested,
    grant_ids: list[str],
    refresh: tokens.Issued | None = None,
) -> dict[str, Any]:
    """The successful response (RFC 6749 §5.1, RFC 9396 §7) plus `cds_grant_ids`."""
    body: dict[str, Any] = {
        "access_token": access.value,
        "token_type": "Bearer",
        "expires_in": expires_in,
    }
    if refresh is not None:
        body["refresh_token"] = refresh.value
    body["scope"] = shown.scope
    if shown.authorization_details:
        body["authorization_details"] = shown.authorization_details
    body["cds_grant_ids"] = grant_ids
    return body


def _espi_fields(req: TokenRequest, grant: Grant, body: dict[str, Any]) -> dict[str, Any]:
    """A Green Button authorization's answer adds its scope string and URIs (`espi_token`)."""
    if grant.espi_scope is None:
        return body
    return {**body, **espi_token.subscription_fields(req.settings, grant)}


def _enabled(grant: Grant) -> Requested:
    """The access a Grant gives now."""
    return Requested(grant.enabled_scope, list(grant.enabled_authorization_details))


def _canonical(details: list[Any]) -> bytes:
    return to_bytes(details, sort_keys=True)


def _invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def _invalid_details(description: str) -> OAuthError:
    return OAuthError("invalid_authorization_details", description)
