"""RFC 7662 OAuth 2.0 Token Introspection (CDS-WG1-02 §3.2 requires the endpoint).

The caller authenticates as a client (`client_secret_basic`, §2.1) and may introspect only tokens
issued to a Client Object of its own registration; any other token, and every unknown, revoked or
expired token, or one whose Grants give no access any more, is `{"active": false}` and nothing
more (§2.2, §4). An active token is described by `scope`, `client_id`, `token_type` (access tokens:
"Bearer"), `exp`, `iat`, `authorization_details` (RFC 9396 §9.2) and `cds_grant_ids`.
`token_type_hint` is accepted and not needed: both kinds are found by the token's hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, Request, Response
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.grants import tokens
from gridshare.grants.grants import apply_time
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth.client_auth import caller_and_token
from gridshare.oauth.form import Form, NoStoreRoute
from gridshare.oauth.rate_limit import per_address
from gridshare.oauth.responses import json_response
from gridshare.store.db import utcnow
from gridshare.store.tables.grants import Grant, Token

router = APIRouter(route_class=NoStoreRoute, tags=["oauth"])

LIMITER: Final = "introspect"

INACTIVE: Final = {"active": False}


@router.post(urls.INTROSPECT, dependencies=[Depends(per_address(LIMITER))])
def introspection_endpoint(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Form,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Describe a token to a client of its registration (RFC 7662 §2)."""
    _caller, token = caller_and_token(request, session, settings, LIMITER, form, authorization)
    body = describe(session, token)
    session.commit()
    return json_response(body, headers=None)


def describe(session: Session, token: Token | None) -> dict[str, Any]:
    """The introspection answer for `token`, a token of the caller's registration or None."""
    if token is None:
        return dict(INACTIVE)
    now = utcnow()
    for grant_id in token.grant_ids:
        grant = session.get(Grant, grant_id)
        if grant is not None:
            apply_time(session, grant, now)
    if not tokens.is_active(session, token, now):
        return dict(INACTIVE)
    body: dict[str, Any] = {"active": True, "scope": token.scope, "client_id": token.client_id}
    if token.kind != "refresh":
        body["token_type"] = "Bearer"
    if token.expires_at is not None:
        body["exp"] = _seconds(token.expires_at)
    body["iat"] = _seconds(token.created)
    body["authorization_details"] = token.authorization_details
    body["cds_grant_ids"] = token.grant_ids
    return body


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())
