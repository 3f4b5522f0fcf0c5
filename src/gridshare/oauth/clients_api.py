"""CDS-WG1-02 §5.3-§5.5 Clients API: list, retrieve and update a registration's Client Objects.

Every call needs a `cds_client_admin` token (§5); it sees the Client Objects of its own
registration and nothing else (another registration's object is 404, as if it did not exist).

Listing (§5.3): newest `cds_modified` first, paged with `api.pagination`, filter `client_ids`.

Updating (§5.5) is RFC 7592 §2.2: `PUT` the whole object to its `cds_client_uri`.
- Modifiable: redirect_uris, client_name, client_uri, logo_uri, scope, contacts, tos_uri,
  policy_uri, cds_status (one of cds_status_options), cds_default_scope, cds_default_redirect_uri,
  cds_default_authorization_details. A modifiable field left out goes back to its server default
  (§5.5): no name, URIs or contacts; the server-hosted default redirect URI; cds_default_scope =
  the scope; no default authorization details; cds_status = the object's working status. `scope`
  is the exception: left out, it stays as it is (an object's default scope is the one the server
  gave it, and resetting it could only re-add scopes under review).
- Every other field of the object is read-only: sent, it must hold its current value, or the PUT
  is refused (400) with nothing changed. `cds_modified` is not compared (it moves on every update,
  so an object read before another update stays usable); `client_secret` must be a current secret
  of the object and `client_secret_expires_at` the expiry of one of them. Fields that are not part
  of the object are ignored (RFC 7591 §2).
- Validation: redirect URIs are absolute `https` URLs (`http` only on localhost, 127.0.0.1 or
  [::1]; the server-hosted default is always allowed) without fragments, and only objects with
  `response_types` have them; the default redirect URI is one of them; the default scope is part
  of the scope; default authorization details pass `resolve_request` for the default scope;
  scopes come from the catalogue and fit the object (same response types, grant types and token
  endpoint auth method; Grant Admin and `cds_client_admin` scopes cannot be added or removed;
  required registration fields must have been given at registration).
- Review: adding scopes to an object that may reach production (or scopes whose description asks
  for an internal review) is not applied at once: the answer is 202 with `scope` (and a default
  scope or default authorization details that need the new scopes) at their previous values, and
  a pending `field_changes` Message lists them. Everything else applies at once (200).
- `cds_purposes` (CDS-WG3-01 §8.2, `grants.purposes.modified`): the server's default Purposes
  cannot be changed or removed (entries under their ids are ignored); an entry under a known id
  replaces that Purpose's name, content and links (`id` and `scopes_supported` are the server's);
  an entry under any other key is a new Purpose with a server-made id; a Purpose of the Client's
  own that is left out is removed (so is every one when the field is left out or null). Purposes
  apply at once, without review: the authorization form marks them as written by the Client
  (CDS-WG3-01 §9.2.2.4) and the receipt email never carries them (§9.4). Only objects with
  `response_types` have Purposes.
- Disabling an object expires its secrets at that moment (§7.1) and revokes its tokens.
Every applied change is a changelog Message (§5.3).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.bearer import ClientAdminDep
from gridshare.api.errors import OAuthError
from gridshare.api.pagination import CursorQuery, Order, paginate, where_listed
from gridshare.config import Settings
from gridshare.grants import purposes, tokens
from gridshare.grants.authorization_details import RequestRejected, resolve_request
from gridshare.grants.clients import (
    DISABLED,
    PRODUCTION,
    InvalidClientMetadata,
    client_json,
    client_metadata,
    client_uri,
    default_redirect_uri,
)
from gridshare.grants.messages import changelog, create_message
from gridshare.grants.scopes import CLIENT_ADMIN, GRANT_ADMIN_TYPE, Catalogue, load_catalogue
from gridshare.grants.secrets import digest
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth.bodies import json_object
from gridshare.oauth.responses import find_or_404, json_response, listing
from gridshare.store.db import utcnow
from gridshare.store.jsontext import to_bytes
from gridshare.store.tables.clients import Client, Credential, Registration
from gridshare.store.tables.grants import Token

log = logging.getLogger(__name__)

router = APIRouter(tags=["CDS-WG1-02 Clients API"])

PUT_LIMIT: Final = 256 * 1024
"""The largest PUT body (bytes)."""
MAX_REDIRECT_URIS: Final = 20
MAX_URI: Final = 500
ORDER: Final = Order(Client.modified, Client.client_id)
MODIFIABLE: Final = (
    "redirect_uris",
    "client_name",
    "client_uri",
    "logo_uri",
    "scope",
    "contacts",
    "tos_uri",
    "policy_uri",
    "cds_status",
    "cds_default_scope",
    "cds_default_redirect_uri",
    "cds_default_authorization_details",
    "cds_purposes",
)
"""§5.5 (and CDS-WG3-01 §8.2): fields a Client may change."""
METADATA: Final = ("client_name", "client_uri", "logo_uri", "tos_uri", "policy_uri", "contacts")
INTERACTIVE_DEFAULTS: Final = (
    "cds_default_scope",
    "cds_default_redirect_uri",
    "cds_default_authorization_details",
)
LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})

PutBody = Annotated[dict[str, Any], Depends(json_object(PUT_LIMIT))]
IdsQuery = Annotated[
    str | None, Query(description="Space-separated client_id values: list only these (§5.3).")
]


@router.get(urls.CLIENTS, summary="List Client Objects (CDS-WG1-02 §5.3)")
def list_clients(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    admin: ClientAdminDep,
    client_ids: IdsQuery = None,
    cursor: CursorQuery = None,
) -> Response:
    query = where_listed(
        _visible(admin.registration_id), (("client_ids", client_ids, Client.client_id),)
    )
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    return _json(listing("clients", [client_json(settings, client) for client in page.items], page))


@router.get(urls.CLIENTS + "/{client_id}", summary="Retrieve a Client Object (CDS-WG1-02 §5.4)")
def get_client(
    client_id: str, settings: SettingsDep, session: SessionDep, admin: ClientAdminDep
) -> Response:
    return _json(client_json(settings, _find(session, admin.registration_id, client_id)))


@router.put(urls.CLIENTS + "/{client_id}", summary="Update a Client Object (CDS-WG1-02 §5.5)")
def update_client(
    client_id: str,
    settings: SettingsDep,
    session: SessionDep,
    admin: ClientAdminDep,
    body: PutBody,
) -> Response:
    client = _find(session, admin.registration_id, client_id, lock=True)
    catalogue = load_catalogue(settings)
    try:
        _check_read_only(session, settings, catalogue, client, body)
        wanted = _requested(session, settings, catalogue, client, body)
    except InvalidClientMetadata as error:
        session.rollback()
        raise OAuthError(error.error, error.description) from error
    except InvalidRedirectUri as error:
        session.rollback()
        raise OAuthError("invalid_redirect_uri", str(error)) from error
    held = _held_for_review(settings, catalogue, client, wanted)
    changed = _apply(session, client, {k: v for k, v in wanted.items() if k not in held})
    if changed:
        _record_changes(session, settings, client, changed)
    if held:
        _ask_for_review(session, settings, client, held)
    session.commit()
    return _json(client_json(settings, client), 202 if held else 200)


class InvalidRedirectUri(ValueError):
    """RFC 7591 §3.2.2 `invalid_redirect_uri`."""


# --- read-only fields --------------------------------------------------------------------------


def _check_read_only(
    session: Session,
    settings: Settings,
    catalogue: Catalogue,
    client: Client,
    body: Mapping[str, Any],
) -> None:
    current = client_json(settings, client)
    for name, value in body.items():
        if name in MODIFIABLE or name == "cds_modified":
            continue
        if name == "client_secret":
            _check_secret(session, client, value)
        elif name == "client_secret_expires_at":
            _check_secret_expiry(session, client, value)
        elif name == "authorization_details_types":
            requested = _given(body, "scope", client.scope)
            derived = _details_types(catalogue, requested) if isinstance(requested, str) else []
            if not (_same(value, current[name]) or _same(value, derived)):
                raise InvalidClientMetadata(
                    "authorization_details_types follows the scope: "
                    f"{' '.join(current[name]) or '(none)'} now (§5.5)"
                )
        elif name in current and not _same(value, current[name]):
            raise InvalidClientMetadata(
                f"{name} cannot be changed (§5.5); send its current value or leave it out"
            )


def _check_secret(session: Session, client: Client, value: Any) -> None:
    found = isinstance(value, str) and session.scalar(
        select(Credential.credential_id).where(
            Credential.client_id == client.client_id, Credential.secret_hash == digest(value)
        )
    )
    if not found:
        raise InvalidClientMetadata(
            "client_secret is not a secret of this Client Object; manage secrets with the "
            "Credentials API (§5.5)"
        )


def _check_secret_expiry(session: Session, client: Client, value: Any) -> None:
    expiries = session.scalars(
        select(Credential.expires_at).where(Credential.client_id == client.client_id)
    )
    current = {0 if moment is None else int(moment.timestamp()) for moment in expiries}
    if isinstance(value, bool) or value not in current:
        raise InvalidClientMetadata(
            "client_secret_expires_at is managed with the Credentials API (§5.5)"
        )


# --- the values asked for ----------------------------------------------------------------------


def _requested(
    session: Session,
    settings: Settings,
    catalogue: Catalogue,
    client: Client,
    body: Mapping[str, Any],
) -> dict[str, Any]:
    """Every modifiable value by Client column, as sent or at its server default (a field sent as
    null counts as left out), validated."""
    metadata = client_metadata({name: body.get(name) for name in METADATA})
    wanted: dict[str, Any] = {
        "client_name": None if metadata.client_name == client.client_id else metadata.client_name,
        "client_uri": metadata.client_uri,
        "logo_uri": metadata.logo_uri,
        "tos_uri": metadata.tos_uri,
        "policy_uri": metadata.policy_uri,
        "contacts": list(metadata.contacts),
    }
    scope = _scope(session, catalogue, client, _given(body, "scope", client.scope))
    wanted["scope"] = scope
    wanted["authorization_details_types"] = _details_types(catalogue, scope)
    wanted["status"] = _status(client, body.get("cds_status"))
    if client.response_types:
        _interactive(settings, catalogue, client, body, wanted)
    else:
        _not_interactive(body)
    return wanted


def _scope(session: Session, catalogue: Catalogue, client: Client, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidClientMetadata("scope must be a space-separated string")
    requested = list(dict.fromkeys(value.split()))
    current = client.scope.split()
    for scope_id in requested:
        if catalogue.get(scope_id) is None:
            raise InvalidClientMetadata(f"scope {scope_id!r} is not in cds_scope_descriptions")
    fixed = {
        s for s in (*requested, *current) if s == CLIENT_ADMIN or _is_grant_admin(catalogue, s)
    }
    for scope_id in fixed:
        if (scope_id in requested) != (scope_id in current):
            raise InvalidClientMetadata(
                f"{scope_id} is given by registration; it cannot be added to or removed from "
                "a Client Object"
            )
    if CLIENT_ADMIN in current and requested != [CLIENT_ADMIN]:
        raise InvalidClientMetadata(f"the {CLIENT_ADMIN} Client Object has that scope only (§4.2)")
    registration = session.get_one(Registration, client.registration_id)
    for scope_id in requested:
        if scope_id not in current:
            _check_fits(catalogue, client, scope_id, registration)
    return " ".join(requested)


def _check_fits(
    catalogue: Catalogue, client: Client, scope_id: str, registration: Registration
) -> None:
    described = catalogue.scopes[scope_id]
    methods = described.token_endpoint_auth_methods_supported
    if (
        set(described.response_types_supported) != set(client.response_types)
        or set(described.grant_types_supported) != set(client.grant_types)
        or (methods[0] if methods else None) != client.token_endpoint_auth_method
    ):
        raise InvalidClientMetadata(
            f"scope {scope_id} needs other response types, grant types or token endpoint auth "
            "method than this Client Object has; register it to get a Client Object for it"
        )
    for field_id in described.registration_requirements:
        required = catalogue.registration_fields[field_id]
        if required.field_name is not None and required.field_name not in registration.fields:
            raise InvalidClientMetadata(
                f"scope {scope_id} needs the registration field {required.field_name}, which "
                "this registration did not give; register again with it"
            )


def _status(client: Client, value: Any) -> str:
    if value is None:
        working = [s for s in client.status_options if s != DISABLED]
        return working[0] if working else DISABLED
    if value not in client.status_options:
        raise InvalidClientMetadata(
            f"cds_status must be one of {', '.join(client.status_options)} (cds_status_options)"
        )
    return str(value)


def _interactive(
    settings: Settings,
    catalogue: Catalogue,
    client: Client,
    body: Mapping[str, Any],
    wanted: dict[str, Any],
) -> None:
    server_default = default_redirect_uri(settings, client.client_id)
    redirect_uris = _redirect_uris(_given(body, "redirect_uris", [server_default]), server_default)
    if not redirect_uris:
        raise InvalidRedirectUri("a Client Object with response_types needs a redirect URI")
    fallback = server_default if server_default in redirect_uris else redirect_uris[0]
    default_redirect = _given(body, "cds_default_redirect_uri", fallback)
    if default_redirect not in redirect_uris:
        raise InvalidRedirectUri("cds_default_redirect_uri must be one of redirect_uris")
    try:
        own = purposes.modified(settings, client.purposes, body.get("cds_purposes"))
    except purposes.PurposeError as error:
        raise InvalidClientMetadata(str(error)) from error
    scope = wanted["scope"]
    default_scope = _given(body, "cds_default_scope", scope)
    if not isinstance(default_scope, str) or not default_scope.split():
        raise InvalidClientMetadata("cds_default_scope must be a non-empty scope string")
    outside = [s for s in default_scope.split() if s not in scope.split()]
    if outside:
        raise InvalidClientMetadata(f"cds_default_scope names {', '.join(outside)}, not in scope")
    details = _given(body, "cds_default_authorization_details", [])
    _check_default_details(settings, catalogue, default_scope, scope, details, own)
    wanted |= {
        "purposes": own,
        "redirect_uris": redirect_uris,
        "default_redirect_uri": default_redirect,
        "default_scope": " ".join(dict.fromkeys(default_scope.split())),
        "default_authorization_details": details,
    }


def _not_interactive(body: Mapping[str, Any]) -> None:
    if body.get("cds_purposes") not in (None, {}):
        raise InvalidClientMetadata(
            "cds_purposes applies only to Client Objects with response_types (CDS-WG3-01 §7.4.4)"
        )
    if _given(body, "redirect_uris", []) != []:
        raise InvalidRedirectUri(
            "this Client Object has no response_types, so it takes no redirect URIs (§4.1)"
        )
    for name in INTERACTIVE_DEFAULTS:
        if body.get(name) is not None:
            raise InvalidClientMetadata(
                f"{name} applies only to Client Objects with response_types (§5.1)"
            )


def _redirect_uris(value: Any, server_default: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(uri, str) for uri in value):
        raise InvalidRedirectUri("redirect_uris must be a list of URLs")
    if len(value) > MAX_REDIRECT_URIS:
        raise InvalidRedirectUri(f"at most {MAX_REDIRECT_URIS} redirect_uris")
    if len(set(value)) != len(value):
        raise InvalidRedirectUri("redirect_uris lists a URI twice")
    for uri in value:
        if uri != server_default:
            _check_redirect_uri(uri)
    return list(value)


def _check_redirect_uri(uri: str) -> None:
    """An absolute https URL without fragment; http only on the loopback (RFC 8252 §7.3)."""
    if len(uri) > MAX_URI:
        raise InvalidRedirectUri(f"redirect URIs are at most {MAX_URI} characters")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError as error:
        raise InvalidRedirectUri(f"{uri!r} is not a URL") from error
    if not host or parts.scheme not in ("https", "http") or any(c.isspace() for c in uri):
        raise InvalidRedirectUri(f"{uri!r} is not an absolute https URL")
    if parts.scheme == "http" and host not in LOCAL_HOSTS and not _loopback(host):
        raise InvalidRedirectUri(f"{uri!r}: http is allowed only for localhost; use https")
    if "#" in uri:
        raise InvalidRedirectUri(f"{uri!r} has a fragment (RFC 6749 §3.1.2)")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_default_details(
    settings: Settings,
    catalogue: Catalogue,
    default_scope: str,
    scope: str,
    details: Any,
    own_purposes: purposes.Stored,
) -> None:
    if not isinstance(details, list):
        raise InvalidClientMetadata("cds_default_authorization_details must be a list")
    try:
        resolve_request(
            catalogue,
            scope=default_scope,
            details=details,
            allowed_scopes=set(scope.split()),
            settings=settings,
            now=utcnow(),
            purposes=purposes.usable(
                purposes.purposes_for(settings, catalogue, scope, own_purposes)
            ),
        )
    except RequestRejected as error:
        raise InvalidClientMetadata(
            f"cds_default_authorization_details: {error.description} ({error.error})"
        ) from error


# --- review, applying, messages ----------------------------------------------------------------


def _held_for_review(
    settings: Settings, catalogue: Catalogue, client: Client, wanted: Mapping[str, Any]
) -> dict[str, Any]:
    """The values that wait for the operator's review, by column (empty: apply everything)."""
    added = set(wanted["scope"].split()) - set(client.scope.split())
    if not added:
        return {}
    reviewed = any(
        catalogue.registration_fields[f].type == "internal_review"
        for s in added
        for f in catalogue.scopes[s].registration_requirements
    )
    if PRODUCTION not in client.status_options and not reviewed:
        return {}
    held = ["scope", "authorization_details_types"]
    if client.response_types:
        if not set(wanted["default_scope"].split()) <= set(client.scope.split()):
            held.append("default_scope")
        try:
            _check_default_details(
                settings,
                catalogue,
                (client.default_scope or client.scope)
                if "default_scope" in held
                else wanted["default_scope"],
                client.scope,
                wanted["default_authorization_details"],
                wanted["purposes"],
            )
        except InvalidClientMetadata:
            held.append("default_authorization_details")
    return {name: wanted[name] for name in held}


