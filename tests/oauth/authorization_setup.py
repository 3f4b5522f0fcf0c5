"""A registered app, customers and a browser for the authorization endpoint, PAR, login and
authorization form tests.

Client Objects come from the real registration (`grants.clients.register`); the sandbox Client
Object gets a Credential here (so the test knows its secret) and a registered redirect URI.
Customers are made in the database: `home` is a sandbox test customer (password `demo-home`, as
docs/demo.md documents), `alice` a real one.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants.clients import new_credential, register
from gridshare.grants.scopes import load_catalogue
from gridshare.oauth import pkce
from gridshare.store.db import session_factory
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.clients import Client
from gridshare.store.tables.customers import Customer
from gridshare.utility.customers import hash_password

SCOPES = "cds_client_admin cds_grant_admin_1 cds_server_provided_files_1 cds_accounts_1"
ACCOUNTS = "cds_accounts_1"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
"""RFC 7636 Appendix B's code verifier."""
CHALLENGE = pkce.s256(VERIFIER)
REDIRECT = "https://app.example/callback?from=gridshare"
TEST_CUSTOMER = ("home", "demo-home")
REAL_CUSTOMER = ("alice", "alice-password-1")


@cache
def _password_hash(password: str) -> str:
    return hash_password(password, salt=password.encode().ljust(16, b"."))


@dataclass
class World:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    http: TestClient
    client_id: str
    secret: str
    admin_id: str
    default_redirect: str

    def session(self) -> Session:
        return self.sessions()

    @property
    def basic(self) -> dict[str, str]:
        pair = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def query(self, **overrides: str | None) -> dict[str, str]:
        """A valid authorization request for the sandbox client; None drops a parameter."""
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "scope": ACCOUNTS,
            "state": "st-123",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, params: dict[str, str] | list[tuple[str, str]]) -> Response:
        return self.http.get(f"{urls.AUTHORIZE}?{urlencode(params)}", follow_redirects=False)

    def push(self, params: dict[str, str] | list[tuple[str, str]]) -> Response:
        return self.http.post(
            urls.PAR,
            content=urlencode(params),
            headers={**self.basic, "Content-Type": "application/x-www-form-urlencoded"},
        )

    def log_in(self, username: str, password: str, next_path: str = "/") -> Response:
        """Log in through the login page as a browser would."""
        form = self.http.get(urls.LOGIN, params={"next": next_path})
        token = hidden(form.text, "csrf_token")
        return self.http.post(
            urls.LOGIN,
            data={
                "username": username,
                "password": password,
                "csrf_token": token,
                "next": next_path,
            },
            follow_redirects=False,
        )

    def consent_path(self, response: Response) -> str:
        """Where /authorize sent the browser (the authorization form)."""
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith(f"{urls.CONSENT}?request="), location
        return location

    def decide(self, consent_path: str, decision: str) -> Response:
        """Open the authorization form (logged in), tick every resource it lists and press
        Approve or Decline; if the form answers at once (an error redirect), that answer."""
        form = self.http.get(consent_path, follow_redirects=False)
        if form.status_code != 200:
            return form
        fields = [("decision", decision), ("csrf_token", hidden(form.text, "csrf_token"))]
        fields += ticks(form.text)
        return self.http.post(
            consent_path,
            content=urlencode(fields),
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )

    def approve_as(self, username: str, password: str, params: dict[str, str]) -> Response:
        """The whole browser flow: authorize, log in, approve; returns the final redirect."""
        consent = self.consent_path(self.authorize(params))
        self.log_in(username, password, consent)
        return self.decide(consent, "approve")


def world(settings: Settings, engine: Engine) -> World:
    sessions = session_factory(engine)
    with sessions() as session:
        done = register(
            session,
            settings,
            load_catalogue(settings),
            {
                "scope": SCOPES,
                "client_name": "Sunny App",
                "cds_company_name": "Sunny Inc.",
                "client_uri": "https://sunny.example/",
            },
        )
        client = next(c for c in done.clients if c.scope == ACCOUNTS)
        client.redirect_uris = [*client.redirect_uris, REDIRECT]
        _, secret = new_credential(session, settings, client)
        for (username, password), is_test in ((TEST_CUSTOMER, True), (REAL_CUSTOMER, False)):
            session.add(
                Customer(
                    id=f"cust-{username}",
                    name=username.title(),
                    username=username,
                    password_hash=_password_hash(password),
                    is_test=is_test,
                    description=f"{username} for tests",
                )
            )
            session.flush()
            session.add(
                Account(
                    id=f"acct-{username}",
                    customer_id=f"cust-{username}",
                    account_number=f"{username.upper()}-1",
                    name=f"{username.title()} at home",
                    address="1 Main St, Davis, CA 95616",
                    types=["residential"],
                    status="active",
                )
            )
        session.commit()
        world = World(
            settings,
            engine,
            sessions,
            TestClient(create_app(settings, engine)),
            client.client_id,
            secret,
            done.admin_client.client_id,
            str(client.default_redirect_uri),
        )
    return world


def ticks(html: str) -> list[tuple[str, str]]:
    """Every resource checkbox of an authorization form, as ticked fields."""
    return re.findall(r'name="(select\.[^"]+)" value="([^"]*)"', html)


def hidden(html: str, name: str) -> str:
    """The value of a hidden form field."""
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field in the page"
    return match.group(1)


def redirect_params(response: Response, target: str = REDIRECT) -> dict[str, str]:
    """The parameters of a redirect to `target` (which must be where it goes)."""
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == target.split("?")[0], location
    return {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}


def set_client(world: World, **values: Any) -> None:
    with world.session() as session:
        client = session.get_one(Client, world.client_id)
        for name, value in values.items():
            setattr(client, name, value)
        session.commit()
