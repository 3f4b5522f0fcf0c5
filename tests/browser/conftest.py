"""Real-browser tests: headless Chromium (Debian's `/usr/bin/chromium`, driven by Playwright)
against `gridshare serve` in its own process over a small demo utility.

One server and one browser serve the whole package; each test gets a fresh browser context
(no cookies) and its own authorization request. Nothing is downloaded at run time: Playwright is
pointed at the system Chromium (never `playwright install`), with the flags that keep Chromium off
the network it would otherwise contact by itself.

The package is skipped, with the reason, when `/usr/bin/chromium` or the `playwright` package is
missing; CI installs both (`.ci/run`, the `test` extra).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import pytest

from gridshare.config import Settings
from tests.e2e.servers import served_settings, serving_small_demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Without the background-networking flags Chromium's own connections are refused on a closed
network and its page loads stall."""

LABEL = "browser"
"""Names the server's database under PostgreSQL (`servers.serving_small_demo`)."""
SCOPE = "cds_accounts_1"
"""The consent scope the test app asks the customer for."""


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return (
            f"browser tests skipped: {CHROMIUM} is missing "
            "(Debian: apt-get install chromium; CI installs it)"
        )
    if importlib.util.find_spec("playwright") is None:
        return "browser tests skipped: the playwright package is missing (pip install -e '.[test]')"
    return None


MISSING = _missing()
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if MISSING is None:
        return
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=MISSING))


@pytest.fixture(scope="package")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data directory of `server` (its log; under SQLite its database)."""
    return tmp_path_factory.mktemp("browser-server")


@pytest.fixture(scope="package")
def server(server_dir: Path) -> Iterator[str]:
    """`gridshare serve` over a small demo utility (six sandbox test customers)."""
    with serving_small_demo(server_dir, LABEL) as base:
        yield base


@pytest.fixture(scope="package")
def server_settings(server: str, server_dir: Path) -> Settings:
    """The settings `server` runs with, for working on its database beside it as the utility's
    operator does (the `gridshare` CLI, or a session of its own)."""
    return served_settings(server_dir, LABEL, server)


@dataclass(frozen=True)
class App:
    """The third-party app the customer is asked about: its sandbox Client Object and secret,
    and its registration's client-admin token (to look at Grants)."""

    base: str
    metadata: dict[str, Any]
    client_id: str
    client_secret: str
    redirect_uri: str
    admin_token: str

    @property
    def auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.client_id, self.client_secret)

    def authorization_url(
        self,
        state: str,
        verifier: str,
        authorization_details: list[dict[str, Any]] | None = None,
    ) -> str:
        """A front-channel authorization request with PKCE S256 for `SCOPE`, with
        `authorization_details` (e.g. a preselection) when given."""
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": SCOPE,
            "state": state,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
        if authorization_details is not None:
            query["authorization_details"] = json.dumps(authorization_details)
        return f"{self.metadata['authorization_endpoint']}?{urlencode(query)}"

    def grant(self, grant_id: str) -> dict[str, Any]:
        """One of the sandbox Client Object's Grants, as the Grants API shows it."""
        answer = httpx.get(
            f"{self.metadata['cds_grants_api']}/{grant_id}",
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def grant_ids(self) -> set[str]:
        """The ids of the sandbox Client Object's Grants (Grants API, every page)."""
        found: set[str] = set()
        url: str | None = self.metadata["cds_grants_api"]
        params: dict[str, str] | None = {"client_ids": self.client_id}
        while url:
            answer = httpx.get(
                url, params=params, headers={"Authorization": f"Bearer {self.admin_token}"}
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            found |= {grant["grant_id"] for grant in body["grants"]}
            url, params = body.get("next"), None
        return found


def new_pkce() -> tuple[str, str]:
    """A fresh `state` and PKCE `code_verifier`."""
    return secrets.token_urlsafe(16), secrets.token_urlsafe(48)


def _registration(metadata: dict[str, Any], scopes: list[str]) -> dict[str, Any]:
    """A registration asking for `scopes`, with every registration field they require."""
    body: dict[str, Any] = {"client_name": "Sunny Side App", "scope": " ".join(scopes)}
    for scope_id in scopes:
        for field_id in metadata["cds_scope_descriptions"][scope_id]["registration_requirements"]:
            described = metadata["cds_registration_fields"][field_id]
            if described["type"] == "registration_field":
                body[described["field_name"]] = "Sunny Side Inc."
    return body


@pytest.fixture(scope="package")
def app(server: str) -> App:
    """Registered over HTTP: registration → client-admin token → the sandbox Client Object →
    its secret from the Credentials API."""
    cds = httpx.get(f"{server}/.well-known/cds-server-metadata.json").json()
    metadata: dict[str, Any] = httpx.get(cds["oauth_metadata"]).json()
    registered = httpx.post(
        metadata["registration_endpoint"],
        json=_registration(metadata, ["cds_client_admin", SCOPE]),
    )
    assert registered.status_code == 201, registered.text
    admin = httpx.BasicAuth(registered.json()["client_id"], registered.json()["client_secret"])
    token = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": "cds_client_admin"},
        auth=admin,
    )
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    clients = httpx.get(metadata["cds_clients_api"], headers=bearer).json()["clients"]
    sandbox = next(c for c in clients if "code" in c["response_types"])
    assert sandbox["cds_status"] == "sandbox"
    credentials = httpx.get(
        metadata["cds_credentials_api"], params={"client_ids": sandbox["client_id"]}, headers=bearer
    ).json()["credentials"]
    redirect_uri = sandbox["cds_default_redirect_uri"]
    assert redirect_uri in sandbox["redirect_uris"]
    return App(
        base=server,
        metadata=metadata,
        client_id=sandbox["client_id"],
        client_secret=credentials[0]["client_secret"],
        redirect_uri=redirect_uri,
        admin_token=token.json()["access_token"],
    )


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Headless system Chromium, shared by the package's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at desktop size."""
    made = browser.new_context(viewport={"width": 1280, "height": 800})
    made.set_default_timeout(15_000)
    yield made
    made.close()
