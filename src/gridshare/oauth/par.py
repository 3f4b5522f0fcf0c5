"""RFC 9126 Pushed Authorization Requests: the pushed authorization request endpoint (§2).

The client authenticates as at the token endpoint (`client_secret_basic`, §2) and posts the
authorization request form-encoded. The request gets every check the authorization endpoint makes
before login (`authorize.validate`), so a bad request is refused here with 400 and its error code
(§2.3) and nothing is stored. A `client_id` in the body must be the authenticated client's; a
`request_uri` in the body is refused (§2.1); client secrets in the body are never stored.

A valid request answers 201 with `request_uri` (256 random bits, stored hashed) and `expires_in`
(`settings.par_seconds`, §2.2); the authorization endpoint takes it once (§4). Parameters are kept
with all their values so that `cds_grant_id` rules (CDS-WG1-02 §8.3) apply to pushed requests too.

Request bodies follow the token endpoint's rules (`oauth.form`): only
`application/x-www-form-urlencoded` in UTF-8 (else 400 `invalid_request`), at most
`form.FORM_LIMIT` bytes (else 413). Requests are rate-limited per address and per client.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from gridshare import urls
from gridshare.api.errors import OAuthError, invalid_request
from gridshare.grants.pushed_requests import Parameters, push
from gridshare.grants.scopes import load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth.authorize import InvalidRequest, Refused, validate
from gridshare.oauth.client_auth import authenticate
from gridshare.oauth.form import MEDIA_TYPE, NoStoreRoute, read_pairs
from gridshare.oauth.rate_limit import per_address, per_client

router = APIRouter(tags=["OAuth"], route_class=NoStoreRoute)

NOT_KEPT: Final = frozenset({"client_secret", "client_assertion", "client_assertion_type"})
"""Client authentication parameters: never stored with the request."""


async def read_parameters(request: Request) -> Parameters:
    """The form body with every value of every parameter (400 or 413 when unreadable)."""
    media_type, *options = (request.headers.get("content-type") or "").split(";")
    charsets = [o.split("=", 1)[1].strip().strip('"').lower() for o in options if "=" in o]
    if media_type.strip().lower() != MEDIA_TYPE or any(
        c not in ("utf-8", "utf8") for c in charsets
    ):
        raise invalid_request(f"send the request as {MEDIA_TYPE} in UTF-8")
    parameters: Parameters = {}
    for name, value in await read_pairs(request):
        parameters.setdefault(name, []).append(value)
    return parameters


@router.post(
    urls.PAR,
    status_code=201,
    dependencies=[Depends(per_address("par"))],
    summary="Pushed authorization request (RFC 9126)",
)
def pushed_authorization_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    parameters: Annotated[Parameters, Depends(read_parameters)],
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    client = authenticate(session, authorization).client
    per_client(request, settings, "par", client.client_id)
    if parameters.get("client_id", [client.client_id]) != [client.client_id]:
        raise invalid_request("client_id must be the authenticated client's")
    kept = {name: values for name, values in parameters.items() if name not in NOT_KEPT}
    kept["client_id"] = [client.client_id]
    try:
        validate(session, settings, load_catalogue(settings), kept)
    except (InvalidRequest, Refused) as error:
        raise OAuthError(error.error, error.description) from error
    request_uri = push(session, settings, client_id=client.client_id, parameters=kept)
    session.commit()
    return JSONResponse(
        {"request_uri": request_uri, "expires_in": settings.par_seconds}, status_code=201
    )
