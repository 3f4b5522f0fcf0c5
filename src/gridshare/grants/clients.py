"""CDS-WG1-02 §4 Client Registration (RFC 7591 §3) and §5.1-§5.2 Client Objects.

One registration creates (§4.2):
- the `cds_client_admin` Client Object, returned with its `client_secret`;
- a Client Object per group of the other registered scopes (scopes share one only when their
  response types, grant types and token endpoint auth method agree; a Grant Admin scope always
  has its own);
- a Client Object for each Grant Admin scope named by a registered scope's `grant_admin_scope`;
- a Credential for every object that authenticates at the token endpoint.

Objects that take Customer authorizations (non-empty `response_types`) start in `sandbox` with the
server-hosted default redirect URI; the operator's approval (`approve_for_production`) later adds
a `production` copy. Other objects start in `production`, unless a scope asks for internal review.
No object lists both `production` and `sandbox`; only the admin object lacks `disabled` (§5.1).

RFC 7591 metadata we keep: client_name, client_uri, logo_uri, tos_uri, policy_uri, contacts.
`redirect_uris` are ignored (§4.1), and so are grant_types, response_types and
token_endpoint_auth_method (the server sets them per object from the scopes) and any metadata
we do not understand (RFC 7591 §2). Registration field values arrive under their `field_name`
(§4.1) and appear on the Client Objects of the scopes that ask for them; those of the
CDS-WG3-01 §5.1 `purposes` formats become Purposes in the objects' `cds_purposes` instead (§8.1).
Objects with `response_types` show `cds_purposes` (`grants.purposes`: the server's defaults and
the Client's own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants import consent_scopes, purposes
from gridshare.grants.messages import changelog, create_message
from gridshare.grants.scopes import (
    CLIENT_ADMIN,
    GRANT_ADMIN_TYPE,
    Catalogue,
    FieldValueError,
    ScopeDescription,
    is_url,
    load_catalogue,
)
from gridshare.grants.secrets import Sealer, digest, new_id, new_secret
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client, Credential, Registration
from gridshare.store.tables.messages import Message
from gridshare.timefmt import rfc3339

PRODUCTION: Final = "production"
SANDBOX: Final = "sandbox"
DISABLED: Final = "disabled"
STATUSES: Final = (PRODUCTION, SANDBOX, DISABLED)
"""Client Object statuses (§5.2)."""

URL_FIELDS: Final = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
MAX_NAME: Final = 200
MAX_URL: Final = 500
MAX_CONTACTS: Final = 20
MAX_CONTACT: Final = 320
PURPOSES_FORMATS: Final = ("purposes", "purposes_or_null")
"""CDS-WG3-01 §5.1: registration fields whose Purposes become the Client Objects' `cds_purposes`
(with server-made ids), not fields of their own."""


class InvalidClientMetadata(ValueError):
    """RFC 7591 §3.2.2 `invalid_client_metadata`: the registration is refused, nothing written."""

    error: Final = "invalid_client_metadata"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class ApprovalError(ValueError):
    """The Client Object cannot be approved for production."""


@dataclass(frozen=True)
class Registered:
    """The outcome of a registration: the admin object (and its secret) and every object made."""

    registration: Registration
    admin_client: Client
    admin_secret: str
    clients: list[Client]


@dataclass(frozen=True)
class ClientMetadata:
    """The RFC 7591 metadata a registration gives every Client Object it creates."""

    client_name: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    contacts: tuple[str, ...] = ()


def register(
    session: Session, settings: Settings, catalogue: Catalogue, body: Mapping[str, Any]
) -> Registered:
    """Register from an RFC 7591 request body; raises InvalidClientMetadata (the caller commits)."""
    scopes = _requested_scopes(catalogue, body.get("scope"))
    metadata = client_metadata(body)
    values = _registration_values(catalogue, scopes, body)
    registration = Registration(id=new_id("r"), created=utcnow(), fields=values)
    session.add(registration)
    session.flush()  # no ORM relationships: the registration row must exist before its clients
    admin = _new_client(
        registration.id,
        metadata,
        scope=CLIENT_ADMIN,
        grant_types=["client_credentials"],
        response_types=[],
        auth_method="client_secret_basic",
        status=PRODUCTION,
        status_options=[PRODUCTION],
    )
    session.add(admin)
    session.flush()
    _, secret = new_credential(session, settings, admin)
    others = create_client_objects(
        session,
        settings,
        catalogue,
        registration_id=registration.id,
        scopes=[s for s in scopes if s != CLIENT_ADMIN],
        metadata=metadata,
        field_values=values,
    )
    _announce_reviews(session, catalogue, registration.id, scopes)
    return Registered(registration, admin, secret, [admin, *others])


def create_client_objects(
    session: Session,
    settings: Settings,
    catalogue: Catalogue,
    *,
    registration_id: str,
    scopes: Sequence[str],
    metadata: ClientMetadata,
    field_values: Mapping[str, Any],
) -> list[Client]:
    """The Client Objects (each with a Credential) for these non-admin scopes (§4.2)."""
    groups: dict[tuple[Any, ...], list[ScopeDescription]] = {}
    grant_admin_ids: list[str] = []
    for scope_id in scopes:
        scope = catalogue.scopes[scope_id]
        if scope.type == GRANT_ADMIN_TYPE:
            if scope_id not in grant_admin_ids:
                grant_admin_ids.append(scope_id)
            continue
        groups.setdefault(_group_key(catalogue, scope), []).append(scope)
        if scope.grant_admin_scope and scope.grant_admin_scope not in grant_admin_ids:
            grant_admin_ids.append(scope.grant_admin_scope)
    members = [*groups.values(), *([catalogue.scopes[g]] for g in grant_admin_ids)]
    made = []
    for group in members:
        client = _client_for(catalogue, registration_id, group, metadata, field_values)
        session.add(client)
        session.flush()
        if client.response_types:
            default = default_redirect_uri(settings, client.client_id)
            client.redirect_uris = [default]
            client.default_redirect_uri = default
            client.default_scope = " ".join(
                s
                for s in client.scope.split()
                if s not in catalogue.scopes or consent_scopes.in_default_scope(catalogue.scopes[s])
            )
            client.default_authorization_details = []
        if client.token_endpoint_auth_method is not None:
            new_credential(session, settings, client)
        made.append(client)
    return made


def new_credential(
    session: Session, settings: Settings, client: Client, expires_at: datetime | None = None
) -> tuple[Credential, str]:
    """A new client secret for `client` (§7.1), stored hashed and sealed; returns the raw secret."""
    secret = new_secret()
    now = utcnow()
    credential = Credential(
        credential_id=new_id("c"),
        client_id=client.client_id,
        type="client_secret",
        secret_hash=digest(secret),
        secret_sealed=Sealer.from_settings(settings).seal(secret),
        expires_at=expires_at,
        created=now,
        modified=now,
    )
    session.add(credential)
    return credential, secret


def client_json(settings: Settings, client: Client) -> dict[str, Any]:
    """The §5.1 Client Object (never `client_secret` nor `client_secret_expires_at`)."""
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.issued_at.timestamp()),
        "scope": client.scope,
        "redirect_uris": list(client.redirect_uris),
        "response_types": list(client.response_types),
        "grant_types": list(client.grant_types),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "client_name": client.client_name or client.client_id,
        "contacts": list(client.contacts),
        "authorization_details_types": list(client.authorization_details_types),
    }
    for name in URL_FIELDS:
        value = getattr(client, name)
        if value is not None:
            body[name] = value
    body |= {
        "cds_created": rfc3339(client.created),
        "cds_modified": rfc3339(client.modified),
        "cds_client_uri": client_uri(settings, client.client_id),
        "cds_status": client.status,
        "cds_status_options": list(client.status_options),
        "cds_server_metadata": settings.url(urls.SERVER_METADATA),
    }
    if client.response_types:
        body |= {
            "cds_default_scope": client.default_scope or "",
            "cds_default_redirect_uri": client.default_redirect_uri,
            "cds_default_authorization_details": list(client.default_authorization_details or []),
            "cds_purposes": purposes.client_purposes(settings, load_catalogue(settings), client),
        }
    return body | dict(client.extra)


def client_uri(settings: Settings, client_id: str) -> str:
    """The Client Object's `cds_client_uri` (§5.1)."""
    return settings.url(f"{urls.CLIENTS}/{client_id}")


