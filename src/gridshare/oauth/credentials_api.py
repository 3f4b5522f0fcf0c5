"""CDS-WG1-02 §7 Credentials API: list, retrieve, create and expire client secrets.

Every call needs a `cds_client_admin` token (§7); it sees the Credentials of the Client Objects of
its own registration and nothing else (another registration's Credential is 404).

The Credential object (§7.1) shows the secret itself (kept sealed, see `grants.secrets`) and
`client_secret_expires_at` as Unix seconds, 0 for never. Listing (§7.3): newest `modified` first,
paged with `api.pagination`; filters `credential_ids`, `client_ids` and `after`/`before` (RFC 3339
bounds on `created`, inclusive; `before` without fractional seconds includes its whole second, as
`created` is shown to the second).

Creating (§7.5): `POST {"client_id": ...}` for a Client Object of the registration that
authenticates at the token endpoint and is not disabled; 201 with the new Credential.

Modifying (§7.6): `PATCH` changes only `client_secret_expires_at`; other fields are ignored. The
new value lies between now and the current expiry (any time from now on, or 0, when the current
value is 0); "now" allows `CLOCK_SKEW` seconds for the client's clock. A value at or before now
expires the secret at once: the token endpoint refuses it and every token obtained with it is
revoked (§7.6), in the same transaction.

Every creation and change is a changelog Message (§7.3).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.bearer import ClientAdminDep
from gridshare.api.errors import invalid_request
from gridshare.api.pagination import CursorQuery, Order, created_between, paginate, where_listed
from gridshare.config import Settings
from gridshare.grants import tokens
from gridshare.grants.clients import DISABLED, new_credential
from gridshare.grants.messages import changelog
from gridshare.grants.secrets import Sealer
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth.bodies import json_object
from gridshare.oauth.responses import find_or_404, json_response, listing
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client, Credential
from gridshare.store.tables.grants import Token
from gridshare.timefmt import rfc3339

log = logging.getLogger(__name__)

router = APIRouter(tags=["CDS-WG1-02 Credentials API"])

BODY_LIMIT: Final = 16 * 1024
"""The largest POST or PATCH body (bytes)."""
CLOCK_SKEW: Final = 60
"""Seconds a new expiry may lie before the server's now and still count as "now" (§7.6)."""
LAST_SECOND: Final = 253402300799
"""9999-12-31T23:59:59Z: the latest expiry a datetime holds."""
ORDER: Final = Order(Credential.modified, Credential.credential_id)

Body = Annotated[dict[str, Any], Depends(json_object(BODY_LIMIT))]
ListQuery = Annotated[str | None, Query(description="A space-separated list (§7.3).")]
TimeQuery = Annotated[str | None, Query(description="An RFC 3339 datetime (§7.3).")]


@router.get(urls.CREDENTIALS, summary="List Credentials (CDS-WG1-02 §7.3)")
def list_credentials(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    admin: ClientAdminDep,
    credential_ids: ListQuery = None,
    client_ids: ListQuery = None,
    after: TimeQuery = None,
    before: TimeQuery = None,
    cursor: CursorQuery = None,
) -> Response:
    query = where_listed(
        _visible(admin.registration_id),
        (
            ("credential_ids", credential_ids, Credential.credential_id),
            ("client_ids", client_ids, Credential.client_id),
        ),
    )
    query = created_between(query, Credential.created, after, before, whole_second=True)
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    sealer = Sealer.from_settings(settings)
    return _json(
        listing("credentials", [credential_json(settings, sealer, c) for c in page.items], page)
    )


@router.get(urls.CREDENTIALS + "/{credential_id}", summary="Retrieve a Credential (§7.4)")
def get_credential(
    credential_id: str, settings: SettingsDep, session: SessionDep, admin: ClientAdminDep
) -> Response:
    credential = _find(session, admin.registration_id, credential_id)
    return _json(credential_json(settings, Sealer.from_settings(settings), credential))


@router.post(
    urls.CREDENTIALS,
    status_code=201,
    summary="Create a Credential (CDS-WG1-02 §7.5)",
    response_class=Response,
)
def create_credential(
    settings: SettingsDep, session: SessionDep, admin: ClientAdminDep, body: Body
) -> Response:
    client_id = body.get("client_id")
    if not isinstance(client_id, str):
        raise invalid_request("client_id is required: the Client Object to add a secret to")
    client = session.scalars(
        _clients(admin.registration_id).where(Client.client_id == client_id)
    ).first()
    if client is None:
        raise invalid_request(f"no Client Object {client_id!r} in this registration")
    if client.token_endpoint_auth_method is None:
        raise invalid_request(f"Client Object {client_id} does not use client secrets")
    if client.status == DISABLED:
        raise invalid_request(f"Client Object {client_id} is disabled; enable it first (§5.5)")
    credential, secret = new_credential(session, settings, client)
    session.flush()
    changelog(
        session,
        client.registration_id,
        "Credential created",
        f"A new client secret {credential.credential_id} was created for Client Object "
        f"{client_id}.",
        related_uri=credential_uri(settings, credential.credential_id),
        related_type="credential",
    )
    session.commit()
    log.info("credential %s created for client %s", credential.credential_id, client_id)
    return _json(_credential_body(settings, credential, secret), 201)


