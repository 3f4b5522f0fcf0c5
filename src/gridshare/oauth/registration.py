"""RFC 7591 Dynamic Client Registration, as CDS-WG1-02 §4 extends it.

`POST` a JSON object to the registration endpoint; the answer is `201 Created` (RFC 7591 §3.2.1;
the §12.3 example's 200 is a defect) with the `cds_client_admin` Client Object and its
`client_secret`. Refusals change nothing and are JSON errors: 415 for a body that is not
`application/json`, 413 above 64 KiB, 400 `invalid_request` for malformed JSON and 400
`invalid_client_metadata` for a registration we cannot accept (scopes, metadata, registration
fields). Like the metadata, the endpoint is public and takes no captcha (§11.2, §11.4), but each
remote address is rate limited (§11.3; 429 with Retry-After).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Response

from gridshare import urls
from gridshare.api.errors import OAuthError
from gridshare.grants.clients import InvalidClientMetadata, client_json, register
from gridshare.grants.scopes import load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth.bodies import json_object
from gridshare.oauth.rate_limit import per_address
from gridshare.oauth.responses import json_response

BODY_LIMIT: Final = 64 * 1024

router = APIRouter(tags=["OAuth 2.0"])


@router.post(
    urls.REGISTER,
    dependencies=[Depends(per_address("register"))],
    status_code=201,
    summary="Register a client (RFC 7591, CDS-WG1-02 §4)",
    response_class=Response,
)
def register_client(
    body: Annotated[dict[str, Any], Depends(json_object(BODY_LIMIT))],
    settings: SettingsDep,
    session: SessionDep,
) -> Response:
    try:
        registered = register(session, settings, load_catalogue(settings), body)
    except InvalidClientMetadata as error:
        session.rollback()
        raise OAuthError(error.error, error.description) from error
    session.commit()
    answer = client_json(settings, registered.admin_client)
    answer["client_secret"] = registered.admin_secret
    return json_response(answer, 201, {"Cache-Control": "no-store", "Pragma": "no-cache"})