def default_redirect_uri(settings: Settings, client_id: str) -> str:
    """The server-hosted redirect URI created for a Client Object (§4.2)."""
    return settings.url(f"{urls.DEFAULT_REDIRECT}/{client_id}")


def approve_for_production(
    session: Session, settings: Settings, client_id: str, *, request: Message | None = None
) -> Client:
    """Create the `production` twin of a sandbox Client Object, with a Credential (§4.2).

    The `production_request` Message `request` (by default the newest pending one about the
    sandbox object) gets a `request_update` reply (§6.3); without one the registration gets a
    notification (§5.3 changelog). The caller commits.
    """
    sandbox = session.get(Client, client_id)
    if sandbox is None:
        raise ApprovalError(f"no Client Object {client_id}")
    if SANDBOX not in sandbox.status_options:
        raise ApprovalError(f"Client Object {client_id} is not a sandbox Client Object")
    twin = session.scalars(
        select(Client).where(
            Client.registration_id == sandbox.registration_id,
            Client.scope == sandbox.scope,
            Client.client_id != sandbox.client_id,
        )
    ).all()
    for other in twin:
        if PRODUCTION in other.status_options:
            raise ApprovalError(
                f"Client Object {client_id} already has a production twin: {other.client_id}"
            )
    now = utcnow()
    production = Client(
        client_id=new_id(),
        registration_id=sandbox.registration_id,
        issued_at=now,
        created=now,
        modified=now,
        scope=sandbox.scope,
        token_endpoint_auth_method=sandbox.token_endpoint_auth_method,
        grant_types=list(sandbox.grant_types),
        response_types=list(sandbox.response_types),
        client_name=sandbox.client_name,
        client_uri=sandbox.client_uri,
        logo_uri=sandbox.logo_uri,
        tos_uri=sandbox.tos_uri,
        policy_uri=sandbox.policy_uri,
        contacts=list(sandbox.contacts),
        authorization_details_types=list(sandbox.authorization_details_types),
        status=PRODUCTION,
        status_options=[PRODUCTION, DISABLED],
        default_scope=sandbox.default_scope,
        default_authorization_details=sandbox.default_authorization_details,
        purposes=dict(sandbox.purposes),
        extra=dict(sandbox.extra),
    )
    old_default = default_redirect_uri(settings, sandbox.client_id)
    new_default = default_redirect_uri(settings, production.client_id)
    production.redirect_uris = [
        new_default if uri == old_default else uri for uri in sandbox.redirect_uris
    ]
    production.default_redirect_uri = (
        new_default if sandbox.default_redirect_uri == old_default else sandbox.default_redirect_uri
    )
    session.add(production)
    session.flush()
    if production.token_endpoint_auth_method is not None:
        new_credential(session, settings, production)
    _tell_approved(session, settings, sandbox, production, request)
    return production


