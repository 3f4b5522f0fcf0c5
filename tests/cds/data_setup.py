"""A small demo utility served in-process, and tokens for the Customer Data APIs obtained as an app
would: a Customer approving the authorization form, or `client_credentials` for direct access.

`customer_token` drives the real authorize -> login -> consent -> token flow (the consent form's
ticks are chosen by the caller: every resource it lists by default). `direct_token` asks the token
endpoint for a direct-access (§6.2) or any client_credentials scope. Nothing here writes customer
data: the Grants are made by the server.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.app import create_app
from gridshare.grants.clients import new_credential, register
from gridshare.grants.scopes import load_catalogue
from gridshare.oauth import pkce
from gridshare.store.db import session_factory, utcnow
from tests.demo.conftest import SmallDemo
from tests.oauth.authorization_setup import hidden, ticks

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
REDIRECT = "https://app.example/callback"
PASSWORDS = {
    name: f"demo-{name}" for name in ("home", "solar", "business", "tenant", "chain", "rural")
}
"""Demo sandbox logins (docs/demo.md)."""


@dataclass
class DataWorld:
    demo: SmallDemo
    http: TestClient
    client_id: str
    secret: str
    direct_id: str
    direct_secret: str

    def session(self) -> Session:
        return session_factory(self.demo.engine)()

    @property
    def basic(self) -> dict[str, str]:
        return _basic(self.client_id, self.secret)

    def customer_token(
        self,
        username: str,
        scope: str,
        details: list[dict[str, Any]] | None = None,
        choose: Callable[[list[tuple[str, str]]], list[tuple[str, str]]] = lambda all_: all_,
    ) -> dict[str, Any]:
        """The token response after `username` approves the request, ticking `choose(all ticks)`."""
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": "s",
            "code_challenge": pkce.s256(VERIFIER),
            "code_challenge_method": "S256",
        }
        if details is not None:
            params["authorization_details"] = json.dumps(details)
        code = approved_code(self.http, params, username, choose)
        return self.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": VERIFIER,
            }
        )

    def direct_token(
        self, scope: str, details: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        body = {"grant_type": "client_credentials", "scope": scope}
        if details is not None:
            body["authorization_details"] = json.dumps(details)
        return self.token(body, _basic(self.direct_id, self.direct_secret))

    def token(self, body: dict[str, str], basic: dict[str, str] | None = None) -> dict[str, Any]:
        answer = self.http.post(
            urls.TOKEN,
            content=urlencode(body),
            headers={**(basic or self.basic), "content-type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 200, answer.text
        tokens: dict[str, Any] = answer.json()
        return tokens

    def get(self, path: str, token: str | dict[str, Any], **params: str) -> Response:
        value = token if isinstance(token, str) else token["access_token"]
        return self.http.get(path, params=params, headers={"Authorization": f"Bearer {value}"})

    def with_page_size(self, page_size: int) -> DataWorld:
        """The same world served by an app with `page_size` objects per listing page."""
        settings = self.demo.settings.model_copy(update={"page_size": page_size})
        return replace(self, http=TestClient(create_app(settings, self.demo.engine)))

    def pages(self, path: str, token: str | dict[str, Any], **params: str) -> list[Any]:
        """Every page body of a listing, following `next` links."""
        value = token if isinstance(token, str) else token["access_token"]
        headers = {"Authorization": f"Bearer {value}"}
        answer = self.http.get(path, params=params, headers=headers)
        found = []
        while True:
            assert answer.status_code == 200, answer.text
            found.append(answer.json())
            if found[-1]["next"] is None:
                return found
            answer = self.http.get(found[-1]["next"], headers=headers)

    def every_page(
        self, path: str, token: str | dict[str, Any], name: str, **params: str
    ) -> list[Any]:
        """Every object of a listing, following `next` links."""
        return [item for page in self.pages(path, token, **params) for item in page[name]]


def log_in(http: TestClient, username: str, next_path: str) -> None:
    """Log the demo's `username` in with the login form (its cookie stays on `http`)."""
    form = http.get(urls.LOGIN, params={"next": next_path})
    logged = http.post(
        urls.LOGIN,
        data={
            "username": username,
            "password": PASSWORDS[username],
            "csrf_token": hidden(form.text, "csrf_token"),
            "next": next_path,
        },
        follow_redirects=False,
    )
    assert logged.status_code == 303, logged.text


