"""CDS-WG1-02 §5 Clients API over HTTP: listing, retrieving and updating Client Objects with a
`cds_client_admin` token from the token endpoint."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.store.tables.grants import Token
from gridshare.store.tables.messages import Message
from tests.oauth.admin_setup import (
    ACCOUNTS,
    DIRECT,
    DIRECT_TOO,
    FILES,
    GRANT_ADMIN,
    INVITED,
    REVIEWED,
    USAGE,
    Admin,
    HttpFactory,
    clients_by_scope,
    credential_for,
    register,
    token,
)

REQUIRED = {
    "client_id",
    "client_id_issued_at",
    "scope",
    "redirect_uris",
    "token_endpoint_auth_method",
    "grant_types",
    "response_types",
    "client_name",
    "contacts",
    "authorization_details_types",
    "cds_created",
    "cds_modified",
    "cds_client_uri",
    "cds_status",
    "cds_status_options",
    "cds_server_metadata",
}
INTERACTIVE = {"cds_default_scope", "cds_default_redirect_uri", "cds_default_authorization_details"}
APP_REDIRECT = "https://app.example/callback"


def _put(http: TestClient, admin: Admin, client: dict[str, Any], body: dict[str, Any]) -> Any:
    return http.put(client["cds_client_uri"], json=body, headers=admin.headers)


def _modifiable(client: dict[str, Any]) -> dict[str, Any]:
    """What a client sends to keep an object as it is: its modifiable fields."""
    names = {
        "redirect_uris",
        "client_name",
        "client_uri",
        "logo_uri",
        "scope",
        "contacts",
        "tos_uri",
        "policy_uri",
        "cds_status",
        *INTERACTIVE,
    }
    return {key: value for key, value in client.items() if key in names}


def _messages(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return list(session.scalars(select(Message).order_by(Message.created)))


@pytest.mark.req("WG1-02-5-a", "WG1-02-5.3-a", "WG1-02-5.3-b", "WG1-02-11.2-d")
def test_a_listing_holds_exactly_the_registrations_objects(http: TestClient, admin: Admin) -> None:
    other = register(http, client_name="Other App")
    mine = http.get(urls.CLIENTS, headers=admin.headers)
    theirs = http.get(urls.CLIENTS, headers=other.headers)
    assert mine.status_code == theirs.status_code == 200
    assert mine.headers["content-type"] == "application/json"
    body = mine.json()
    assert set(body) == {"clients", "next", "previous"}
    assert (body["next"], body["previous"]) == (None, None)
    ids = {client["client_id"] for client in body["clients"]}
    their_ids = {client["client_id"] for client in theirs.json()["clients"]}
    assert admin.client_id in ids and other.client_id in their_ids
    assert not ids & their_ids
    assert {c["scope"] for c in body["clients"]} == {
        "cds_client_admin",
        GRANT_ADMIN,
        FILES,
        ACCOUNTS,
        DIRECT,
    }


@pytest.mark.req("WG1-02-5.1-a", "WG1-02-5.1-b", "WG1-02-5.1-c", "WG1-02-5.4-a", "WG1-02-5.1-g")
def test_each_object_is_complete_and_retrievable_at_its_uri(http: TestClient, admin: Admin) -> None:
    listed = http.get(urls.CLIENTS, headers=admin.headers).json()["clients"]
    uris = [client["cds_client_uri"] for client in listed]
    assert len(set(uris)) == len(uris)
    for client in listed:
        assert client.keys() >= REQUIRED
        assert not {"client_secret", "client_secret_expires_at"} & client.keys()
        assert (client.keys() >= INTERACTIVE) == bool(client["response_types"])
        assert client["cds_client_uri"] == f"http://testserver{urls.CLIENTS}/{client['client_id']}"
        got = http.get(urlsplit(client["cds_client_uri"]).path, headers=admin.headers)
        assert got.status_code == 200
        assert got.json() == client


@pytest.mark.req("WG1-02-5.3-b", "WG1-02-5.3-d")
def test_the_listing_is_newest_modified_first_in_pages(
    make_http: HttpFactory, engine: Engine
) -> None:
    http = make_http(page_size=2)
    admin = register(http)
    objects = clients_by_scope(http, admin)
    oldest = objects[DIRECT]
    assert _put(http, admin, oldest, _modifiable(oldest) | {"client_name": "Renamed"}).status_code
    seen: list[dict[str, Any]] = []
    url: str | None = urls.CLIENTS
    pages = 0
    while url:
        page = http.get(url, headers=admin.headers).json()
        assert len(page["clients"]) <= 2
        assert (page["previous"] is None) == (pages == 0)
        seen += page["clients"]
        url = page["next"]
        pages += 1
    assert pages == 3
    assert seen[0]["client_id"] == oldest["client_id"]
    assert {c["client_id"] for c in seen} == {c["client_id"] for c in objects.values()}
    stamps = [c["cds_modified"] for c in seen]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.req("WG1-02-5.3-c")
def test_client_ids_filters_the_listing(http: TestClient, admin: Admin) -> None:
    other = register(http)
    objects = clients_by_scope(http, admin)
    wanted = [objects[DIRECT]["client_id"], objects[ACCOUNTS]["client_id"], other.client_id]
    listing = http.get(urls.CLIENTS, params={"client_ids": " ".join(wanted)}, headers=admin.headers)
    assert sorted(c["client_id"] for c in listing.json()["clients"]) == sorted(wanted[:2])
    blank = http.get(urls.CLIENTS, params={"client_ids": " "}, headers=admin.headers)
    assert blank.status_code == 400
    assert blank.json()["error"] == "invalid_request"


@pytest.mark.req("WG1-02-5.4-a", "WG1-02-5.5-a")
def test_another_registrations_object_is_not_found(http: TestClient, admin: Admin) -> None:
    other = register(http)
    theirs = clients_by_scope(http, other)[DIRECT]
    path = urlsplit(theirs["cds_client_uri"]).path
    assert http.get(path, headers=admin.headers).status_code == 404
    answer = http.put(path, json=_modifiable(theirs) | {"client_name": "x"}, headers=admin.headers)
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"
    assert http.get(path, headers=other.headers).json() == theirs
    assert http.get(f"{urls.CLIENTS}/nope", headers=admin.headers).status_code == 404


@pytest.mark.req("WG1-02-5-a", "WG1-02-11.2-d")
def test_the_api_needs_a_client_admin_bearer_token(http: TestClient, admin: Admin) -> None:
    objects = clients_by_scope(http, admin)
    direct = objects[DIRECT]
    direct_token = token(
        http,
        direct["client_id"],
        credential_for(http, admin, direct["client_id"])["client_secret"],
        scope=DIRECT,
    )
    path = urlsplit(direct["cds_client_uri"]).path
    for method, url in (("GET", urls.CLIENTS), ("GET", path), ("PUT", path)):
        missing = http.request(method, url, json=_modifiable(direct))
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = http.request(method, url, headers={"Authorization": "Bearer nonsense"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_token"
        narrow = http.request(
            method,
            url,
            json=_modifiable(direct),
            headers={"Authorization": f"Bearer {direct_token}"},
        )
        assert narrow.status_code == 403
        assert narrow.json()["error"] == "insufficient_scope"


@pytest.mark.req("WG1-02-5.5-a", "WG1-02-5.5-b", "WG1-02-5.5-g", "WG1-02-5.3-e", "WG1-02-6-a")
def test_a_put_like_example_12_7_adds_a_redirect_uri(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    body = {
        "scope": ACCOUNTS,
        "redirect_uris": [accounts["cds_default_redirect_uri"], APP_REDIRECT],
        "authorization_details_types": [ACCOUNTS],
        "cds_status": "sandbox",
        "cds_default_scope": ACCOUNTS,
        "cds_default_redirect_uri": APP_REDIRECT,
        "cds_default_authorization_details": [],
        "cds_company_name": "My Company",
    }
    answer = _put(http, admin, accounts, body)
    assert answer.status_code == 200, answer.text
    updated = answer.json()
    assert updated["redirect_uris"] == body["redirect_uris"]
    assert updated["cds_default_redirect_uri"] == APP_REDIRECT
    assert updated["cds_modified"] >= accounts["cds_modified"]
    assert http.get(urlsplit(accounts["cds_client_uri"]).path, headers=admin.headers).json() == (
        updated
    )
    logged = [m for m in _messages(engine) if m.related_uri == accounts["cds_client_uri"]]
    assert len(logged) == 1
    assert (logged[0].type, logged[0].creator, logged[0].read) == ("notification", None, False)
    assert "redirect_uris" in logged[0].description


@pytest.mark.req("WG1-02-5.5-b", "WG1-02-5.5-g")
def test_every_modifiable_field_can_change(http: TestClient, admin: Admin) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    details = [{"type": ACCOUNTS, "include_account_programs": True}]
    changes = {
        "client_name": "New Name",
        "client_uri": "https://app.example/",
        "logo_uri": "https://app.example/logo.png",
        "tos_uri": "https://app.example/tos",
        "policy_uri": "https://app.example/policy",
        "contacts": ["ops@app.example"],
        "scope": f"{ACCOUNTS} {USAGE}",
        "redirect_uris": [APP_REDIRECT, "http://localhost:8080/cb", "http://127.0.0.1/cb"],
        "cds_default_redirect_uri": "http://localhost:8080/cb",
        "cds_default_scope": USAGE,
        "cds_default_authorization_details": details,
        "cds_status": "disabled",
    }
    answer = _put(http, admin, accounts, changes)
    assert answer.status_code == 200, answer.text
    updated = answer.json()
    assert {key: updated[key] for key in changes} == changes
    assert updated["authorization_details_types"] == [ACCOUNTS, USAGE]
    back = _put(http, admin, updated, _modifiable(updated) | {"cds_status": "sandbox"})
    assert back.status_code == 200
    assert back.json()["cds_status"] == "sandbox"


@pytest.mark.req("WG1-02-5.5-e")
def test_fields_left_out_go_back_to_server_defaults(http: TestClient, admin: Admin) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    server_redirect = accounts["cds_default_redirect_uri"]
    changed = _put(
        http,
        admin,
        accounts,
        {
            "client_name": "Named",
            "client_uri": "https://app.example/",
            "contacts": ["a@app.example"],
            "scope": f"{ACCOUNTS} {USAGE}",
            "redirect_uris": [APP_REDIRECT],
            "cds_default_scope": USAGE,
            "cds_default_authorization_details": [{"type": USAGE}],
        },
    ).json()
    assert changed["cds_default_redirect_uri"] == APP_REDIRECT
    reset = _put(http, admin, changed, {"scope": f"{ACCOUNTS} {USAGE}", "client_name": None})
    assert reset.status_code == 200, reset.text
    after = reset.json()
    assert after["client_name"] == after["client_id"]
    assert "client_uri" not in after
    assert after["contacts"] == []
    assert after["redirect_uris"] == [server_redirect]
    assert after["cds_default_redirect_uri"] == server_redirect
    assert after["cds_default_scope"] == f"{ACCOUNTS} {USAGE}"
    assert after["cds_default_authorization_details"] == []
    assert after["cds_status"] == "sandbox"


READ_ONLY_CHANGES = [
    ("client_id", "someone-else"),
    ("client_id_issued_at", 1),
    ("grant_types", ["client_credentials"]),
    ("response_types", []),
    ("token_endpoint_auth_method", "none"),
    ("cds_created", "2020-01-01T00:00:00Z"),
    ("cds_client_uri", "https://elsewhere.example/c"),
    ("cds_server_metadata", "https://elsewhere.example/m"),
    ("cds_status_options", ["sandbox", "production", "disabled"]),
    ("authorization_details_types", ["cds_grant_admin_1"]),
    ("cds_company_name", "Another Company"),
    ("client_secret", "a-secret-of-my-own-choosing"),
    ("client_secret_expires_at", 12345),
]


@pytest.mark.req("WG1-02-5.5-c", "WG1-02-5.5-d")
def test_read_only_fields_must_keep_their_value(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    before = len(_messages(engine))
    for name, value in READ_ONLY_CHANGES:
        answer = _put(http, admin, accounts, accounts | {name: value, "client_name": "Changed"})
        assert answer.status_code == 400, name
        assert answer.json()["error"] == "invalid_client_metadata"
        assert name in answer.json()["error_description"]
    assert http.get(urlsplit(accounts["cds_client_uri"]).path, headers=admin.headers).json() == (
        accounts
    )
    assert len(_messages(engine)) == before


@pytest.mark.req("WG1-02-5.5-a", "WG1-02-5.5-d")
def test_the_whole_object_sent_back_is_accepted(http: TestClient, admin: Admin) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    secret = credential_for(http, admin, accounts["client_id"])
    body = accounts | {
        "client_secret": secret["client_secret"],
        "client_secret_expires_at": secret["client_secret_expires_at"],
        "cds_modified": "2000-01-01T00:00:00Z",
        "not_a_field_we_know": True,
    }
    answer = _put(http, admin, accounts, body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == accounts


INVALID_CHANGES = [
    ({"redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": [APP_REDIRECT + "#frag"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["/relative/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["app://cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": APP_REDIRECT}, "invalid_redirect_uri"),
    ({"redirect_uris": [APP_REDIRECT, APP_REDIRECT]}, "invalid_redirect_uri"),
    ({"cds_default_redirect_uri": APP_REDIRECT}, "invalid_redirect_uri"),
    ({"cds_status": "production"}, "invalid_client_metadata"),
    ({"cds_status": 1}, "invalid_client_metadata"),
    ({"cds_default_scope": USAGE}, "invalid_client_metadata"),
    ({"cds_default_scope": 7}, "invalid_client_metadata"),
    ({"cds_default_authorization_details": [{"type": DIRECT}]}, "invalid_client_metadata"),
    (
        {"cds_default_authorization_details": [{"type": ACCOUNTS, "no_such_field": 1}]},
        "invalid_client_metadata",
    ),
    ({"cds_default_authorization_details": {"type": ACCOUNTS}}, "invalid_client_metadata"),
    ({"client_uri": "not a url"}, "invalid_client_metadata"),
    ({"client_name": ""}, "invalid_client_metadata"),
    ({"contacts": "ops@app.example"}, "invalid_client_metadata"),
    ({"scope": f"{ACCOUNTS} no_such_scope"}, "invalid_client_metadata"),
    ({"scope": f"{ACCOUNTS} cds_client_admin"}, "invalid_client_metadata"),
    ({"scope": f"{ACCOUNTS} {DIRECT}"}, "invalid_client_metadata"),
    ({"scope": f"{ACCOUNTS} {INVITED}"}, "invalid_client_metadata"),
    ({"scope": ["cds_accounts_1"]}, "invalid_client_metadata"),
]


@pytest.mark.req("WG1-02-5.5-d")
def test_invalid_values_are_refused_and_change_nothing(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    before = len(_messages(engine))
    for changes, error in INVALID_CHANGES:
        answer = _put(http, admin, accounts, _modifiable(accounts) | changes)
        assert answer.status_code == 400, (changes, answer.text)
        assert answer.json()["error"] == error, changes
    assert http.get(urlsplit(accounts["cds_client_uri"]).path, headers=admin.headers).json() == (
        accounts
    )
    assert len(_messages(engine)) == before


@pytest.mark.req("WG1-02-5.5-d", "WG1-02-5.1-d")
def test_objects_without_authorization_requests_take_no_redirects(
    http: TestClient, admin: Admin
) -> None:
    objects = clients_by_scope(http, admin)
    direct, own = objects[DIRECT], objects["cds_client_admin"]
    for changes in (
        {"redirect_uris": [APP_REDIRECT]},
        {"cds_default_redirect_uri": APP_REDIRECT},
        {"cds_default_scope": DIRECT},
    ):
        answer = _put(http, admin, direct, _modifiable(direct) | changes)
        assert answer.status_code == 400, changes
    for changes in ({"cds_status": "disabled"}, {"scope": f"cds_client_admin {DIRECT}"}):
        answer = _put(http, admin, own, _modifiable(own) | changes)
        assert answer.status_code == 400, changes
    grant_admin = objects[GRANT_ADMIN]
    answer = _put(http, admin, grant_admin, _modifiable(grant_admin) | {"scope": ""})
    assert answer.status_code == 400


@pytest.mark.req("WG1-02-5.5-b", "WG1-02-5.5-g")
def test_a_sandbox_object_gains_and_loses_scopes_at_once(http: TestClient, admin: Admin) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    wider = _put(http, admin, accounts, _modifiable(accounts) | {"scope": f"{ACCOUNTS} {USAGE}"})
    assert wider.status_code == 200, wider.text
    assert wider.json()["scope"] == f"{ACCOUNTS} {USAGE}"
    assert wider.json()["authorization_details_types"] == [ACCOUNTS, USAGE]
    assert wider.json()["cds_default_scope"] == ACCOUNTS
    narrower = _put(http, admin, wider.json(), {"scope": USAGE})
    assert narrower.status_code == 200
    assert (narrower.json()["scope"], narrower.json()["authorization_details_types"]) == (
        USAGE,
        [USAGE],
    )


@pytest.mark.req("WG1-02-5.5-f", "WG1-02-6.2-b", "WG1-02-6.5-a")
def test_a_production_object_gaining_a_scope_waits_for_review(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    direct = clients_by_scope(http, admin)[DIRECT]
    asked = _modifiable(direct) | {"scope": f"{DIRECT} {DIRECT_TOO}", "client_name": "Renamed"}
    answer = _put(http, admin, direct, asked)
    assert answer.status_code == 202, answer.text
    kept = answer.json()
    assert (kept["scope"], kept["authorization_details_types"]) == (DIRECT, [DIRECT])
    assert kept["client_name"] == "Renamed"
    assert http.get(urlsplit(direct["cds_client_uri"]).path, headers=admin.headers).json() == kept
    review = http.get(urls.MESSAGES, headers=admin.headers).json()["outstanding"]
    assert len(review) == 1
    message = review[0]
    assert (message["type"], message["status"], message["creator"]) == (
        "field_changes",
        "pending",
        None,
    )
    assert (message["related_uri"], message["related_type"]) == (direct["cds_client_uri"], "client")
    assert {"field": "scope", "previous_value": DIRECT, "new_value": f"{DIRECT} {DIRECT_TOO}"} in (
        message["updates_requested"]
    )
    changelog = [m for m in _messages(engine) if m.type == "notification"]
    assert len(changelog) == 1 and "client_name" in changelog[0].description


@pytest.mark.req("WG1-02-5.5-f")
def test_a_scope_that_asks_for_review_waits_even_in_sandbox(http: TestClient, admin: Admin) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    asked = _modifiable(accounts) | {
        "scope": f"{ACCOUNTS} {REVIEWED}",
        "cds_default_scope": REVIEWED,
    }
    answer = _put(http, admin, accounts, asked)
    assert answer.status_code == 202, answer.text
    assert (answer.json()["scope"], answer.json()["cds_default_scope"]) == (ACCOUNTS, ACCOUNTS)
    pending = http.get(urls.MESSAGES, headers=admin.headers).json()["outstanding"][0]
    assert {u["field"] for u in pending["updates_requested"]} == {
        "scope",
        "authorization_details_types",
        "cds_default_scope",
    }


@pytest.mark.req("WG1-02-5.5-b", "WG1-02-7.1-b", "WG1-02-5.3-e")
def test_disabling_an_object_ends_its_secrets_and_tokens(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    direct = clients_by_scope(http, admin)[DIRECT]
    secret = credential_for(http, admin, direct["client_id"])["client_secret"]
    token(http, direct["client_id"], secret, scope=DIRECT)
    disabled = _put(http, admin, direct, _modifiable(direct) | {"cds_status": "disabled"})
    assert disabled.status_code == 200
    assert disabled.json()["cds_status"] == "disabled"
    credential = credential_for(http, admin, direct["client_id"])
    assert credential["client_secret_expires_at"] > 0
    with Session(engine) as session:
        live = session.scalars(
            select(Token).where(Token.client_id == direct["client_id"], Token.revoked_at.is_(None))
        ).all()
    assert live == []
    refused = http.post(
        urls.TOKEN,
        data={"grant_type": "client_credentials", "scope": DIRECT},
        auth=(direct["client_id"], secret),
    )
    assert refused.status_code == 401
    enabled = _put(http, admin, disabled.json(), _modifiable(direct))
    assert enabled.json()["cds_status"] == "production"
    assert credential_for(http, admin, direct["client_id"]) == credential
    fresh = http.post(
        urls.CREDENTIALS, json={"client_id": direct["client_id"]}, headers=admin.headers
    )
    assert token(http, direct["client_id"], fresh.json()["client_secret"], scope=DIRECT)


BAD_BODIES = [
    (b"{", "application/json", 400),
    (b"[]", "application/json", 400),
    (b"scope=x", "application/x-www-form-urlencoded", 415),
    (b'{"client_name": "' + b"x" * 300_000 + b'"}', "application/json", 413),
]


@pytest.mark.req("WG1-02-5.5-d")
def test_a_put_body_that_is_not_one_json_object_changes_nothing(
    http: TestClient, admin: Admin
) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    for content, content_type, status in BAD_BODIES:
        answer = http.put(
            accounts["cds_client_uri"],
            content=content,
            headers=admin.headers | {"Content-Type": content_type},
        )
        assert answer.status_code == status, content[:20]
        assert answer.json()["error"] == "invalid_request"
    assert http.get(urlsplit(accounts["cds_client_uri"]).path, headers=admin.headers).json() == (
        accounts
    )


@pytest.mark.req("WG1-02-5.3-e", "WG1-02-5.5-g")
def test_an_unchanged_put_writes_no_changelog(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    before = len(_messages(engine))
    answer = _put(http, admin, accounts, _modifiable(accounts))
    assert answer.status_code == 200
    assert answer.json() == accounts
    assert len(_messages(engine)) == before


PURPOSE = {
    "id": "",
    "name": "Energy audit",
    "content": "We use your usage to score your home.\nNothing else.",
    "related_uri": "https://app.example/terms",
    "related_name": "Our terms",
    "scopes_supported": [],
}
SERVER_PURPOSE = {"id": "default-01", "name": "Default", "content": "Any purpose."}


@pytest.mark.req("WG3-8.1-a", "WG3-8.2-a", "WG3-8.2-b", "WG3-8.2-c")
def test_purposes_are_added_changed_and_removed_but_defaults_stay(
    make_http: HttpFactory, engine: Engine
) -> None:
    http = make_http(default_purposes=(SERVER_PURPOSE,))
    admin = register(http)
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    default = {**SERVER_PURPOSE, "related_uri": None, "scopes_supported": [ACCOUNTS]}
    assert accounts["cds_purposes"] == {"default-01": default}
    tampered = {**default, "content": "Changed by the client", "scopes_supported": []}
    body = _modifiable(accounts) | {
        "cds_purposes": {"default-01": tampered, "new-1": PURPOSE | {"id": "mine"}}
    }
    answer = _put(http, admin, accounts, body)
    assert answer.status_code == 200, answer.text
    shown = answer.json()["cds_purposes"]
    assert shown["default-01"] == default
    (added_id,) = set(shown) - {"default-01"}
    assert added_id not in ("mine", "new-1", "")
    assert shown[added_id] == PURPOSE | {"id": added_id, "scopes_supported": [ACCOUNTS]}
    logged = [m for m in _messages(engine) if m.related_uri == accounts["cds_client_uri"]]
    assert "cds_purposes" in logged[-1].description

    edited = shown[added_id] | {"id": "renamed", "content": "Edited.", "scopes_supported": []}
    answer = _put(http, admin, accounts, body | {"cds_purposes": {added_id: edited}})
    assert answer.status_code == 200, answer.text
    shown = answer.json()["cds_purposes"]
    assert shown[added_id]["content"] == "Edited."
    assert (shown[added_id]["id"], shown[added_id]["scopes_supported"]) == (added_id, [ACCOUNTS])
    assert shown["default-01"] == default  # left out, but a default is not removed

    answer = _put(http, admin, accounts, body | {"cds_purposes": {}})
    assert answer.json()["cds_purposes"] == {"default-01": default}


@pytest.mark.parametrize(
    "purpose",
    [
        PURPOSE | {"content": "   "},
        PURPOSE | {"related_name": None},
        PURPOSE | {"related_name": "two\nlines"},
        PURPOSE | {"related_uri": "not a url"},
        "just words",
    ],
)
@pytest.mark.req("WG3-8.3-a", "WG3-8.2-c")
def test_an_invalid_purpose_is_refused_and_changes_nothing(
    http: TestClient, admin: Admin, purpose: Any
) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    body = _modifiable(accounts) | {
        "client_name": "Renamed",
        "cds_purposes": {"new": purpose},
    }
    answer = _put(http, admin, accounts, body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client_metadata"
    again = http.get(urlsplit(accounts["cds_client_uri"]).path, headers=admin.headers).json()
    assert again == accounts


@pytest.mark.req("WG3-7.4.4-a")
def test_only_objects_taking_authorizations_have_purposes(http: TestClient, admin: Admin) -> None:
    objects = clients_by_scope(http, admin)
    assert objects[ACCOUNTS]["cds_purposes"] == {}
    grant_admin = objects[GRANT_ADMIN]
    assert "cds_purposes" not in grant_admin
    body = _modifiable(grant_admin) | {"cds_purposes": {"new": PURPOSE}}
    answer = _put(http, admin, grant_admin, body)
    assert answer.status_code == 400
    assert "response_types" in answer.json()["error_description"]


@pytest.mark.req("WG3-7.4.4-b")
def test_default_authorization_details_may_name_a_purpose_of_the_object(
    http: TestClient, admin: Admin
) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    answer = _put(http, admin, accounts, _modifiable(accounts) | {"cds_purposes": {"n": PURPOSE}})
    purposes = answer.json()["cds_purposes"]
    (purpose_id,) = purposes
    keep = _modifiable(answer.json()) | {"cds_purposes": purposes}
    details = [{"type": ACCOUNTS, "purpose": purpose_id}]
    answer = _put(http, admin, accounts, keep | {"cds_default_authorization_details": details})
    assert answer.status_code == 200, answer.text
    assert answer.json()["cds_default_authorization_details"][0]["purpose"] == purpose_id
    details = [{"type": ACCOUNTS, "purpose": "someone-elses"}]
    answer = _put(http, admin, accounts, keep | {"cds_default_authorization_details": details})
    assert answer.status_code == 400
    assert "purpose" in answer.json()["error_description"]
