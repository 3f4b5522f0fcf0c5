"""RFC 7009 OAuth 2.0 Token Revocation (CDS-WG1-02 §3.2 requires the endpoint).

The caller authenticates as a client (`client_secret_basic`) and names a token; the answer is
`200` with an empty body whether or not the token was known (§2.2), so the endpoint cannot be used
to probe for tokens. A token of a Client Object of the caller's own registration is revoked: an
access token alone, a refresh token with its whole family, i.e. every token descending from the
same authorization (§2.1). A token of another registration is left alone, with the same `200`.
`token_type_hint` is accepted and not needed: both kinds are found by the token's hash (§2.1 asks
the server to search beyond the hint anyway).
"""

from __future__ import annotations

import logging
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Header, Request, Response

from gridshare import urls
from gridshare.grants import tokens
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth.client_auth import caller_and_token
from gridshare.oauth.form import Form, NoStoreRoute
from gridshare.oauth.rate_limit import per_address

log = logging.getLogger(__name__)

router = APIRouter(route_class=NoStoreRoute, tags=["oauth"])

LIMITER: Final = "revoke"


@router.post(urls.REVOKE, dependencies=[Depends(per_address(LIMITER))])
def revocation_endpoint(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Form,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Revoke a token (RFC 7009 §2.1)."""
    caller, token = caller_and_token(request, session, settings, LIMITER, form, authorization)
    if token is not None:
        tokens.revoke(session, token)
        session.commit()
        log.info(
            "client %s revoked a %s token of %s", caller.client_id, token.kind, token.client_id
        )
    return Response(status_code=200)
