"""A third-party app goes from nothing to a revoked token over real HTTP, against `gridshare serve`
in its own process: discovery → registration → client-admin token → its sandbox Client Object and
secret → a PAR-pushed authorization request → the test customer logs in and approves → code →
token with PKCE → introspection → refresh → revocation.

The client side is requests-oauthlib (`OAuth2Session` with `pkce="S256"`), an OAuth library we did
not write; the browser is a plain `requests.Session` that reads the HTML forms as a person would
fill them in (hidden CSRF tokens included). Everything the client uses comes from earlier answers:
URLs from the metadata, ids and secrets from the Clients and Credentials APIs, the test customer's
password from `cds_test_accounts`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from tests.e2e.servers import serving_small_demo

pytestmark = pytest.mark.slow

CALLBACK = "https://app.example/callback"
"""The app's own redirect URI, added with the Clients API (as CDS-WG3-01 example 13.3.1 does)."""


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class Forms(HTMLParser):
    """The forms of a page: action, hidden and filled-in fields, submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", "")))
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "button" and self.forms and "name" in values:
            self.forms[-1].buttons.append((values["name"], values.get("value", "")))


def forms_of(page: requests.Response) -> list[Form]:
    parser = Forms()
    parser.feed(page.text)
    return parser.forms


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`gridshare serve` over a small demo utility (six sandbox test customers)."""
    with serving_small_demo(tmp_path_factory.mktemp("oauth-e2e"), "oauth_e2e") as base:
        yield base


def _registration_body(metadata: dict[str, Any], scopes: list[str]) -> dict[str, Any]:
    """A registration asking for `scopes`, filling in every registration field they require."""
    body: dict[str, Any] = {"client_name": "Sunny Side App", "scope": " ".join(scopes)}
    for scope_id in scopes:
        for field_id in metadata["cds_scope_descriptions"][scope_id]["registration_requirements"]:
            described = metadata["cds_registration_fields"][field_id]
            if described["type"] == "registration_field":
                body[described["field_name"]] = "Sunny Side Inc."
    return body


def _browser_approves(authorization_url: str, username: str, password: str) -> str:
    """A person opens the link, logs in, approves; returns where the app's callback is hit."""
    browser = requests.Session()
    login_page = browser.get(authorization_url)
    assert login_page.status_code == 200, login_page.text
    [login, cancel] = forms_of(login_page)
    assert "csrf_token" in login.fields
    assert cancel.fields["decision"] == "cancel"
    filled = {**login.fields, "username": username, "password": password}
    consent_page = browser.post(urljoin(login_page.url, login.action), data=filled)
    assert consent_page.status_code == 200, consent_page.text
    assert "Sunny Side App" in consent_page.text
    decision, _logout = forms_of(consent_page)
    assert ("decision", "approve") in decision.buttons
    answer = browser.post(
        urljoin(consent_page.url, decision.action),
        data={**decision.fields, "decision": "approve"},
        allow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return location


@pytest.mark.req(
    "WG1-02-3.1-c",
    "WG1-02-3.2-f",
    "WG1-02-3.2-i",
    "WG1-02-3.4-e",
    "WG1-02-4.2-h",
    "WG3-9.1-a",
    "WG3-9.1.1-a",
    "WG3-9.1.1-g",
    "WG3-9.1.2-a",
    "WG1-02-11.4-a",
)
def test_an_app_registers_gets_authorized_with_pkce_and_revokes(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the test server speaks plain http
    cds = requests.get(f"{server}/.well-known/cds-server-metadata.json").json()
    assert "oauth" in cds["capabilities"]
    metadata = requests.get(cds["oauth_metadata"]).json()
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert "plain" not in metadata["code_challenge_methods_supported"]
    consent_scopes = [
        scope_id
        for scope_id, described in metadata["cds_scope_descriptions"].items()
        if "code" in described["response_types_supported"]
    ]
    assert consent_scopes
    # Aggregation Inclusion is asked for named Aggregations only (CDS-WG3-01 §6.1.10), never by
    # the scope string alone; the app registers for it but does not request it here.
    requested = [
        s
        for s in consent_scopes
        if metadata["cds_scope_descriptions"][s]["type"] != "cds_aggregation_consent"
    ]

    registered = requests.post(
        metadata["registration_endpoint"],
        json=_registration_body(metadata, ["cds_client_admin", *consent_scopes]),
    )
    assert registered.status_code == 201, registered.text
    admin_auth = HTTPBasicAuth(registered.json()["client_id"], registered.json()["client_secret"])

    admin = OAuth2Session(client=BackendApplicationClient(registered.json()["client_id"]))
    admin.fetch_token(metadata["token_endpoint"], auth=admin_auth, scope=["cds_client_admin"])
    clients = admin.get(metadata["cds_clients_api"]).json()["clients"]
    sandbox = next(c for c in clients if "code" in c["response_types"])
    assert sandbox["cds_status"] == "sandbox"
    sandbox["redirect_uris"] = [*sandbox["redirect_uris"], CALLBACK]
    updated = admin.put(sandbox["cds_client_uri"], json=sandbox)
    assert updated.status_code == 200, updated.text
    assert CALLBACK in updated.json()["redirect_uris"]
    credentials = admin.get(
        metadata["cds_credentials_api"], params={"client_ids": sandbox["client_id"]}
    ).json()["credentials"]
    app_auth = HTTPBasicAuth(sandbox["client_id"], credentials[0]["client_secret"])

    accounts = requests.get(
        metadata["cds_test_accounts"], headers={"Accept": "application/json"}
    ).json()["test_accounts"]
    home = next(a for a in accounts if a["username"] == "home")

    app = OAuth2Session(sandbox["client_id"], redirect_uri=CALLBACK, scope=requested, pkce="S256")
    front_channel, state = app.authorization_url(metadata["authorization_endpoint"])
    request = {k: v[0] for k, v in parse_qs(urlsplit(front_channel).query).items()}
    assert request["code_challenge_method"] == "S256"
    pushed = requests.post(
        metadata["pushed_authorization_request_endpoint"], data=request, auth=app_auth
    )
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["expires_in"] > 0
    by_reference = requests.Request(
        "GET",
        metadata["authorization_endpoint"],
        params={"client_id": sandbox["client_id"], "request_uri": pushed.json()["request_uri"]},
    ).prepare()
    callback = _browser_approves(str(by_reference.url), home["username"], home["password"])
    assert parse_qs(urlsplit(callback).query)["state"] == [state]

    token = app.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, auth=app_auth
    )
    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"]) == set(requested)
    assert token["refresh_token"]
    [grant_id] = token["cds_grant_ids"]

    introspected = requests.post(
        metadata["introspection_endpoint"], data={"token": token["access_token"]}, auth=app_auth
    ).json()
    assert introspected["active"] is True
    assert introspected["client_id"] == sandbox["client_id"]

    grants = admin.get(metadata["cds_grants_api"], params={"grant_ids": grant_id}).json()
    assert [g["status"] for g in grants["grants"]] == ["active"]

    refreshed = app.refresh_token(metadata["token_endpoint"], auth=app_auth)
    assert refreshed["access_token"] != token["access_token"]
    revoked = requests.post(
        metadata["revocation_endpoint"],
        data={"token": refreshed["refresh_token"], "token_type_hint": "refresh_token"},
        auth=app_auth,
    )
    assert revoked.status_code == 200
    for value in (refreshed["access_token"], refreshed["refresh_token"]):
        after = requests.post(
            metadata["introspection_endpoint"], data={"token": value}, auth=app_auth
        ).json()
        assert after == {"active": False}