def client_metadata(body: Mapping[str, Any]) -> ClientMetadata:
    """The RFC 7591 §2 metadata we keep, validated; raises InvalidClientMetadata."""
    name = body.get("client_name")
    if name is not None and (not isinstance(name, str) or not 0 < len(name) <= MAX_NAME):
        raise InvalidClientMetadata(f"client_name must be a string of 1 to {MAX_NAME} characters")
    uris: dict[str, str | None] = {}
    for key in URL_FIELDS:
        value = body.get(key)
        if value is not None and (
            not isinstance(value, str) or len(value) > MAX_URL or not is_url(value)
        ):
            raise InvalidClientMetadata(f"{key} must be an absolute http(s) URL (≤{MAX_URL})")
        uris[key] = value
    contacts = body.get("contacts")
    if contacts is None:
        contacts = []
    if (
        not isinstance(contacts, list)
        or len(contacts) > MAX_CONTACTS
        or not all(isinstance(c, str) and 0 < len(c) <= MAX_CONTACT for c in contacts)
    ):
        raise InvalidClientMetadata(f"contacts must be a list of at most {MAX_CONTACTS} strings")
    return ClientMetadata(client_name=name, contacts=tuple(contacts), **uris)


def _requested_scopes(catalogue: Catalogue, scope: Any) -> list[str]:
    if scope is not None and not isinstance(scope, str):
        raise InvalidClientMetadata("scope must be a space-separated string")
    scopes = list(dict.fromkeys((scope or "").split()))
    if CLIENT_ADMIN not in scopes:
        raise InvalidClientMetadata(
            f"scope must include {CLIENT_ADMIN} (§4.1), or be Green Button scope strings (FB=...) "
            "for a Green Button third party"
        )
    unknown = [s for s in scopes if catalogue.get(s) is None]
    if unknown:
        raise InvalidClientMetadata(
            f"scope lists {', '.join(unknown)}, not in cds_scope_descriptions (§4.1)"
        )
    return scopes


def _registration_values(
    catalogue: Catalogue, scopes: Sequence[str], body: Mapping[str, Any]
) -> dict[str, Any]:
    """The registration field values (§4.1) by field_name, validated, defaults filled in."""
    values: dict[str, Any] = {}
    for scope_id in scopes:
        scope = catalogue.scopes[scope_id]
        for list_name in ("registration_requirements", "registration_optional"):
            for field_id in getattr(scope, list_name):
                field = catalogue.registration_fields[field_id]
                name = field.field_name
                if name is None or name in values:
                    continue
                if name in body:
                    try:
                        values[name] = field.validate(body[name])
                    except FieldValueError as error:
                        raise InvalidClientMetadata(str(error)) from error
                elif field.has_default:
                    values[name] = field.default
                else:
                    raise InvalidClientMetadata(f"scope {scope_id} needs {name} (§4.1)")
    return values


