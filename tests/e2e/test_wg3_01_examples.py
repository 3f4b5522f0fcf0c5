"""CDS-WG3-01 §13 Examples 13.1-13.4, replayed in order against `gridshare serve` over real HTTP.

The server runs in its own process over a small demo utility (`servers.serving_small_demo`); the
client side is plain `requests`, holding nothing but what earlier answers gave it (URLs from the
metadata, ids and secrets from the Clients and Credentials APIs), as a third-party app would. The
Customer logs in and approves on the HTML forms, as a browser submits them; the utility's staff
use the `gridshare` CLI in its own process (`staff.gridshare`). Each step checks the example's
status code and compares key sets with the example's JSON, read from the spec text itself
(`example_json`; its typos - missing or trailing commas, `...` elisions, duplicate keys - are
tolerated), never retyped; values are ignored.

Adaptations to our ids and decisions (each one is repeated where it applies):
- Scope ids are the example's; authorization details types are the scope ids (`cds_usage_1`, not
  `cds_usage_1ad`: WG1-02 §3.4, docs/spec-decisions.md). The registration field is our
  `company_name` (`cds_company_name`), not the example's `invite_code`.
- 13.1.2: 201 Created (RFC 7591 §3.2.1). Client Objects carry `contacts` (§5.1 REQUIRED) and
  `client_name` on every object.
- 13.1.4/13.2.1: direct-access scopes need the utility's internal review here,
  so their Client Object starts in `sandbox`; staff approve it (`gridshare clients approve`) and the
  app uses the production twin the approval creates.
- 13.1.5: one server, so the client-specific metadata is the public metadata (no
  `/cds-customerdata/` or `sandbox.` hosts); 13.2.1, 13.3.3, 13.3.7 and 13.4.4 use its endpoints.
- 13.2.1/13.3.3: our scope defaults are privacy-minimal, so the app asks for the `include_*`
  values the examples' tokens show; token responses echo every field the scope offers (a superset
  of the example's entry, each one a field of `authorization_details_fields_supported`).
- 13.3.3: the PKCE verifier has 43 characters (RFC 7636; the example's 16 are refused).
- 13.3.5: usage segments carry `related_billsections` (§10.8.1; missing in the example).
- 13.4.1: the grant_request names an account number of the demo utility (`1234567-9` is not one);
  the staff approve it with `gridshare requests approve`.
- 13.4.3: GET on a Grant's `uri` returns the Grant object, not the listing wrapper of the example.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
import requests

from tests.e2e.servers import serving_small_demo
from tests.e2e.staff import gridshare
from tests.object_keys import CREDENTIAL_KEYS, GRANT_KEYS, MESSAGE_KEYS

pytestmark = pytest.mark.slow

SPEC = Path(os.environ.get("GRIDSHARE_CDS_SPECS", "/work/shared/specs/cds"), "cds-wg3-01-dev.md")
"""The CDS-WG3-01 text, whose §13 examples the key sets come from (not part of the repository)."""
REDIRECT = "https://energy-app.example.com/redirect"
REGISTRATION_SCOPE = (
    "cds_client_admin cds_grant_admin_1 cds_query_accounts_1 cds_query_bill_statements_1 "
    "cds_service_contracts_1 cds_usage_1"
)
DIRECT_SCOPE = "cds_query_accounts_1 cds_query_bill_statements_1"
CONSENT_SCOPE = "cds_service_contracts_1 cds_usage_1"
LABEL = "wg3_examples"


# --- the spec's example JSON -------------------------------------------------------------------


def _section(title: str) -> str:
    """The text of the §13 subsection headed `title` (up to the next heading)."""
    if not SPEC.exists():
        pytest.skip(f"the CDS-WG3-01 text is not at {SPEC} (set GRIDSHARE_CDS_SPECS)")
    text = SPEC.read_text(encoding="utf-8")
    start = text.index(f". {title}\n")
    end = text.find("\n#", start)
    return text[start:end]


def _lenient_json(text: str) -> Any:
    """The example's JSON, forgiving its typos: `...` elisions, missing and trailing commas."""
    lines = [line for line in text.splitlines() if line.strip().rstrip(",") != "..."]
    text = "\n".join(lines)
    text = re.sub(r'("|\]|\}|true|false|null|\d)(\s*\n\s*")', r"\1,\2", text)
    text = re.sub(r",(\s*[\]}])", r"\1", text)
    return json.loads(text)


