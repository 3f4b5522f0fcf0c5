"""`GET /beckn/subscriber.json`: our subscriber and the keys valid now, made on first request."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridshare.beckn import keys, routes
from gridshare.config import Settings
from gridshare.store.db import session_factory, transaction


def client(settings: Settings, engine: Engine) -> TestClient:
    app = FastAPI()  # the route alone; app.py registers it with the other faces
    app.state.settings = settings
    app.state.sessions = session_factory(engine)
    app.include_router(routes.router)
    return TestClient(app)


def test_subscriber_document_lists_the_keys_valid_now(engine: Engine, settings: Settings) -> None:
    http = client(settings, engine)
    first = http.get("/beckn/subscriber.json")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    document = first.json()
    assert document["subscriber_id"] == "testserver"
    assert document["subscriber_url"] == "http://testserver/beckn"
    assert document["type"] == "BPP" and document["domains"] == ["service", "deg:service"]
    [made] = document["keys"]
    assert made["status"] == "active"
    assert set(made) == {
        "unique_key_id",
        "signing_public_key",
        "encr_public_key",
        "valid_from",
        "valid_until",
        "status",
    }
    assert http.get("/beckn/subscriber.json").json() == document  # made once
    with transaction(session_factory(engine)) as session:
        new = keys.rotate(session, settings)
    after = http.get("/beckn/subscriber.json").json()["keys"]
    assert [(k["unique_key_id"], k["status"]) for k in after] == [
        (new.unique_key_id, "active"),
        (made["unique_key_id"], "retired"),
    ]
