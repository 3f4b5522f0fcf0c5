"""RFC 7591 Dynamic Client Registration, as CDS-WG1-02 §4 extends it and as Green Button
Connect My Data uses it (NAESB REQ.21 ESPI FB 36 "Dynamic registration").

`POST` a JSON object to the registration endpoint; the answer is `201 Created` (RFC 7591 §3.2.1;
the §12.3 example's 200 is a defect). Refusals change nothing and are JSON errors: 415 for a body
that is not `application/json`, 413 above 64 KiB, 400 `invalid_request` for malformed JSON and 400
`invalid_client_metadata` for a registration we cannot accept (scopes, metadata, registration
fields). Like the metadata, the endpoint is public and takes no captcha (§11.2, §11.4), but each
remote address is rate limited (§11.3; 429 with Retry-After).

Which registration a body asks for is read from its `scope`:

- Green Button, when a term of `scope` holds `FB=` (a scope string such as
  `FB=1_3_4_5_13_14_15_39;IntervalDuration=900` has no spaces, so `scope` may list several; each
  must start with `FB=`). The body also gives `redirect_uris`, `client_name` and
  `third_party_notify_uri` (ESPI `thirdPartyNotifyUri`, https, where BatchList notifications are
  POSTed), optionally `software_id` and `software_version`. `grants.espi_clients.register` makes
  the third party in `sandbox`: only the sandbox test customers can authorize it. The answer holds
  the RFC 7591 §3.2.1 fields: `client_id`, `client_secret`, `client_id_issued_at`,
  `client_secret_expires_at` (0, never), `registration_access_token` and
  `registration_client_uri`, which is the third party's ESPI ApplicationInformation (the token
  GETs, PUTs and DELETEs it, FB 44), and the registered metadata. A bad redirect URI is 400
  `invalid_redirect_uri`; a scope mixing Green Button and CDS scopes, a bad scope string, a
  missing or non-https notification URI are 400 `invalid_client_metadata` naming the problem.
  Metadata Green Button does not use (grant types, auth method, logo, contacts...) is ignored:
  the server sets what ESPI allows (RFC 7591 §2, §3.2.1).
- CDS otherwise (`cds_client_admin` and other scopes of the catalogue): `grants.clients.register`
  makes the registration's Client Objects; the answer is the `cds_client_admin` Client Object with
  its `client_secret`.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.errors import OAuthError
from gridshare.config import Settings
from gridshare.grants import espi_clients
from gridshare.grants.clients import InvalidClientMetadata, client_json, register
from gridshare.grants.scopes import load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth.bodies import json_object
from gridshare.oauth.rate_limit import per_address
from gridshare.oauth.responses import json_response

BODY_LIMIT: Final = 64 * 1024
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GREEN_BUTTON: Final = "FB="
"""What a Green Button scope string starts with (its function blocks, DIGEST §7)."""

router = APIRouter(tags=["OAuth 2.0"])


@router.post(
    urls.REGISTER,
    dependencies=[Depends(per_address("register"))],
    status_code=201,
    summary="Register a client (RFC 7591, CDS-WG1-02 §4, Green Button FB 36)",
    response_class=Response,
)
def register_client(
    body: Annotated[dict[str, Any], Depends(json_object(BODY_LIMIT))],
    settings: SettingsDep,
    session: SessionDep,
) -> Response:
    scope = body.get("scope")
    if isinstance(scope, str) and any(GREEN_BUTTON in s for s in scope.split()):
        answer = _register_third_party(session, settings, body, scope.split())
    else:
        answer = _register_cds(session, settings, body)
    return json_response(answer, 201, NO_STORE)


def _register_cds(session: Session, settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    try:
        registered = register(session, settings, load_catalogue(settings), body)
    except InvalidClientMetadata as error:
        session.rollback()
        raise OAuthError(error.error, error.description) from error
    session.commit()
    answer = client_json(settings, registered.admin_client)
    answer["client_secret"] = registered.admin_secret
    return answer


# --- Green Button (ESPI FB 36) -----------------------------------------------------------------


def _register_third_party(
    session: Session, settings: Settings, body: dict[str, Any], scopes: list[str]
) -> dict[str, Any]:
    try:
        made = espi_clients.register(
            session,
            settings,
            load_catalogue(settings),
            name=_client_name(body),
            redirect_uris=_redirect_uris(settings, body.get("redirect_uris")),
            notify_uri=_notify_uri(settings, body.get("third_party_notify_uri")),
            scopes=_scope_strings(scopes),
            software_id=_text(body, "software_id") or espi_clients.UNSPECIFIED,
            software_version=_text(body, "software_version") or espi_clients.UNSPECIFIED,
            sandbox=True,
        )
    except espi_clients.ThirdPartyError as error:
        session.rollback()
        raise _invalid(str(error)) from error
    session.commit()
    client = made.client
    party = espi_clients.third_party(client)
    assert party is not None
    return {
        "client_id": client.client_id,
        "client_secret": made.client_secret,
        "client_id_issued_at": int(client.issued_at.timestamp()),
        "client_secret_expires_at": 0,
        "registration_access_token": made.registration_access_token,
        "registration_client_uri": espi_clients.application_uri(settings, client.client_id),
        "redirect_uris": list(client.redirect_uris),
        "client_name": client.client_name,
        "scope": " ".join(party.scopes),
        "grant_types": list(client.grant_types),
        "response_types": list(client.response_types),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "third_party_notify_uri": party.notify_uri,
        "software_id": party.software_id,
        "software_version": party.software_version,
    }


def _scope_strings(scopes: list[str]) -> list[str]:
    """The Green Button scope strings (each checked by `espi_clients.register`), in order."""
    others = [s for s in scopes if GREEN_BUTTON not in s]
    if others:
        raise _invalid(
            f"scope mixes Green Button scope strings with {', '.join(others)}: a Green Button "
            "third party registers with scope strings (FB=...) only; register a CDS client "
            "(cds_client_admin ...) separately"
        )
    misplaced = [s for s in scopes if not s.startswith(GREEN_BUTTON)]
    if misplaced:
        raise _invalid(
            f"scope {misplaced[0]!r}: a Green Button scope string starts with FB= "
            "(e.g. FB=1_3_4_5_13_14_15_39;IntervalDuration=900)"
        )
    return list(dict.fromkeys(scopes))


def _redirect_uris(settings: Settings, value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _invalid("redirect_uris must be a list of one or more https:// redirect URIs")
    for uri in value:
        if not isinstance(uri, str):
            raise OAuthError("invalid_redirect_uri", "each redirect URI must be a string")
        if "#" in uri:
            raise OAuthError(
                "invalid_redirect_uri", f"{uri!r} must not have a fragment (RFC 6749 §3.1.2)"
            )
        try:
            espi_clients.check_https(uri, settings)
        except espi_clients.ThirdPartyError as error:
            raise OAuthError("invalid_redirect_uri", f"redirect_uris: {error}") from error
    return list(dict.fromkeys(value))


def _notify_uri(settings: Settings, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(
            "third_party_notify_uri is required: the https:// URI where this server POSTs "
            "Green Button notifications (ESPI thirdPartyNotifyUri)"
        )
    try:
        espi_clients.check_https(value, settings)
    except espi_clients.ThirdPartyError as error:
        raise _invalid(f"third_party_notify_uri: {error}") from error
    return value


def _client_name(body: dict[str, Any]) -> str:
    name = _text(body, "client_name")
    if name is None or not name.strip():
        raise _invalid("client_name is required: the name customers see when they authorize")
    return name


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    return value


def _invalid(description: str) -> OAuthError:
    return OAuthError(InvalidClientMetadata.error, description)