@router.patch(urls.CREDENTIALS + "/{credential_id}", summary="Modify a Credential (§7.6)")
def modify_credential(
    credential_id: str,
    settings: SettingsDep,
    session: SessionDep,
    admin: ClientAdminDep,
    body: Body,
) -> Response:
    credential = _find(session, admin.registration_id, credential_id, lock=True)
    if "client_secret_expires_at" in body:
        _set_expiry(
            session, settings, credential, admin.registration_id, body["client_secret_expires_at"]
        )
    session.commit()
    return _json(credential_json(settings, Sealer.from_settings(settings), credential))


def credential_json(settings: Settings, sealer: Sealer, credential: Credential) -> dict[str, Any]:
    """The §7.1 Credential object, its secret unsealed."""
    return _credential_body(settings, credential, sealer.open(credential.secret_sealed))


def credential_uri(settings: Settings, credential_id: str) -> str:
    """The Credential's `uri` (§7.1)."""
    return settings.url(f"{urls.CREDENTIALS}/{credential_id}")


def expires_at_seconds(credential: Credential) -> int:
    """`client_secret_expires_at`: Unix seconds, 0 when the secret never expires (§7.1)."""
    return 0 if credential.expires_at is None else int(credential.expires_at.timestamp())


def _set_expiry(
    session: Session,
    settings: Settings,
    credential: Credential,
    registration_id: str,
    value: Any,
) -> None:
    """§7.6: bring the expiry forward (never back, never off); at or before now it ends at once."""
    current = expires_at_seconds(credential)
    if type(value) is not int or not 0 <= value <= LAST_SECOND:
        raise invalid_request("client_secret_expires_at must be Unix seconds (0 for never)")
    if value == current:
        return
    now = utcnow()
    now_seconds = int(now.timestamp())
    if value == 0:
        raise invalid_request("client_secret_expires_at cannot be taken back to 0 (never)")
    if current != 0 and value > current:
        raise invalid_request(
            f"client_secret_expires_at can only be brought forward from {current}"
        )
    if value < now_seconds - CLOCK_SKEW:
        raise invalid_request(
            f"client_secret_expires_at lies in the past; use the current time ({now_seconds}) "
            "to expire the secret now"
        )
    credential.expires_at = datetime.fromtimestamp(value, UTC)
    credential.modified = now
    description = (
        f"Client secret {credential.credential_id} of Client Object {credential.client_id} "
        f"now expires at {rfc3339(credential.expires_at)}."
    )
    if value <= now_seconds:
        revoked = tokens.revoke_where(session, Token.credential_id == credential.credential_id, now)
        description = (
            f"Client secret {credential.credential_id} of Client Object {credential.client_id} "
            f"expired at {rfc3339(credential.expires_at)}: it no longer works at the token "
            f"endpoint and the {revoked} tokens obtained with it were revoked."
        )
        log.info("credential %s expired; %d tokens revoked", credential.credential_id, revoked)
    changelog(
        session,
        registration_id,
        "Credential modified",
        description,
        related_uri=credential_uri(settings, credential.credential_id),
        related_type="credential",
    )


def _credential_body(settings: Settings, credential: Credential, secret: str) -> dict[str, Any]:
    return {
        "credential_id": credential.credential_id,
        "uri": credential_uri(settings, credential.credential_id),
        "client_id": credential.client_id,
        "created": rfc3339(credential.created),
        "modified": rfc3339(credential.modified),
        "type": credential.type,
        "client_secret": secret,
        "client_secret_expires_at": expires_at_seconds(credential),
    }


def _clients(registration_id: str) -> Select[Client]:
    return select(Client).where(Client.registration_id == registration_id)


def _visible(registration_id: str) -> Select[Credential]:
    return (
        select(Credential)
        .join(Client, Client.client_id == Credential.client_id)
        .where(Client.registration_id == registration_id)
    )


def _find(
    session: Session, registration_id: str, credential_id: str, lock: bool = False
) -> Credential:
    return find_or_404(
        session,
        _visible(registration_id).where(Credential.credential_id == credential_id),
        f"no Credential {credential_id!r} in this registration; list them at {urls.CREDENTIALS}",
        lock=lock,
        of=Credential,
    )


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return json_response(body, status, {"Cache-Control": "no-store", "Pragma": "no-cache"})