def _apply(session: Session, client: Client, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set `values` on `client`; returns the previous value of each one that changed."""
    changed: dict[str, Any] = {}
    for name, value in values.items():
        previous = getattr(client, name)
        if previous != value:
            changed[name] = previous
            setattr(client, name, value)
    if "status" in changed and client.status == DISABLED:
        _disable(session, client)
    session.flush()
    return changed


def _disable(session: Session, client: Client) -> None:
    """§7.1: a disabled object's secrets expire when it is disabled; its tokens end with it."""
    now = utcnow()
    for credential in session.scalars(
        select(Credential).where(Credential.client_id == client.client_id)
    ):
        credential.expires_at = now
    revoked = tokens.revoke_where(session, Token.client_id == client.client_id, now)
    log.info("client %s disabled: secrets expired, %d tokens revoked", client.client_id, revoked)


FIELD_NAMES: Final = {
    "status": "cds_status",
    "default_scope": "cds_default_scope",
    "default_redirect_uri": "cds_default_redirect_uri",
    "default_authorization_details": "cds_default_authorization_details",
    "purposes": "cds_purposes",
}
"""Client columns whose §5.1 field has another name."""


def _field(column: str) -> str:
    return FIELD_NAMES.get(column, column)


def _record_changes(
    session: Session, settings: Settings, client: Client, changed: Mapping[str, Any]
) -> None:
    names = ", ".join(_field(column) for column in changed)
    description = f"Client Object {client.client_id} changed: {names}."
    if "status" in changed and client.status == DISABLED:
        description += (
            " It is disabled: its client secrets expired and its tokens were revoked; create a "
            "new credential after enabling it again."
        )
    changelog(
        session,
        client.registration_id,
        "Client Object updated",
        description,
        related_uri=client_uri(settings, client.client_id),
        related_type="client",
    )


def _ask_for_review(
    session: Session, settings: Settings, client: Client, held: Mapping[str, Any]
) -> None:
    create_message(
        session,
        registration_id=client.registration_id,
        type="field_changes",
        status="pending",
        name="Client Object changes awaiting review",
        description=(
            f"Adding scopes to Client Object {client.client_id} needs our review; the fields "
            "listed keep their previous values until it is approved."
        ),
        related_uri=client_uri(settings, client.client_id),
        related_type="client",
        updates_requested=[
            {
                "field": _field(column),
                "previous_value": getattr(client, column),
                "new_value": value,
            }
            for column, value in held.items()
        ],
    )


# --- helpers -------------------------------------------------------------------------------------


def _visible(registration_id: str) -> Select[Client]:
    return select(Client).where(Client.registration_id == registration_id)


def _find(session: Session, registration_id: str, client_id: str, lock: bool = False) -> Client:
    return find_or_404(
        session,
        _visible(registration_id).where(Client.client_id == client_id),
        f"no Client Object {client_id!r} in this registration; list them at {urls.CLIENTS}",
        lock=lock,
    )


def _given(body: Mapping[str, Any], name: str, default: Any) -> Any:
    """The submitted value, or `default` when the field is left out or null."""
    value = body.get(name)
    return default if value is None else value


def _is_grant_admin(catalogue: Catalogue, scope_id: str) -> bool:
    described = catalogue.get(scope_id)
    return described is not None and described.type == GRANT_ADMIN_TYPE


def _details_types(catalogue: Catalogue, scope: str) -> list[str]:
    """The object's authorization_details_types: those of its scopes (§5.1, RFC 9396 §10)."""
    return list(
        dict.fromkeys(
            details_type
            for scope_id in scope.split()
            if (described := catalogue.get(scope_id)) is not None
            for details_type in described.authorization_details_types_supported
        )
    )


def _same(submitted: Any, current: Any) -> bool:
    """Whether a submitted value equals the current one (lists of strings in any order)."""
    if (
        isinstance(submitted, list)
        and isinstance(current, list)
        and all(isinstance(item, str) for item in (*submitted, *current))
    ):
        return sorted(submitted) == sorted(current)
    return _canonical(submitted) == _canonical(current)


def _canonical(value: Any) -> bytes:
    return to_bytes(value, sort_keys=True)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return json_response(body, status)
