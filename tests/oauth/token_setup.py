"""Registrations, secrets, Grants and codes for the token, introspection and revocation tests.

Client Objects come from the real registration (`grants.clients.register`); each gets a fresh
Credential here so the test knows its secret. Codes come from `grants.codes.issue_code`, as the
authorization endpoint issues them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants.clients import new_credential, register
from gridshare.grants.codes import issue_code
from gridshare.grants.grants import create_grant
from gridshare.grants.scopes import load_catalogue
from gridshare.oauth import pkce
from gridshare.store.db import session_factory
from gridshare.store.tables.clients import Client
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Grant

SCOPES = "cds_client_admin cds_grant_admin_1 cds_server_provided_files_1 cds_accounts_1"
ADMIN = "cds_client_admin"
GRANT_ADMIN = "cds_grant_admin_1"
FILES = "cds_server_provided_files_1"
ACCOUNTS = "cds_accounts_1"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
"""RFC 7636 Appendix B's code verifier."""
REDIRECT = "https://app.example/callback"


@dataclass(frozen=True)
class Party:
    """A Client Object and a secret of it."""

    client_id: str
    secret: str

    @property
    def basic(self) -> dict[str, str]:
        pair = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


@dataclass(frozen=True)
class Reg:
    """One registration's Client Objects (the files object never authenticates: no secret)."""

    registration_id: str
    admin: Party
    grant_admin: Party
    accounts: Party
    files: str


def registered(session: Session, settings: Settings, name: str = "My App") -> Reg:
    done = register(
        session,
        settings,
        load_catalogue(settings),
        {"scope": SCOPES, "client_name": name, "cds_company_name": f"{name} Inc."},
    )
    by_scope = {client.scope: client for client in done.clients}

    def party(scope: str) -> Party:
        _, secret = new_credential(session, settings, by_scope[scope])
        return Party(by_scope[scope].client_id, secret)

    return Reg(
        done.registration.id,
        admin=Party(done.admin_client.client_id, done.admin_secret),
        grant_admin=party(GRANT_ADMIN),
        accounts=party(ACCOUNTS),
        files=by_scope[FILES].client_id,
    )


def customer(session: Session, username: str = "home") -> Customer:
    person = Customer(id=f"cu-{username}", name=username, username=username, password_hash="!")
    session.add(person)
    session.flush()
    return person


def accounts_grant(session: Session, client_id: str, customer_id: str, **extra: Any) -> Grant:
    details = [{"type": ACCOUNTS, "include_account_numbers": True, "sync_until": "infinite"}]
    return create_grant(
        session,
        client_id=client_id,
        scope=ACCOUNTS,
        authorization_details=details,
        customer_id=customer_id,
        **extra,
    )


def files_grant(session: Session, client_id: str, file_id: str = "f-1") -> Grant:
    return create_grant(
        session,
        client_id=client_id,
        scope=FILES,
        authorization_details=[{"type": FILES, "file_id": file_id}],
    )


def code_for(
    session: Session,
    settings: Settings,
    grant: Grant,
    *,
    redirect_uri: str = REDIRECT,
    redirect_uri_given: bool = True,
    verifier: str = VERIFIER,
) -> str:
    return issue_code(
        session,
        settings,
        client_id=grant.client_id,
        grant_id=grant.grant_id,
        redirect_uri=redirect_uri,
        redirect_uri_given=redirect_uri_given,
        code_challenge=pkce.s256(verifier),
    )


@dataclass
class World:
    """A server with one registration, a Customer and their Grant for the accounts client."""

    http: TestClient
    settings: Settings
    engine: Engine
    reg: Reg
    customer_id: str

    def session(self) -> Session:
        return session_factory(self.engine)()

    def token(self, party: Party, **form: str) -> Response:
        answer: Response = self.http.post(urls.TOKEN, data=form, headers=party.basic)
        return answer

    def admin_token(self) -> str:
        answer = self.token(self.reg.admin, grant_type="client_credentials", scope=ADMIN)
        assert answer.status_code == 200, answer.text
        value: str = answer.json()["access_token"]
        return value

    def new_code(self, **options: Any) -> tuple[str, str]:
        """A fresh Customer Grant for the accounts client and a code for it: (code, grant_id)."""
        with self.session() as session:
            grant = accounts_grant(session, self.reg.accounts.client_id, self.customer_id)
            code = code_for(session, self.settings, grant, **options)
            session.commit()
            return code, grant.grant_id

    def exchange(self, code: str, **form: str) -> Response:
        fields = {"redirect_uri": REDIRECT, "code_verifier": VERIFIER, **form}
        fields = {k: v for k, v in fields.items() if v}
        return self.token(self.reg.accounts, grant_type="authorization_code", code=code, **fields)

    def introspect(self, party: Party, token: str) -> dict[str, Any]:
        answer = self.http.post(urls.INTROSPECT, data={"token": token}, headers=party.basic)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def client(self, client_id: str) -> Client:
        with self.session() as session:
            found = session.get(Client, client_id)
            assert found is not None
            return found


def world(settings: Settings, engine: Engine) -> World:
    with session_factory(engine)() as session:
        reg = registered(session, settings)
        person = customer(session)
        session.commit()
        customer_id = person.id
    return World(TestClient(create_app(settings, engine)), settings, engine, reg, customer_id)
