"""Keyset paging of the CDS-WG1-02 listings: newest first, stable pages, absolute `next` and
`previous` links that keep the other query parameters, refused foreign cursors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import Query, Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from gridshare.api.pagination import Order, paginate
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.clients import Registration
from gridshare.store.tables.messages import Message

T0 = datetime(2025, 3, 1, tzinfo=UTC)
ORDER = Order(Message.modified, Message.message_id)


def _listing(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    kind: str | None = None,
    position: Annotated[str | None, Query(alias="at")] = None,
) -> dict[str, Any]:
    """A listing of messages, optionally of one type, paged by the `at` parameter."""
    query = select(Message)
    if kind is not None:
        query = query.where(Message.type == kind)
    page = paginate(session, settings, request, query, ORDER, cursor=position, parameter="at")
    return {
        "ids": [m.message_id for m in page.items],
        "next": page.next,
        "previous": page.previous,
    }


@pytest.fixture
def client(tmp_path: Path, database_url: str, engine: Engine) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, base_url="https://api.example", page_size=2
    )
    app = create_app(settings, engine)
    app.add_api_route("/listing", _listing)
    with Session(engine) as session, session.begin():
        session.add(Registration(id="r1"))
    yield TestClient(app)


def _add(engine: Engine, message_id: str, modified: datetime, kind: str = "notification") -> None:
    with Session(engine) as session, session.begin():
        session.add(
            Message(
                message_id=message_id,
                registration_id="r1",
                type=kind,
                status="complete",
                name=message_id,
                description="",
                created=modified,
                modified=modified,
            )
        )


def _walk(client: TestClient, url: str, link: str) -> list[list[str]]:
    """Follow `link` ("next" or "previous") from `url` to the end; the ids of every page."""
    pages = []
    while url:
        body = client.get(url).json()
        pages.append(body["ids"])
        url = body[link]
    return pages


def test_pages_run_newest_first_and_back(client: TestClient, engine: Engine) -> None:
    for i in range(5):
        _add(engine, f"m{i}", T0 + timedelta(minutes=i))
    first = client.get("/listing").json()
    assert first["ids"] == ["m4", "m3"]
    assert first["previous"] is None
    forward = _walk(client, "/listing", "next")
    assert forward == [["m4", "m3"], ["m2", "m1"], ["m0"]]
    last = client.get("/listing").json()
    while last["next"]:
        last = client.get(last["next"]).json()
    assert last["next"] is None
    assert _walk(client, last["previous"], "previous") == [["m2", "m1"], ["m4", "m3"]]


def test_equal_timestamps_are_ordered_by_id_without_gaps(
    client: TestClient, engine: Engine
) -> None:
    for message_id in ("c", "a", "e", "b", "d"):
        _add(engine, message_id, T0)
    assert _walk(client, "/listing", "next") == [["a", "b"], ["c", "d"], ["e"]]


def test_links_are_absolute_and_keep_the_other_parameters(
    client: TestClient, engine: Engine
) -> None:
    for i in range(3):
        _add(engine, f"m{i}", T0 + timedelta(minutes=i), kind="private message")
    _add(engine, "other", T0 + timedelta(hours=1))
    body = client.get("/listing", params={"kind": "private message"}).json()
    parts = urlsplit(body["next"])
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "api.example", "/listing")
    query = parse_qs(parts.query)
    assert query["kind"] == ["private message"]
    assert set(query) == {"kind", "at"}
    assert "%20" in parts.query  # spaces travel as %20, as the spec's examples write them
    second = client.get(body["next"].removeprefix("https://api.example")).json()
    assert second["ids"] == ["m0"]
    assert "kind=private%20message" in second["previous"]


def test_a_newer_object_does_not_shift_the_next_page(client: TestClient, engine: Engine) -> None:
    for i in range(4):
        _add(engine, f"m{i}", T0 + timedelta(minutes=i))
    first = client.get("/listing").json()
    _add(engine, "newest", T0 + timedelta(days=1))
    assert client.get(first["next"]).json()["ids"] == ["m1", "m0"]


def test_an_emptied_last_page_links_back(client: TestClient, engine: Engine) -> None:
    for i in range(6):
        _add(engine, f"m{i}", T0 + timedelta(minutes=i))
    third_url = client.get(client.get("/listing").json()["next"]).json()["next"]
    with Session(engine) as session, session.begin():
        session.execute(delete(Message).where(Message.message_id.in_(["m1", "m0"])))
    emptied = client.get(third_url).json()
    assert emptied["ids"] == []
    assert emptied["next"] is None
    assert client.get(emptied["previous"]).json()["ids"] == ["m3", "m2"]


@pytest.mark.parametrize("bad", ["x", "bm90IGpzb24", "WzEsMiwzXQ", "W3RydWUsZmFsc2UsIjIwMjUiLDFd"])
def test_a_cursor_not_given_out_is_refused_naming_the_parameter(
    client: TestClient, bad: str
) -> None:
    response = client.get("/listing", params={"at": bad})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "at is not a page position" in body["error_description"]