def _group_key(catalogue: Catalogue, scope: ScopeDescription) -> tuple[Any, ...]:
    """Scopes share a Client Object when these agree (§4.2), and so does the need for review."""
    return (
        scope.response_types_supported,
        scope.grant_types_supported,
        _auth_method(scope),
        _needs_review(catalogue, scope),
    )


def _auth_method(scope: ScopeDescription) -> str | None:
    methods = scope.token_endpoint_auth_methods_supported
    return methods[0] if methods else None


def _needs_review(catalogue: Catalogue, scope: ScopeDescription) -> bool:
    return any(
        catalogue.registration_fields[f].type == "internal_review"
        for f in scope.registration_requirements
    )


def _client_for(
    catalogue: Catalogue,
    registration_id: str,
    group: Sequence[ScopeDescription],
    metadata: ClientMetadata,
    field_values: Mapping[str, Any],
) -> Client:
    first = group[0]
    reviewed = bool(first.response_types_supported) or any(
        _needs_review(catalogue, s) for s in group
    )
    status = SANDBOX if reviewed else PRODUCTION
    client = _new_client(
        registration_id,
        metadata,
        scope=" ".join(s.id for s in group),
        grant_types=list(first.grant_types_supported),
        response_types=list(first.response_types_supported),
        auth_method=_auth_method(first),
        status=status,
        status_options=[status, DISABLED],
    )
    client.authorization_details_types = list(
        dict.fromkeys(t for s in group for t in s.authorization_details_types_supported)
    )
    wanted = {
        catalogue.registration_fields[f].field_name
        for s in group
        for f in (*s.registration_requirements, *s.registration_optional)
    }
    given_purposes = {
        f.field_name
        for f in catalogue.registration_fields.values()
        if f.format in PURPOSES_FORMATS and f.field_name is not None and f.field_name in wanted
    }
    client.extra = {
        k: v for k, v in field_values.items() if k in wanted and k not in given_purposes
    }
    client.purposes = purposes.added(
        {},
        [
            purposes.check_purpose(item)
            for name in sorted(given_purposes)
            for item in field_values.get(name) or []
        ],
    )
    return client


def _new_client(
    registration_id: str,
    metadata: ClientMetadata,
    *,
    scope: str,
    grant_types: list[str],
    response_types: list[str],
    auth_method: str | None,
    status: str,
    status_options: list[str],
) -> Client:
    now = utcnow()
    return Client(
        client_id=new_id(),
        registration_id=registration_id,
        issued_at=now,
        created=now,
        modified=now,
        scope=scope,
        redirect_uris=[],
        token_endpoint_auth_method=auth_method,
        grant_types=grant_types,
        response_types=response_types,
        client_name=metadata.client_name,
        client_uri=metadata.client_uri,
        logo_uri=metadata.logo_uri,
        tos_uri=metadata.tos_uri,
        policy_uri=metadata.policy_uri,
        contacts=list(metadata.contacts),
        authorization_details_types=[],
        status=status,
        status_options=status_options,
        purposes={},
        extra={},
    )


def _announce_reviews(
    session: Session, catalogue: Catalogue, registration_id: str, scopes: Sequence[str]
) -> None:
    """An internal_review requirement is announced in the Messages API (§3.6)."""
    reviewed = [s for s in scopes if _needs_review(catalogue, catalogue.scopes[s])]
    if reviewed:
        changelog(
            session,
            registration_id,
            "Internal review",
            f"Production access for {', '.join(reviewed)} follows an internal review; "
            "we will tell you here when it is approved.",
        )


def _tell_approved(
    session: Session,
    settings: Settings,
    sandbox: Client,
    production: Client,
    request: Message | None,
) -> None:
    uri = client_uri(settings, production.client_id)
    description = (
        f"Client Object {production.client_id} ({production.scope}) may be used in production; "
        f"it has its own credential on the Credentials API."
    )
    request = (
        request
        or session.scalars(
            select(Message)
            .where(
                Message.registration_id == sandbox.registration_id,
                Message.type == "production_request",
                Message.related_uri == client_uri(settings, sandbox.client_id),
                Message.status == "pending",
            )
            .order_by(Message.created.desc())
        ).first()
    )
    if request is None:
        changelog(
            session,
            sandbox.registration_id,
            "Production access approved",
            description,
            related_uri=uri,
            related_type="client",
        )
        return
    create_message(
        session,
        registration_id=sandbox.registration_id,
        type="request_update",
        name="Production access approved",
        description=description,
        status="complete",
        previous_id=request.message_id,
        related_uri=uri,
        related_type="client",
    )
