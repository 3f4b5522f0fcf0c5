"""The BAP's side of a BPP's documents form (BECKN-007 "Recommendations for BAPs"): read the
HTML form an item's `xinput.form.url` serves, fill its file inputs, POST it multipart and signed
(BECKN-006), and read the `FormResponse` (`status`, `submission_id`, `errors`).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.client_identity import Identity
from gridshare.beckn.client_requests import HTTP_TIMEOUT_SECONDS, signed_headers
from gridshare.beckn.context import DEFAULT_TTL


@dataclass(frozen=True)
class FileInput:
    """A file input of the form: its field name and the label it carries."""

    name: str
    label: str


def form_inputs(page: str) -> list[FileInput]:
    """The form's file inputs, in order, each with the text of its `<label for=...>`."""
    reader = _FormReader()
    reader.feed(page)
    return [FileInput(name, reader.labels.get(ident, name)) for ident, name in reader.files]


def form_input(inputs: Sequence[FileInput], given: str) -> FileInput:
    """The input `given` names: its field name, its label (any case), or its position (1, 2,
    ...); ClientError listing the inputs if none."""
    for number, field in enumerate(inputs, start=1):
        if given in (field.name, str(number)) or given.casefold() == field.label.casefold():
            return field
    listed = "; ".join(f"{n}: {f.label} ({f.name})" for n, f in enumerate(inputs, start=1))
    raise ClientError(f"the form asks for no {given!r}; it asks for {listed}")


def fetch_form(url: str) -> list[FileInput]:
    """GET the form and read its file inputs."""
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise ClientError(f"the form at {url} cannot be reached: {exc!r}") from exc
    if response.status_code != 200:
        raise ClientError(f"the form at {url} answered {response.status_code}: {response.text}")
    return form_inputs(response.text)


def submit_form(
    url: str,
    files: Sequence[tuple[FileInput, Path]],
    identity: Identity,
    ttl: str = DEFAULT_TTL,
) -> tuple[int, dict[str, Any]]:
    """POST the files to the form, signed; the answer's status and `FormResponse`."""
    parts = {}
    for field, path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ClientError(f"cannot read {path}: {exc}") from exc
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        parts[field.name] = (path.name, data, kind)
    request = httpx.Request("POST", url, files=parts)
    raw = request.read()
    headers = signed_headers(raw, identity, ttl)
    headers["Content-Type"] = request.headers["Content-Type"]
    try:
        response = httpx.post(url, content=raw, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise ClientError(f"the form at {url} cannot be reached: {exc!r}") from exc
    try:
        answer = response.json()
    except ValueError:
        answer = {"status": False, "errors": [{"message": response.text}]}
    return response.status_code, answer if isinstance(answer, dict) else {"answer": answer}


class _FormReader(HTMLParser):
    """The file inputs (id, name) and the labels (for -> text) of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, str]] = []
        self.labels: dict[str, str] = {}
        self._label_for: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "input" and found.get("type") == "file" and found.get("name"):
            self.files.append((found.get("id", found["name"]), found["name"]))
        elif tag == "label":
            self._label_for, self._text = found.get("for"), []

    def handle_data(self, data: str) -> None:
        if self._label_for is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label_for is not None:
            self.labels[self._label_for] = " ".join("".join(self._text).split())
            self._label_for = None