def approved_code(
    http: TestClient,
    params: dict[str, str],
    username: str,
    choose: Callable[[list[tuple[str, str]]], list[tuple[str, str]]] = lambda all_: all_,
) -> str:
    """The authorization code after `username` logs in and approves the authorization request
    `params`, ticking `choose(all ticks)` on the form."""
    http.cookies.clear()
    sent = http.get(f"{urls.AUTHORIZE}?{urlencode(params)}", follow_redirects=False)
    assert sent.status_code == 303, sent.text
    consent = sent.headers["location"]
    log_in(http, username, consent)
    page = http.get(consent)
    assert page.status_code == 200, page.text
    fields = [("decision", "approve"), ("csrf_token", hidden(page.text, "csrf_token"))]
    fields += choose(ticks(page.text))
    done = http.post(
        consent,
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert done.status_code in (302, 303), done.text
    return parse_qs(urlsplit(done.headers["location"]).query)["code"][0]


def data_world(demo: SmallDemo, scopes: list[str]) -> DataWorld:
    """A registration with two Client Objects that may use `scopes`, each with a credential: a
    sandbox one that the demo's test customers authorize, and a production one the utility
    approved for direct access (`client_credentials`) to every customer."""
    settings = demo.settings
    catalogue = load_catalogue(settings)
    with session_factory(demo.engine)() as session:
        done = register(
            session,
            settings,
            catalogue,
            {
                "scope": " ".join(["cds_client_admin", *scopes]),
                "client_name": "Data App",
                "cds_company_name": "Data Inc.",
                "client_uri": "https://data.example/",
            },
        )
        sandbox, production = [c for c in done.clients if c.scope != "cds_client_admin"][:2]
        # As an operator would approve them: every scope asked for, on each Client Object.
        for client, status in ((sandbox, "sandbox"), (production, "production")):
            client.scope = " ".join(scopes)
            client.status = status
            client.grant_types = ["authorization_code", "refresh_token", "client_credentials"]
        sandbox.redirect_uris = [*sandbox.redirect_uris, REDIRECT]
        _, secret = new_credential(session, settings, sandbox)
        _, direct_secret = new_credential(session, settings, production)
        session.commit()
        ids = sandbox.client_id, production.client_id
    http = TestClient(create_app(settings, demo.engine))
    return DataWorld(demo, http, ids[0], secret, ids[1], direct_secret)


def _basic(client_id: str, secret: str) -> dict[str, str]:
    pair = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def check_newest_first_and_paged(
    world: DataWorld,
    path: str,
    token: dict[str, Any],
    name: str,
    id_field: str,
    model: Any,
    page_size: int,
) -> list[Any]:
    """A listing ordered newest `cds_modified` first then by id (§10.1.10 and its siblings): the
    oldest record, touched now, comes first; pages of `page_size` walk forward and back. Returns
    the pages."""
    with world.session() as session:
        oldest = session.scalars(select(model).order_by(model.created, model.id)).first()
        assert oldest is not None
        oldest.modified = utcnow()
        session.commit()
        oldest_id = oldest.id
    small = world.with_page_size(page_size)
    pages = small.pages(path, token)
    every = [item[id_field] for page in pages for item in page[name]]
    with world.session() as session:
        rows = session.scalars(select(model.id).order_by(model.modified.desc(), model.id)).all()
    assert every == list(rows)
    assert every[0] == oldest_id
    assert len(pages) > 2 and pages[0]["previous"] is None
    assert pages[1]["next"].startswith("http://testserver" + path)
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    back = small.http.get(pages[2]["previous"], headers=auth)
    assert back.json()[name] == pages[1][name]
    return pages