def example_json(title: str, part: str = "==Response==", index: int = -1) -> Any:
    """The JSON body of the `index`th `part` (request or response) in the subsection `title`."""
    chunks = _section(title).split(part)[1:]
    chunk = chunks[index].split("==")[0]
    start = min(chunk.find(c) for c in "{[" if c in chunk)
    body = chunk[start : chunk.rindex("]}"["[{".index(chunk[start])]) + 1]
    return _lenient_json(body)


def example_keys(title: str, listing: str | None = None) -> set[str]:
    """The keys of the example's response object, or the union of its `listing` items' keys."""
    body = example_json(title)
    if listing is None:
        return set(body)
    return set().union(*(set(item) for item in body[listing]))


# --- HTTP helpers ------------------------------------------------------------------------------


def _check(step: str, response: requests.Response, status: int, keys: set[str] | None) -> Any:
    """The example's status code and (unless None) top-level key set; returns the JSON body."""
    assert response.status_code == status, f"{step}: {response.status_code} {response.text}"
    body = response.json()
    if keys is not None:
        assert set(body) == keys, (
            f"{step}: missing {sorted(keys - set(body))}, unexpected {sorted(set(body) - keys)}"
        )
    return body


def _items(
    step: str,
    items: list[dict[str, Any]],
    keys: set[str],
    unless: tuple[str, str] | None = None,
) -> None:
    """Every listed object has exactly the example's item keys; `unless` = (field, other): the
    object omits `field` when `other` is null (§10.5.1: `file_mimetype` goes with `file_uri`)."""
    assert items, f"{step}: the listing is empty"
    for item in items:
        wanted = keys
        if unless is not None and item.get(unless[1]) is None:
            wanted = keys - {unless[0]}
        assert set(item) == wanted, (
            f"{step}: missing {sorted(wanted - set(item))}, unexpected {sorted(set(item) - wanted)}"
        )


def _basic(client_id: str, secret: str) -> requests.auth.HTTPBasicAuth:
    return requests.auth.HTTPBasicAuth(quote(client_id, safe=""), quote(secret, safe=""))


def _bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


def _details_superset(
    step: str, got: list[dict[str, Any]], example: list[dict[str, Any]], metadata: dict[str, Any]
) -> None:
    """Each example entry's keys are in our entry of the same scope; our extra keys are fields the
    scope offers (our token responses echo every field, defaults filled in)."""
    ours = {entry["type"]: entry for entry in got}
    for entry in example:
        scope_id = entry["type"].removesuffix("ad")
        assert scope_id in ours, f"{step}: no authorization details entry for {scope_id}"
        assert set(entry) <= set(ours[scope_id]), f"{step}: {scope_id} lacks example keys"
        unknown = set(ours[scope_id]) - {"type"} - offered(metadata, scope_id)
        assert not unknown, f"{step}: {scope_id} has keys it does not offer: {unknown}"


def offered(metadata: dict[str, Any], scope_id: str) -> set[str]:
    """The authorization details fields the scope offers (its Scope Description)."""
    described = metadata["cds_scope_descriptions"][scope_id]
    return {f["id"] for f in described["authorization_details_fields_supported"]}


# --- the Customer's browser --------------------------------------------------------------------


@dataclass
class Form:
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    boxes: list[tuple[str, str, bool]] = field(default_factory=list)


