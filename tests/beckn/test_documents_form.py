"""The documents form of on_init (BECKN-007 XInput): offered on the item, fetched as HTML,
submitted multipart and signed by the BAP, named by the confirm, kept with the order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.beckn import BecknForm
from gridshare.store.tables.orders import ConnectionOrder
from gridshare.utility import order_documents
from tests.beckn import schema
from tests.beckn.bap import Bap
from tests.beckn.test_endpoint import callbacks, order_message, post

PDF = b"%PDF-1.4\n% a test document\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def world(
    settings: Settings, engine: Engine, tmp_path: Path
) -> Iterator[tuple[TestClient, Bap, Settings]]:
    bap = Bap(callback_url="http://127.0.0.1:9/bap")
    registry = bap.write_registry(tmp_path / "registry.json")
    configured = settings.model_copy(update={"beckn_registry_file": registry})
    with TestClient(create_app(configured, engine)) as http:
        yield http, bap, configured


def offered(http: TestClient, bap: Bap, engine: Engine, settings: Settings) -> tuple[str, str]:
    """(transaction id, the form's path) from an on_init."""
    transaction_id = str(uuid.uuid4())
    post(http, bap, "init", order_message(settings), transaction_id=transaction_id)
    on_init = callbacks(engine)[-1]["body"]
    schema.assert_valid_message("on_init", on_init)
    xinput = on_init["message"]["order"]["items"][0]["xinput"]
    assert xinput["required"] is False and xinput["form"]["mime_type"] == "text/html"
    return transaction_id, httpx.URL(xinput["form"]["url"]).path


def multipart(files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://testserver/", files=files)
    return request.read(), request.headers["Content-Type"]


def submit(http: TestClient, bap: Bap, path: str, files: dict[str, tuple[str, bytes, str]]) -> Any:
    body, content_type = multipart(files)
    headers = {"Content-Type": content_type, "Authorization": bap.sign(body)}
    return http.post(path, content=body, headers=headers)


@pytest.mark.req("ONIX-BPP-7", "CORE-SCHEMA")
def test_the_form_is_offered_fetched_submitted_and_kept_with_the_order(
    world: tuple[TestClient, Bap, Settings], engine: Engine
) -> None:
    http, bap, settings = world
    transaction_id, path = offered(http, bap, engine, settings)
    page = http.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count('type="file"') == 3 and "ID proof" in page.text

    answer = submit(
        http,
        bap,
        path,
        {
            "document-1": ("id.pdf", PDF, "application/pdf"),
            "document-3": ("w.png", PNG, "image/png"),
        },
    )
    assert answer.status_code == 200, answer.text
    submission_id = answer.json()["submission_id"]
    assert answer.json() == {"status": True, "submission_id": str(uuid.UUID(submission_id))}

    message = order_message(settings)
    message["order"]["items"][0]["xinput"] = {"form": {"submission_id": submission_id}}
    assert post(http, bap, "confirm", message, transaction_id=transaction_id).status_code == 200
    on_confirm = callbacks(engine)[-1]["body"]
    schema.assert_valid_message("on_confirm", on_confirm)
    item = on_confirm["message"]["order"]["items"][0]
    assert item["xinput"]["form"]["submission_id"] == submission_id
    assert httpx.URL(item["xinput"]["form"]["url"]).path == path
    with session_factory(engine)() as session:
        order = session.scalars(select(ConnectionOrder)).one()
        kept = order_documents.of_submission(session, order.submission_id)
    assert [(d.label, d.filename, d.data) for d in kept] == [
        ("ID proof", "id.pdf", PDF),
        ("Wiring diagram", "w.png", PNG),
    ]


@pytest.mark.req("ONIX-BPP-7", "BECKN-006-VERIFY")
def test_a_submission_must_be_signed_by_the_bap_it_was_offered_to(
    world: tuple[TestClient, Bap, Settings], engine: Engine, tmp_path: Path
) -> None:
    http, bap, settings = world
    _, path = offered(http, bap, engine, settings)
    body, content_type = multipart({"document-1": ("id.pdf", PDF, "application/pdf")})
    unsigned = http.post(path, content=body, headers={"Content-Type": content_type})
    assert unsigned.status_code == 401 and unsigned.json()["status"] is False
    tampered = http.post(
        path,
        content=body.replace(b"test document", b"fake document"),
        headers={"Content-Type": content_type, "Authorization": bap.sign(body)},
    )
    assert tampered.status_code == 401
    other = Bap(subscriber_id="other.example.org", callback_url="http://127.0.0.1:9/other")
    assert settings.beckn_registry_file is not None
    settings.beckn_registry_file.write_text(
        json.dumps([bap.registry_entry(), other.registry_entry()])
    )
    stranger = submit(http, other, path, {"document-1": ("id.pdf", PDF, "application/pdf")})
    assert stranger.status_code == 401
    assert "another BAP" in stranger.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"document-1": ("id.txt", b"hello", "text/plain")}, "send a PDF, PNG or JPEG"),
        ({"document-1": ("id.pdf", b"not a pdf", "application/pdf")}, "its content is not"),
        ({"document-9": ("id.pdf", PDF, "application/pdf")}, "no document is asked for"),
        ({"document-1": ("id.pdf", b"", "application/pdf")}, "holds no file"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_kept(
    files: dict[str, tuple[str, bytes, str]],
    problem: str,
    world: tuple[TestClient, Bap, Settings],
    engine: Engine,
) -> None:
    http, bap, settings = world
    _, path = offered(http, bap, engine, settings)
    answer = submit(http, bap, path, files)
    assert answer.status_code == 400
    assert problem in answer.json()["errors"][0]["message"]
    with session_factory(engine)() as session:
        assert session.scalars(select(BecknForm)).one().submission_id is None


def test_a_form_is_submitted_once_and_not_after_it_expired(
    world: tuple[TestClient, Bap, Settings], engine: Engine
) -> None:
    http, bap, settings = world
    _, path = offered(http, bap, engine, settings)
    files = {"document-1": ("id.pdf", PDF, "application/pdf")}
    assert submit(http, bap, path, files).status_code == 200
    assert submit(http, bap, path, files).status_code == 409
    _, second = offered(http, bap, engine, settings)
    with transaction(session_factory(engine)) as session:
        form = session.get(BecknForm, second.rsplit("/", 1)[1])
        assert form is not None
        form.expires_at = utcnow() - timedelta(seconds=1)
    assert submit(http, bap, second, files).status_code == 404
    assert http.get(second).status_code == 404


def test_a_confirm_naming_a_submission_not_its_own_is_refused(
    world: tuple[TestClient, Bap, Settings], engine: Engine
) -> None:
    http, bap, settings = world
    _, path = offered(http, bap, engine, settings)
    submission_id = submit(
        http, bap, path, {"document-1": ("id.pdf", PDF, "application/pdf")}
    ).json()["submission_id"]
    message = order_message(settings)
    message["order"]["items"][0]["xinput"] = {"form": {"submission_id": submission_id}}
    answer = post(http, bap, "confirm", message)  # another transaction
    assert answer.status_code == 400
    assert answer.json()["error"]["paths"] == "message.order.items[0].xinput.form.submission_id"
