"""Client authentication at the token, PAR, introspection and revocation endpoints.

`client_secret_basic` (RFC 6749 §2.3.1): HTTP Basic with the form-urlencoded client id and secret.
The secret is checked against a credential of that client that has not expired
(CDS-WG1-02 §7.6: an expired secret is refused at once).

`caller_and_token` is the first step the introspection (RFC 7662 §2.1) and revocation (RFC 7009
§2.1) endpoints share: authenticate the caller, then find the named token among its registration's.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.api.errors import invalid_client, invalid_request
from gridshare.config import Settings
from gridshare.grants.secrets import digest, same
from gridshare.oauth.rate_limit import per_client
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client, Credential
from gridshare.store.tables.grants import Token


@dataclass(frozen=True)
class AuthenticatedClient:
    client: Client
    credential: Credential


def authenticate(session: Session, authorization: str | None) -> AuthenticatedClient:
    """The client named by an `Authorization: Basic ...` header, or `invalid_client` (401)."""
    if not authorization or not authorization.lower().startswith("basic "):
        raise invalid_client("authenticate with HTTP Basic: client_id and client_secret")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise invalid_client("the Basic credentials are not valid base64") from error
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise invalid_client("the Basic credentials must be client_id:client_secret")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    credential = session.scalars(
        select(Credential).where(Credential.secret_hash == digest(secret))
    ).first()
    now = utcnow()
    if (
        credential is None
        or not same(credential.client_id, client_id)
        or (credential.expires_at is not None and credential.expires_at <= now)
    ):
        raise invalid_client("unknown client, wrong secret, or an expired secret")
    client = session.get(Client, client_id)
    if client is None or client.status == "disabled":
        raise invalid_client("this client object is disabled")
    return AuthenticatedClient(client, credential)


def caller_and_token(
    request: Request,
    session: Session,
    settings: Settings,
    limiter: str,
    form: dict[str, str],
    authorization: str | None,
) -> tuple[Client, Token | None]:
    """The authenticated caller (counted against the `limiter` rate limit) and the token the form
    names (400 without one) when it is a token of a Client Object of the caller's registration;
    None for any other token, known or not."""
    caller = authenticate(session, authorization).client
    per_client(request, settings, limiter, caller.client_id)
    raw = form.get("token")
    if raw is None:
        raise invalid_request("token is required")
    token = session.get(Token, digest(raw))
    if token is None:
        return caller, None
    owner = session.get(Client, token.client_id)
    if owner is None or owner.registration_id != caller.registration_id:
        return caller, None
    return caller, token