class Forms(HTMLParser):
    """A page's forms: hidden and text inputs, and checkboxes with their checked state."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", "")))
        elif tag == "input" and self.forms and "name" in values:
            if values.get("type") == "checkbox":
                box = (values["name"], values.get("value", "on"), "checked" in values)
                self.forms[-1].boxes.append(box)
            else:
                self.forms[-1].fields.append((values["name"], values.get("value", "")))


def forms_of(page: requests.Response) -> list[Form]:
    parser = Forms()
    parser.feed(page.text)
    return parser.forms


def log_in(browser: requests.Session, url: str, username: str, password: str) -> requests.Response:
    """Open `url`; on the login form, log in as `username`; returns the page that follows."""
    page = browser.get(url)
    assert page.status_code == 200, page.text
    login = next(f for f in forms_of(page) if ("username", "") in f.fields)
    filled = [(k, v) for k, v in login.fields if k not in ("username", "password")]
    filled += [("username", username), ("password", password)]
    after = browser.post(urljoin(page.url, login.action), data=filled)
    assert after.status_code == 200, after.text
    return after


def approve(
    browser: requests.Session, url: str, username: str, password: str, *, tick_all: bool
) -> str:
    """A person opens the authorization link, logs in and approves, ticking every resource
    (`tick_all`) or leaving the form's preselection; returns where the redirect goes."""
    page = log_in(browser, url, username, password)
    decision = next(f for f in forms_of(page) if any(k == "csrf_token" for k, _ in f.fields))
    ticked = [
        (name, value)
        for name, value, checked in decision.boxes
        if name.startswith(("select.", "future.")) and (checked or tick_all)
        if not (tick_all and name.startswith("future."))
    ]
    assert any(name.startswith("select.") for name, _ in ticked), "nothing to select"
    answer = browser.post(
        urljoin(page.url, decision.action),
        data=[*decision.fields, *ticked, ("decision", "approve")],
        allow_redirects=False,
    )
    assert answer.status_code in (302, 303), answer.text
    location: str = answer.headers["location"]
    return location


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)  # 43 characters (RFC 7636)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- the replay --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`gridshare serve` over a small demo utility; yields its base URL and data directory."""
    data_dir = tmp_path_factory.mktemp("wg3-examples")
    with serving_small_demo(data_dir, LABEL) as base:
        yield base, data_dir


@pytest.mark.req(
    "WG3-5-a",
    "WG3-6.2-a",
    "WG3-9.1-a",
    "WG3-10-a",
    "WG3-10-c",
)
def test_the_section_13_examples_in_order(server: tuple[str, Path]) -> None:
    base, data_dir = server
    _replay(base, lambda *args: gridshare(base, data_dir, LABEL, *args))


