"""Registrations, Grants and bearer tokens made in the database, for the Grants and Server-Provided
Files API tests (the token endpoint has its own tests; here tokens are issued directly)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants import tokens
from gridshare.grants.authorization_details import for_grant, resolve_request
from gridshare.grants.clients import register
from gridshare.grants.grants import create_grant
from gridshare.grants.scopes import load_catalogue
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Grant

SCOPES = "cds_client_admin cds_grant_admin_1 cds_server_provided_files_1 cds_accounts_1"
FILES_SCOPE = "cds_server_provided_files_1"
GRANT_ADMIN = "cds_grant_admin_1"
ACCOUNTS = "cds_accounts_1"


@dataclass(frozen=True)
class Registration:
    """One registration's Client Objects, by the scope they carry."""

    registration_id: str
    admin: str
    grant_admin: str
    files: str
    accounts: str


def registration(session: Session, settings: Settings, name: str = "My App") -> Registration:
    registered = register(
        session,
        settings,
        load_catalogue(settings),
        {"scope": SCOPES, "client_name": name, "cds_company_name": f"{name} Inc."},
    )
    by_scope = {client.scope: client.client_id for client in registered.clients}
    return Registration(
        registered.registration.id,
        admin=by_scope["cds_client_admin"],
        grant_admin=by_scope[GRANT_ADMIN],
        files=by_scope[FILES_SCOPE],
        accounts=by_scope[ACCOUNTS],
    )


def access_token(
    session: Session,
    client_id: str,
    scope: str,
    grant_ids: list[str] | None = None,
    authorization_details: list[dict[str, Any]] | None = None,
) -> str:
    return tokens.issue(
        session,
        kind="access",
        client_id=client_id,
        scope=scope,
        lifetime=timedelta(hours=1),
        grant_ids=grant_ids or [],
        authorization_details=authorization_details,
    ).value


def bearer(token: str) -> dict[str, str]:
    """The headers that present `token`."""
    return {"Authorization": f"Bearer {token}"}


def admin_token(session: Session, reg: Registration) -> str:
    return access_token(session, reg.admin, "cds_client_admin")


def grant_admin_token(session: Session, reg: Registration, grant: Grant) -> str:
    """What the token endpoint gives for a Grant Admin request (§3.3.2) on `grant`."""
    entry = {"type": GRANT_ADMIN, "client_id": grant.client_id, "grant_id": grant.grant_id}
    return access_token(session, reg.grant_admin, grant.enabled_scope, [grant.grant_id], [entry])


def customer(session: Session, username: str = "home") -> Customer:
    person = Customer(
        id=f"cu-{username}", name=username.title(), username=username, password_hash="!"
    )
    session.add(person)
    session.flush()
    return person


def accounts_details(settings: Settings, session: Session, client_id: str, **fields: Any) -> Any:
    """The cds_accounts_1 authorization details a Customer approval stores (defaults filled in)."""
    client = session.get(Client, client_id)
    assert client is not None
    catalogue = load_catalogue(settings)
    requested = resolve_request(
        catalogue,
        scope=ACCOUNTS,
        details=[{"type": ACCOUNTS, **fields}],
        allowed_scopes=set(client.scope.split()),
        settings=settings,
        now=utcnow(),
    )
    return for_grant(catalogue, requested).authorization_details


def customer_grant(
    settings: Settings, session: Session, reg: Registration, person: Customer, **fields: Any
) -> Grant:
    return create_grant(
        session,
        client_id=reg.accounts,
        scope=ACCOUNTS,
        authorization_details=accounts_details(settings, session, reg.accounts, **fields),
        customer_id=person.id,
    )


def files_grant(session: Session, reg: Registration, *file_ids: str) -> Grant:
    return create_grant(
        session,
        client_id=reg.files,
        scope=FILES_SCOPE,
        authorization_details=[{"type": FILES_SCOPE, "file_id": f} for f in file_ids],
    )
