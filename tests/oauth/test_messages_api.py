"""CDS-WG1-02 §6 Messages API over HTTP: the three lists and their pages, creating Messages of
each client type, attachments up to the size limit, and marking Messages read."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.grants.messages import create_message
from gridshare.oauth.messages_api import ATTACHMENTS_LIMIT
from gridshare.store.tables.clients import Client
from gridshare.store.tables.messages import Message
from tests.oauth.admin_setup import (
    ACCOUNTS,
    DIRECT,
    Admin,
    HttpFactory,
    clients_by_scope,
    credential_for,
    register,
    token,
)
from tests.object_keys import MESSAGE_KEYS

LIST_KEYS = {
    f"{name}{suffix}"
    for name in ("outstanding", "unread", "read")
    for suffix in ("", "_next", "_previous")
}
PDF = b"%PDF-1.4\n% a tiny test document\n"


def _path(url: str) -> str:
    return urlsplit(url).path


def _registration(engine: Engine, admin: Admin) -> str:
    with Session(engine) as session:
        return session.get_one(Client, admin.client_id).registration_id


def _from_server(engine: Engine, admin: Admin, **fields: Any) -> str:
    """A Message the Server writes (as its own code does, through grants.messages)."""
    with Session(engine) as session, session.begin():
        message = create_message(
            session,
            registration_id=_registration(engine, admin),
            **({"type": "notification", "name": "News", "description": "Hello"} | fields),
        )
        return message.message_id


def _post(http: TestClient, admin: Admin, body: dict[str, Any]) -> Any:
    return http.post(urls.MESSAGES, json=body, headers=admin.headers)


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def _ids(messages: list[dict[str, Any]]) -> list[str]:
    return [m["message_id"] for m in messages]


@pytest.mark.req(
    "WG1-02-6-b",
    "WG1-02-6.8-a",
    "WG1-02-6.8-b",
    "WG1-02-6.8-e",
    "WG1-02-6.1-a",
    "WG1-02-6.1-b",
    "WG1-02-11.2-d",
)
def test_the_three_lists(http: TestClient, admin: Admin, engine: Engine) -> None:
    other = register(http)
    _from_server(engine, other)
    notice = _from_server(engine, admin)
    request = _from_server(
        engine,
        admin,
        type="server_request",
        status="open",
        updates_requested=[{"field": "w9", "name": "W-9", "description": "Your tax form"}],
    )
    sandbox = clients_by_scope(http, admin)[ACCOUNTS]["cds_client_uri"]
    mine = _post(
        http,
        admin,
        {
            "type": "production_request",
            "name": "Go live",
            "description": "",
            "related_uri": sandbox,
        },
    ).json()
    body = http.get(urls.MESSAGES, headers=admin.headers).json()
    assert set(body) == LIST_KEYS
    assert all(body[key] is None for key in LIST_KEYS if key.endswith(("_next", "_previous")))
    assert _ids(body["outstanding"]) == [mine["message_id"], request]
    assert _ids(body["unread"]) == [request, notice]
    assert _ids(body["read"]) == [mine["message_id"]]
    for message in body["outstanding"] + body["unread"] + body["read"]:
        assert message.keys() >= MESSAGE_KEYS
        assert message["uri"] == f"http://testserver{urls.MESSAGES}/{message['message_id']}"
        modified = [m["modified"] for m in body["unread"]]
        assert modified == sorted(modified, reverse=True)
    server = next(m for m in body["unread"] if m["message_id"] == notice)
    assert (server["creator"], server["read"], server["previous_uri"]) == (None, False, None)
    assert http.get(urls.MESSAGES, headers=other.headers).json()["unread"][0]["message_id"] not in (
        {notice, request}
    )


@pytest.mark.req("WG1-02-6.8-b", "WG1-02-6.8-d")
def test_each_list_pages_on_its_own(make_http: HttpFactory, engine: Engine) -> None:
    http = make_http(page_size=2)
    admin = register(http)
    unread = [_from_server(engine, admin, name=f"news {i}") for i in range(3)]
    read = [
        _post(http, admin, {"type": "private_message", "name": f"m{i}", "description": "."}).json()[
            "message_id"
        ]
        for i in range(3)
    ]
    first = http.get(
        urls.MESSAGES, params={"message_ids": " ".join(unread + read)}, headers=admin.headers
    ).json()
    assert _ids(first["unread"]) == unread[:0:-1]
    assert _ids(first["read"]) == read[:0:-1]
    assert first["outstanding"] == [] and first["outstanding_next"] is None
    query = parse_qs(urlsplit(first["unread_next"]).query)
    assert set(query) == {"message_ids", "unread_cursor"}
    second = http.get(first["unread_next"], headers=admin.headers).json()
    assert set(second) == LIST_KEYS
    assert _ids(second["unread"]) == unread[:1]
    assert second["unread_next"] is None
    assert (second["read"], second["outstanding"]) == ([], [])
    assert all(
        second[f"{n}_{s}"] is None for n in ("read", "outstanding") for s in ("next", "previous")
    )
    back = http.get(second["unread_previous"], headers=admin.headers).json()
    assert _ids(back["unread"]) == unread[:0:-1] and back["read"] == []
    read_page = http.get(first["read_next"], headers=admin.headers).json()
    assert _ids(read_page["read"]) == read[:1] and read_page["unread"] == []
    both = http.get(
        urls.MESSAGES,
        params={
            "unread_cursor": query["unread_cursor"][0],
            "read_cursor": query["unread_cursor"][0],
        },
        headers=admin.headers,
    )
    assert both.status_code == 400
    bad = http.get(urls.MESSAGES, params={"read_cursor": "garbage"}, headers=admin.headers)
    assert bad.status_code == 400 and "read_cursor" in bad.json()["error_description"]


@pytest.mark.req("WG1-02-6.8-c")
def test_message_ids_filters_every_list(http: TestClient, admin: Admin, engine: Engine) -> None:
    wanted = _from_server(engine, admin)
    _from_server(engine, admin)
    other = register(http)
    theirs = _from_server(engine, other)
    body = http.get(
        urls.MESSAGES, params={"message_ids": f"{wanted} {theirs}"}, headers=admin.headers
    ).json()
    assert _ids(body["unread"]) == [wanted]
    assert body["read"] == body["outstanding"] == []
    blank = http.get(urls.MESSAGES, params={"message_ids": ""}, headers=admin.headers)
    assert blank.status_code == 400


@pytest.mark.req("WG1-02-6.10-a")
def test_a_message_is_at_its_uri_and_nowhere_else(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    mine = _from_server(
        engine, admin, related_uri="https://docs.example/x", related_type="documentation"
    )
    other = register(http)
    listed = http.get(urls.MESSAGES, headers=admin.headers).json()["unread"][0]
    got = http.get(_path(listed["uri"]), headers=admin.headers)
    assert got.status_code == 200 and got.json() == listed
    assert (listed["related_uri"], listed["related_type"]) == (
        "https://docs.example/x",
        "documentation",
    )
    assert http.get(f"{urls.MESSAGES}/{mine}", headers=other.headers).status_code == 404
    assert http.get(f"{urls.MESSAGES}/nope", headers=admin.headers).status_code == 404


@pytest.mark.req("WG1-02-6-b", "WG1-02-11.2-d")
def test_the_api_needs_a_client_admin_bearer_token(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    direct = clients_by_scope(http, admin)[DIRECT]
    secret = credential_for(http, admin, direct["client_id"])["client_secret"]
    narrow = {"Authorization": f"Bearer {token(http, direct['client_id'], secret, scope=DIRECT)}"}
    message = f"{urls.MESSAGES}/{_from_server(engine, admin)}"
    before = _count(engine)
    for method, url, body in (
        ("GET", urls.MESSAGES, None),
        ("GET", message, None),
        ("POST", urls.MESSAGES, {"type": "private_message", "name": "a", "description": "b"}),
        ("PATCH", message, {"read": True}),
    ):
        assert http.request(method, url, json=body).status_code == 401
        assert http.request(method, url, json=body, headers=narrow).status_code == 403
    assert _count(engine) == before
    assert http.get(message, headers=admin.headers).json()["read"] is False


@pytest.mark.req("WG1-02-6.9-a", "WG1-02-6.9-e", "WG1-02-6.9-f", "WG1-02-6.3-b")
def test_a_private_message_like_example_12_9(http: TestClient, admin: Admin) -> None:
    answer = _post(
        http,
        admin,
        {"type": "private_message", "name": "My Subject", "description": "Hello World!"},
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created.keys() == MESSAGE_KEYS
    assert created["previous_uri"] is None
    assert (created["type"], created["read"], created["creator"], created["status"]) == (
        "private_message",
        True,
        admin.client_id,
        "complete",
    )
    assert created["created"] == created["modified"]
    assert (created["name"], created["description"]) == ("My Subject", "Hello World!")
    assert http.get(_path(created["uri"]), headers=admin.headers).json() == created
    reply = _post(
        http,
        admin,
        {
            "type": "private_message",
            "previous_uri": created["uri"],
            "name": "Re: My Subject",
            "description": "One more thing",
            "related_uri": created["uri"],
        },
    ).json()
    assert reply["previous_uri"] == created["uri"]
    assert reply["related_type"] == "message"


@pytest.mark.req("WG1-02-6.9-f", "WG1-02-6.1-d", "WG1-02-6.1-f", "WG1-02-6.3-c", "WG1-02-6.4-b")
def test_requests_start_pending(http: TestClient, admin: Admin) -> None:
    objects = clients_by_scope(http, admin)
    sandbox = objects[ACCOUNTS]["cds_client_uri"]
    production = _post(
        http,
        admin,
        {
            "type": "production_request",
            "name": "Go live",
            "description": "Please",
            "related_uri": sandbox,
        },
    ).json()
    assert (production["status"], production["related_uri"], production["related_type"]) == (
        "pending",
        sandbox,
        "client",
    )
    support = _post(
        http,
        admin,
        {
            "type": "support_request",
            "name": "Help",
            "description": "A token endpoint error",
            "related_uri": "http://testserver/cds-api/v1/credentials",
        },
    ).json()
    assert (support["status"], support["related_type"]) == ("pending", "credential_list")
    assert http.get(_path(support["related_uri"]), headers=admin.headers).status_code == 200
    assert http.get(_path(production["related_uri"]), headers=admin.headers).status_code == 200
    outstanding = http.get(urls.MESSAGES, headers=admin.headers).json()["outstanding"]
    assert _ids(outstanding) == [support["message_id"], production["message_id"]]


@pytest.mark.req("WG1-02-6.9-b", "WG1-02-6.6-a", "WG1-02-6.1-c", "WG1-02-6.9-f")
def test_a_grant_request_like_example_13_4_1(http: TestClient, admin: Admin) -> None:
    accounts = clients_by_scope(http, admin)[ACCOUNTS]
    asked = [
        {
            "scope": ACCOUNTS,
            "authorization_details": [
                {
                    "type": ACCOUNTS,
                    "account_numbers": ["1234567"],
                    "include_account_programs": True,
                    "sync_until": "P0D",
                }
            ],
        }
    ]
    body = {
        "type": "grant_request",
        "name": "Requesting contact details for Account #1234567",
        "description": "For support ticket #99993333",
        "related_uri": accounts["cds_client_uri"],
        "grants_requested": asked,
    }
    answer = _post(http, admin, body)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["status"] == "pending"
    assert created["grants_requested"] == asked
    assert (created["related_uri"], created["related_type"]) == (
        accounts["cds_client_uri"],
        "client",
    )
    other = register(http)
    third_party = clients_by_scope(http, other)[ACCOUNTS]["cds_client_uri"]
    assert _post(http, admin, body | {"related_uri": third_party}).status_code == 201
    for changes in (
        {"grants_requested": None},
        {"grants_requested": []},
        {"related_uri": None},
        {"related_uri": "https://elsewhere.example/clients/x"},
        {"grants_requested": [{"scope": ACCOUNTS}]},
        {"grants_requested": [{"scope": DIRECT, "authorization_details": [{"type": DIRECT}]}]},
        {
            "grants_requested": [
                {"scope": ACCOUNTS, "authorization_details": [{"type": ACCOUNTS, "bogus": 1}]}
            ]
        },
        {"grants_requested": [{"scope": "", "authorization_details": []}]},
    ):
        refused = _post(http, admin, body | changes)
        assert refused.status_code == 400, changes


@pytest.mark.req("WG1-02-6.9-b", "WG1-02-6.9-g", "WG1-02-6.5-a")
def test_a_client_submission_answers_a_server_request(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    request = _from_server(
        engine,
        admin,
        type="server_request",
        status="open",
        name="We need your W-9",
        updates_requested=[{"field": "w9", "name": "W-9", "description": "Your tax form"}],
    )
    request_uri = f"http://testserver{urls.MESSAGES}/{request}"
    body = {
        "type": "client_submission",
        "previous_uri": request_uri,
        "name": "",
        "description": "",
        "updates_requested": [{"field": "w9", "uri": "https://app.example/w9.pdf"}],
    }
    before = _count(engine)
    for changes in (
        {"name": "W-9"},
        {"description": "here"},
        {"previous_uri": None},
        {"updates_requested": None},
        {"updates_requested": [{"field": "other", "description": "x"}]},
        {"updates_requested": [{"field": "w9"}]},
        {"updates_requested": [{"field": "w9", "uri": "not a url"}]},
        {"updates_requested": [{"field": "w9", "description": "a", "new_value": 1}]},
    ):
        assert _post(http, admin, body | changes).status_code == 400, changes
    assert _count(engine) == before
    answer = _post(http, admin, body)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["status"], answer.json()["previous_uri"]) == ("complete", request_uri)
    assert answer.json()["updates_requested"] == body["updates_requested"]
    assert http.get(_path(request_uri), headers=admin.headers).json()["status"] == "pending"
    notice = f"http://testserver{urls.MESSAGES}/{_from_server(engine, admin)}"
    assert _post(http, admin, body | {"previous_uri": notice}).status_code == 400


@pytest.mark.req("WG1-02-6.9-a", "WG1-02-6.9-c", "WG1-02-6.4-a")
def test_invalid_submissions_are_refused_and_create_nothing(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    objects = clients_by_scope(http, admin)
    other = register(http)
    theirs = f"http://testserver{urls.MESSAGES}/{_from_server(engine, other)}"
    valid = {"type": "private_message", "name": "Subject", "description": "Body"}
    before = _count(engine)
    for changes in (
        {"type": "notification"},
        {"type": "request_update"},
        {"type": None},
        {"name": None},
        {"description": None},
        {"name": 5},
        {"name": "   "},
        {"name": "x" * 501},
        {"previous_uri": theirs},
        {"previous_uri": "https://elsewhere.example/m/1"},
        {"related_uri": "not a url"},
        {"related_type": "somewhere"},
        {"related_type": "client"},
        {"updates_requested": [{"field": "x", "description": "y"}]},
        {"grants_requested": [{"scope": ACCOUNTS, "authorization_details": []}]},
        {"attachments": [{"filename": "a.pdf", "mime_type": "application/pdf", "data": "***"}]},
        {"attachments": [{"filename": "a.pdf", "mime_type": "pdf", "data": "QQ=="}]},
        {"attachments": [{"filename": "", "mime_type": "application/pdf", "data": "QQ=="}]},
        {"attachments": [{"filename": "a.pdf", "data": "QQ=="}]},
        {"attachments": {"filename": "a.pdf"}},
        {
            "type": "production_request",
            "related_uri": objects[DIRECT]["cds_client_uri"],
        },
        {"type": "production_request"},
    ):
        answer = _post(http, admin, valid | changes)
        assert answer.status_code == 400, changes
        assert answer.json()["error"] == "invalid_request"
    for content, content_type, status in (
        (b'{"type": ', "application/json", 400),
        (b"[]", "application/json", 400),
        (b"type=private_message", "application/x-www-form-urlencoded", 415),
    ):
        answer = http.post(
            urls.MESSAGES, content=content, headers=admin.headers | {"Content-Type": content_type}
        )
        assert answer.status_code == status
    assert _count(engine) == before


@pytest.mark.req("WG1-02-6.7-a", "WG1-02-6.9-e")
def test_attachments_come_back_as_base64(http: TestClient, admin: Admin) -> None:
    attachments = [
        {
            "filename": "letter.pdf",
            "mime_type": "application/pdf",
            "data": base64.b64encode(PDF).decode(),
        },
        {"filename": "blob", "mime_type": "application/octet-stream", "data": ""},
    ]
    answer = _post(
        http,
        admin,
        {
            "type": "support_request",
            "name": "See attached",
            "description": ".",
            "attachments": attachments,
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["attachments"] == attachments
    assert http.get(_path(answer.json()["uri"]), headers=admin.headers).json()["attachments"] == (
        attachments
    )
    listed = http.get(urls.MESSAGES, headers=admin.headers).json()["read"][0]
    assert listed["attachments"] == attachments


@pytest.mark.req("WG1-02-6.9-d")
def test_attachments_of_ten_megabytes_are_taken_and_more_is_413(
    http: TestClient, admin: Admin, engine: Engine
) -> None:
    assert ATTACHMENTS_LIMIT >= 10_000_000
    half = ATTACHMENTS_LIMIT // 2
    data = [bytes([i]) * half for i in (1, 2)]
    body = {
        "type": "private_message",
        "name": "Scans",
        "description": ".",
        "attachments": [
            {
                "filename": f"scan{i}.bin",
                "mime_type": "application/octet-stream",
                "data": base64.b64encode(d).decode(),
            }
            for i, d in enumerate(data)
        ],
    }
    taken = _post(http, admin, body)
    assert taken.status_code == 201, taken.text[:200]
    back = http.get(_path(taken.json()["uri"]), headers=admin.headers).json()["attachments"]
    assert [base64.b64decode(a["data"]) for a in back] == data
    before = _count(engine)
    body["attachments"][1]["data"] = base64.b64encode(data[1] + b"!").decode()
    refused = _post(http, admin, body)
    assert refused.status_code == 413
    assert refused.json()["error"] == "invalid_request"
    assert _count(engine) == before


@pytest.mark.req("WG1-02-6.11-a", "WG1-02-6.11-b", "WG1-02-6.11-d", "WG1-02-6.11-e")
def test_marking_a_message_read_and_unread(http: TestClient, admin: Admin, engine: Engine) -> None:
    notice = _from_server(engine, admin)
    path = f"{urls.MESSAGES}/{notice}"
    before = http.get(path, headers=admin.headers).json()
    read = http.patch(path, json={"read": True}, headers=admin.headers)
    assert read.status_code == 200
    assert read.json() == before | {"read": True, "modified": read.json()["modified"]}
    assert read.json()["modified"] >= before["modified"]
    lists = http.get(urls.MESSAGES, headers=admin.headers).json()
    assert _ids(lists["read"]) == [notice] and lists["unread"] == []
    ignored = http.patch(
        path, json={"status": "rejected", "name": "Changed", "creator": "me"}, headers=admin.headers
    )
    assert ignored.status_code == 200 and ignored.json() == read.json()
    for bad in ("yes", 1, None, []):
        refused = http.patch(path, json={"read": bad, "name": "x"}, headers=admin.headers)
        assert refused.status_code == 400, bad
    unread = http.patch(path, json={"read": False}, headers=admin.headers)
    assert unread.json()["read"] is False
    assert _ids(http.get(urls.MESSAGES, headers=admin.headers).json()["unread"]) == [notice]
    other = register(http)
    assert http.patch(path, json={"read": True}, headers=other.headers).status_code == 404
    assert http.get(path, headers=admin.headers).json()["read"] is False