def _replay(base: str, staff: Any) -> None:
    http = requests.Session()

    # 13.1.1 Retrieving Available Scopes from Metadata
    cds = _check("13.1.1", http.get(f"{base}/.well-known/cds-server-metadata.json"), 200, None)
    metadata = _check("13.1.1", http.get(cds["oauth_metadata"]), 200, None)
    shown = example_keys("Retrieving Available Scopes from Metadata")
    missing = shown - set(metadata)
    assert not missing, f"13.1.1: missing {sorted(missing)}"
    assert set(REGISTRATION_SCOPE.split()) <= set(metadata["cds_scope_descriptions"])
    for scope_id in REGISTRATION_SCOPE.split():
        described = metadata["cds_scope_descriptions"][scope_id]
        example = example_json("Retrieving Available Scopes from Metadata")
        assert set(described) == set(example["cds_scope_descriptions"][scope_id]), scope_id
    fields = metadata["cds_registration_fields"]

    # 13.1.2 Registering a Client (201; our registration field instead of invite_code)
    body: dict[str, Any] = {"scope": REGISTRATION_SCOPE, "client_name": "My App Name"}
    for scope_id in REGISTRATION_SCOPE.split():
        described = metadata["cds_scope_descriptions"][scope_id]
        for field_id in described["registration_requirements"]:
            if fields[field_id]["type"] == "registration_field":
                body[fields[field_id]["field_name"]] = "My Company Name"
    client_keys = example_keys("Registering a Client") | {"contacts"}
    admin = _check(
        "13.1.2", http.post(metadata["registration_endpoint"], json=body), 201, client_keys
    )
    assert admin["scope"] == "cds_client_admin"

    # 13.1.3 Obtaining a Client Admin Access Token
    admin_token = _check(
        "13.1.3",
        http.post(
            metadata["token_endpoint"],
            data={"grant_type": "client_credentials", "scope": "cds_client_admin"},
            auth=_basic(admin["client_id"], admin["client_secret"]),
        ),
        200,
        example_keys("Obtaining a Client Admin Access Token"),
    )
    admin_auth = _bearer(admin_token)

    # 13.1.4 Retrieving Client Objects with Customer Data Scopes
    title = "Retrieving Client Objects with Customer Data Scopes"
    listing = _check("13.1.4", http.get(metadata["cds_clients_api"], headers=admin_auth), 200, None)
    assert set(listing) == set(example_json(title)), "13.1.4: listing keys"
    examples = {c["scope"]: c for c in example_json(title)["clients"]}
    by_scope = {c["scope"]: c for c in listing["clients"]}
    assert set(by_scope) == set(examples), "13.1.4: one Client Object per example object"
    for scope, client in by_scope.items():
        wanted = set(examples[scope]) | {"contacts", "client_name"}
        if scope in (CONSENT_SCOPE, DIRECT_SCOPE):  # our registration field
            wanted |= {"cds_company_name"}
        assert set(client) == wanted, f"13.1.4: {scope}: {set(client) ^ wanted}"
    grant_admin, direct, consent = (
        by_scope["cds_grant_admin_1"],
        by_scope[DIRECT_SCOPE],
        by_scope[CONSENT_SCOPE],
    )
    assert grant_admin["cds_status"] == "production"
    assert consent["cds_status"] == "sandbox"
    assert direct["cds_status"] == "sandbox"  # adaptation: internal review first

    # 13.1.5 Retrieving Client-specific Server Metadata (one server: the public metadata)
    for client in (grant_admin, direct, consent):
        own = _check("13.1.5", http.get(client["cds_server_metadata"]), 200, None)
        assert own["oauth_metadata"] == cds["oauth_metadata"]

    # The utility's staff approve the direct-access object: its production twin is the app's.
    production_id = staff("clients", "approve", direct["client_id"]).strip()
    direct = _check(
        "13.1.4",
        http.get(f"{metadata['cds_clients_api']}/{production_id}", headers=admin_auth),
        200,
        None,
    )
    assert (direct["scope"], direct["cds_status"]) == (DIRECT_SCOPE, "production")

    # 13.1.6 Retrieving Client Secrets
    ids = [grant_admin["client_id"], direct["client_id"], consent["client_id"]]
    credentials = _check(
        "13.1.6",
        http.get(
            metadata["cds_credentials_api"],
            params={"client_ids": " ".join(ids)},
            headers=admin_auth,
        ),
        200,
        example_keys("Retrieving Client Secrets"),
    )
    _items("13.1.6", credentials["credentials"], CREDENTIAL_KEYS)
    assert example_keys("Retrieving Client Secrets", "credentials") == CREDENTIAL_KEYS
    secret = {c["client_id"]: c["client_secret"] for c in credentials["credentials"]}
    assert set(secret) == set(ids)

    # 13.2.1 Obtaining an Access Token with Direct Access Scopes (asking for the example's
    # include_* values: our defaults are privacy-minimal)
    title = "Obtaining an Access Token with Direct Access Scopes"
    shown_details = example_json(title)["authorization_details"]
    asked = [
        {"type": e["type"].removesuffix("ad")} | {k: v for k, v in e.items() if k[:8] == "include_"}
        for e in shown_details
    ]
    direct_token = _check(
        "13.2.1",
        http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "client_credentials",
                "scope": DIRECT_SCOPE,
                "authorization_details": json.dumps(asked),
            },
            auth=_basic(direct["client_id"], secret[direct["client_id"]]),
        ),
        200,
        example_keys(title),
    )
    assert direct_token["scope"] == DIRECT_SCOPE
    _details_superset("13.2.1", direct_token["authorization_details"], shown_details, metadata)

    # 13.2.2 Retrieving an Account List
    title = "Retrieving an Account List"
    accounts = _check(
        "13.2.2",
        http.get(metadata["cds_accounts_api"], headers=_bearer(direct_token)),
        200,
        example_keys(title),
    )
    _items("13.2.2", accounts["accounts"], example_keys(title, "accounts"))

    # 13.2.3 Retrieving an Account's Bill Statements
    title = "Retrieving an Account's Bill Statements"
    statements = _check(
        "13.2.3",
        http.get(metadata["cds_billstatement_api"], headers=_bearer(direct_token)),
        200,
        example_keys(title),
    )
    _items(
        "13.2.3",
        statements["bill_statements"],
        example_keys(title, "bill_statements"),
        unless=("file_mimetype", "file_uri"),
    )
    dates = [s["statement_date"] for s in statements["bill_statements"]]
    assert dates == sorted(dates, reverse=True), "13.2.3: newest statement first"

    # 13.3.1 Adding a Custom Redirect URL
    title = "Adding a Custom Redirect URL"
    put = example_json(title, "==Request==")
    put = {k: consent[k] for k in put if k in consent}
    put["redirect_uris"] = [*consent["redirect_uris"], REDIRECT]
    consent = _check(
        "13.3.1",
        http.put(consent["cds_client_uri"], json=put, headers=admin_auth),
        200,
        example_keys(title) | {"contacts", "cds_company_name"},
    )
    assert REDIRECT in consent["redirect_uris"]

    # 13.3.2 Building an Authorization Request URL (types without "ad"; merged selections)
    merged = example_json("Building an Authorization Request URL", "```", -2)
    # adaptation: our defaults are privacy-minimal, so ask for the include_* values of 13.3.3
    given = example_json("Using an Authorization Code to Obtain an Access Token")
    includes = {
        e["type"]: {
            k: v
            for k, v in e.items()
            if v is True and k in offered(metadata, e["type"].removesuffix("ad"))
        }
        for e in given["authorization_details"]
    }
    verifier, challenge = pkce_pair()
    link = requests.Request(
        "GET",
        metadata["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": consent["client_id"],
            "redirect_uri": REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "mystate1234",
            "scope": CONSENT_SCOPE,
            "authorization_details": json.dumps(
                [
                    entry
                    | includes[entry["type"]]
                    | {"type": entry["type"].removesuffix("ad")}
                    # adaptation: the demo's data ends 2025-06-30; reach back far enough
                    | ({"segment_start": "P3Y"} if entry["type"].startswith("cds_usage") else {})
                    for entry in merged
                ]
            ),
        },
    ).prepare()
    accounts_page = http.get(metadata["cds_test_accounts"], headers={"Accept": "application/json"})
    home = next(a for a in accounts_page.json()["test_accounts"] if a["username"] == "home")
    callback = approve(
        requests.Session(), str(link.url), home["username"], home["password"], tick_all=False
    )
    assert callback.startswith(REDIRECT + "?"), callback
    answer = parse_qs(urlsplit(callback).query)
    assert answer["state"] == ["mystate1234"]

    # 13.3.3 Using an Authorization Code to Obtain an Access Token
    title = "Using an Authorization Code to Obtain an Access Token"
    customer_token = _check(
        "13.3.3",
        http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": answer["code"][0],
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
            auth=_basic(consent["client_id"], secret[consent["client_id"]]),
        ),
        200,
        example_keys(title),
    )
    assert set(customer_token["scope"].split()) == set(CONSENT_SCOPE.split())
    [grant_id] = customer_token["cds_grant_ids"]

    # 13.3.4 Retrieving a Service Contract List
    title = "Retrieving a Service Contract List"
    contracts = _check(
        "13.3.4",
        http.get(metadata["cds_servicecontracts_api"], headers=_bearer(customer_token)),
        200,
        example_keys(title),
    )
    _items("13.3.4", contracts["service_contracts"], example_keys(title, "service_contracts"))

    # 13.3.5 Retrieving Electric Interval Data (+ related_billsections, §10.8.1)
    title = "Retrieving Electric Interval Data"
    segments = _check(
        "13.3.5",
        http.get(metadata["cds_usagesegments_api"], headers=_bearer(customer_token)),
        200,
        example_keys(title),
    )
    segment_keys = example_keys(title, "usage_segments") | {"related_billsections"}
    _items("13.3.5", segments["usage_segments"], segment_keys)

    # 13.3.6 Retrieving Customer Authorized Grants
    title = "Retrieving Customer Authorized Grants"
    grants = _check(
        "13.3.6",
        http.get(metadata["cds_grants_api"], params={"grant_ids": grant_id}, headers=admin_auth),
        200,
        example_keys(title),
    )
    _items("13.3.6", grants["grants"], example_keys(title, "grants"))
    assert example_keys(title, "grants") == GRANT_KEYS
    [grant] = grants["grants"]
    assert (grant["grant_id"], grant["status"]) == (grant_id, "active")
    assert grant["receipt_confirmations"], "13.3.6: the receipt's confirmation code"

    # 13.3.7 Obtaining a Grant Admin Access Token for a Customer Authorized Grant
    title = "Obtaining a Grant Admin Access Token for a Customer Authorized Grant"
    entry = {"type": "cds_grant_admin_1", "client_id": consent["client_id"], "grant_id": grant_id}
    admin_of_grant = _check(
        "13.3.7",
        http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "client_credentials",
                "scope": "cds_grant_admin_1",
                "authorization_details": json.dumps([entry]),
            },
            auth=_basic(grant_admin["client_id"], secret[grant_admin["client_id"]]),
        ),
        200,
        example_keys(title),
    )
    assert admin_of_grant["authorization_details"] == [entry]
    again = _check(
        "13.3.7",
        http.get(metadata["cds_servicecontracts_api"], headers=_bearer(admin_of_grant)),
        200,
        None,
    )
    assert again["service_contracts"] == contracts["service_contracts"]

    # 13.4.1 Sending a Message with a Grant Request (for a demo account number)
    title = "Sending a Message with a Grant Request"
    number = next(a["account_number"] for a in accounts["accounts"] if a["account_number"])
    request = example_json(title, "==Request==")
    request["related_uri"] = direct["cds_client_uri"]
    for wanted in request["grants_requested"]:
        for ask in wanted["authorization_details"]:
            ask["type"] = ask["type"].removesuffix("ad")
            ask["account_numbers"] = [number]
    sent = _check(
        "13.4.1",
        http.post(metadata["cds_messages_api"], json=request, headers=admin_auth),
        201,
        example_keys(title) | {"related_type"},
    )
    assert (sent["type"], sent["status"]) == ("grant_request", "pending")

    # The utility's staff approve the request.
    staff("requests", "approve", sent["message_id"])

    # 13.4.2 Retrieving a Message Reply to a Grant Request
    title = "Retrieving a Message Reply to a Grant Request"
    inbox = _check(
        "13.4.2",
        http.get(metadata["cds_messages_api"], headers=admin_auth),
        200,
        example_keys(title),
    )
    [reply] = [m for m in inbox["unread"] if m["previous_uri"] == sent["uri"]]
    assert set(reply) == example_keys(title, "unread")
    assert set(reply) == MESSAGE_KEYS | {"related_uri", "related_type"}
    assert (reply["type"], reply["status"]) == ("request_update", "complete"), reply
    # adaptation: the reply links the Grants it created as a `grant_list` (one Grant here)
    assert reply["related_type"] in ("grant", "grant_list"), reply
    grant_uri = reply["related_uri"]
    if reply["related_type"] == "grant_list":
        made = _check("13.4.2", http.get(grant_uri, headers=admin_auth), 200, None)
        [grant_uri] = [g["uri"] for g in made["grants"]]

    # 13.4.3 Retrieving the Server-Created Grant (the Grant object, not a listing)
    title = "Retrieving the Server-Created Grant"
    created = _check(
        "13.4.3",
        http.get(grant_uri, headers=admin_auth),
        200,
        example_keys(title, "grants"),
    )
    assert (created["client_id"], created["scope"]) == (direct["client_id"], "cds_query_accounts_1")

    # 13.4.4 Obtaining a Grant Admin Access Token for a Server-Created Grant
    title = "Obtaining a Grant Admin Access Token for a Server-Created Grant"
    entry = {
        "type": "cds_grant_admin_1",
        "client_id": direct["client_id"],
        "grant_id": created["grant_id"],
    }
    server_grant_token = _check(
        "13.4.4",
        http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "client_credentials",
                "scope": "cds_grant_admin_1",
                "authorization_details": json.dumps([entry]),
            },
            auth=_basic(grant_admin["client_id"], secret[grant_admin["client_id"]]),
        ),
        200,
        example_keys(title),
    )

    # 13.4.4 (bis) Retrieving Customer Data for a Server-Created Grant: that one account
    title = "Retrieving Customer Data for a Server-Created Grant"
    shared = _check(
        "13.4.4",
        http.get(metadata["cds_accounts_api"], headers=_bearer(server_grant_token)),
        200,
        example_keys(title),
    )
    _items("13.4.4", shared["accounts"], example_keys(title, "accounts"))
    assert [a["account_number"] for a in shared["accounts"]] == [number]
