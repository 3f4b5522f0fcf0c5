"""A small demo utility with a registered Green Button third party, and its tokens obtained as a
third party would: the customer approves the authorization form (no PKCE, the scope string as
registered), or `client_credentials` for the client_access_token."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from httpx import Response

from gridshare import urls
from gridshare.app import create_app
from gridshare.grants import espi_clients
from gridshare.grants.scopes import load_catalogue
from gridshare.store.db import session_factory
from tests.cds.data_setup import approved_code
from tests.demo.conftest import SmallDemo

REDIRECT = "https://tp.example/callback"
NOTIFY = "https://tp.example/espi/1_1/Notification"
SCOPE = (
    "FB=1_3_4_5_10_13_14_15_16_32_35_37_39;IntervalDuration=900_3600;BlockDuration=daily;"
    "HistoryLength=94608000"
)
RETAIL_SCOPE = (
    "FB=1_3_4_5_13_14_32_46_50_51_55_56_58_60;IntervalDuration=900;HistoryLength=94608000"
)


@dataclass
class EspiWorld:
    demo: SmallDemo
    http: TestClient
    client_id: str
    secret: str
    registration_token: str

    @property
    def basic(self) -> dict[str, str]:
        pair = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def authorize_params(self, **overrides: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "scope": SCOPE,
            "state": "st",
            **overrides,
        }
        return {k: v for k, v in params.items() if v is not None}

    def code(
        self,
        username: str,
        choose: Callable[[list[tuple[str, str]]], list[tuple[str, str]]] = lambda all_: all_,
        **overrides: str | None,
    ) -> str:
        return approved_code(self.http, self.authorize_params(**overrides), username, choose)

    def token_call(self, body: dict[str, str], basic: dict[str, str] | None = None) -> Response:
        return self.http.post(
            urls.TOKEN,
            content=urlencode(body),
            headers={**(basic or self.basic), "content-type": "application/x-www-form-urlencoded"},
        )

    def customer_token(self, username: str, **overrides: str | None) -> dict[str, Any]:
        code = self.code(username, **overrides)
        answer = self.token_call(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def client_token(self) -> dict[str, Any]:
        answer = self.token_call({"grant_type": "client_credentials"})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def get(self, url: str, token: str | dict[str, Any], **params: str) -> Response:
        value = token if isinstance(token, str) else token["access_token"]
        return self.http.get(
            url, params=params or None, headers={"Authorization": f"Bearer {value}"}
        )


def espi_world(demo: SmallDemo, scopes: tuple[str, ...] = (SCOPE, RETAIL_SCOPE)) -> EspiWorld:
    """The demo with one registered third party (as `gridshare greenbutton register` makes it)."""
    settings = demo.settings
    with session_factory(demo.engine)() as session:
        made = espi_clients.register(
            session,
            settings,
            load_catalogue(settings),
            name="Green Meter App",
            redirect_uris=[REDIRECT],
            notify_uri=NOTIFY,
            scopes=list(scopes),
            software_id="green-meter",
            software_version="1.0",
            sandbox=True,  # the demo's customers are sandbox test customers
        )
        session.commit()
        client_id = made.client.client_id
    http = TestClient(create_app(settings, demo.engine))
    return EspiWorld(demo, http, client_id, made.client_secret, made.registration_access_token)
