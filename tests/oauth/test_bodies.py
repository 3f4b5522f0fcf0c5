"""JSON request bodies: media type (415), size (413), syntax and shape (400), exact decimals."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.oauth.bodies import JsonObject, json_object

SMALL = 32


@pytest.fixture
def client(settings: Settings, engine: Engine) -> TestClient:
    app = create_app(settings, engine)

    @app.post("/echo")
    def echo(body: JsonObject) -> dict[str, Any]:
        return {"types": {key: type(value).__name__ for key, value in body.items()}}

    @app.post("/small")
    def small(body: Annotated[dict[str, Any], Depends(json_object(SMALL))]) -> dict[str, Any]:
        return body

    return TestClient(app)


def _post(client: TestClient, path: str, data: bytes, content_type: str | None) -> Any:
    headers = {} if content_type is None else {"Content-Type": content_type}
    return client.post(path, content=data, headers=headers)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"],
)
def test_a_json_object_is_handed_over(client: TestClient, content_type: str) -> None:
    response = _post(client, "/echo", b'{"a": 1, "b": 2.50, "c": "x"}', content_type)
    assert response.status_code == 200
    assert response.json() == {"types": {"a": "int", "b": "Decimal", "c": "str"}}


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_other_media_types_get_415(client: TestClient, content_type: str | None) -> None:
    response = _post(client, "/echo", b'{"a": 1}', content_type)
    assert response.status_code == 415
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
    ],
)
def test_malformed_or_non_object_bodies_get_400(
    client: TestClient, data: bytes, problem: str
) -> None:
    response = _post(client, "/echo", data, "application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert problem in body["error_description"]


def test_a_body_over_the_limit_gets_413(client: TestClient) -> None:
    exactly = b'{"k": "' + b"x" * (SMALL - 9) + b'"}'
    assert len(exactly) == SMALL
    assert _post(client, "/small", exactly, "application/json").status_code == 200
    response = _post(client, "/small", exactly + b" ", "application/json")
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


def test_a_streamed_body_without_length_is_cut_at_the_limit(client: TestClient) -> None:
    def chunks() -> Any:
        yield b'{"k": "'
        yield b"x" * SMALL
        yield b'"}'

    response = client.post("/small", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
