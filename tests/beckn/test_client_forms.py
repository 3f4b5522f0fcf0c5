"""Reading and filling a BPP's documents form (client_forms; BECKN-007): the file inputs and
their labels, chosen by label, field name or number; the submission signed over its bytes."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.exceptions
import pytest

from gridshare.beckn import client
from gridshare.beckn.client_errors import ClientError
from tests.beckn import independent
from tests.local_server import serving

PAGE = """<!doctype html><form action="n" method="post" enctype="multipart/form-data">
<p><label for="document-1">ID   proof</label>
<input type="file" id="document-1" name="document-1"></p>
<p><label for="document-2">Wiring diagram</label>
<input type="file" id="document-2" name="document-2"></p>
<input type="hidden" name="nonce" value="n"></form>"""


def test_the_file_inputs_and_their_labels() -> None:
    assert client.form_inputs(PAGE) == [
        client.FileInput("document-1", "ID proof"),
        client.FileInput("document-2", "Wiring diagram"),
    ]


@pytest.mark.parametrize("given", ["wiring DIAGRAM", "document-2", "2"])
def test_an_input_is_chosen_by_label_name_or_number(given: str) -> None:
    assert client.form_input(client.form_inputs(PAGE), given).name == "document-2"


def test_an_unknown_input_lists_the_ones_there_are() -> None:
    with pytest.raises(ClientError, match="1: ID proof \\(document-1\\); 2: Wiring diagram"):
        client.form_input(client.form_inputs(PAGE), "Passport")


@pytest.fixture
def form_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A form at /form: GET answers PAGE; POST records the request and answers a FormResponse."""
    posted: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send(PAGE.encode(), "text/html")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posted.append({"headers": dict(self.headers), "body": body})
            self._send(b'{"status": true, "submission_id": "sub-1"}', "application/json")

        def _send(self, data: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as port:
        yield f"http://127.0.0.1:{port}/form", posted


def test_a_submission_is_multipart_and_signed_over_its_bytes(
    form_server: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, posted = form_server
    identity = client.new_identity("bap.example.org", "http://127.0.0.1:9/bap")
    document = tmp_path / "id.pdf"
    document.write_bytes(b"%PDF-1.4\n")
    inputs = client.fetch_form(url)
    status, answer = client.submit_form(url, [(inputs[0], document)], identity)
    assert (status, answer) == (200, {"status": True, "submission_id": "sub-1"})
    [request] = posted
    assert request["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="document-1"; filename="id.pdf"' in request["body"]
    assert b"Content-Type: application/pdf" in request["body"]
    independent.verify(request["headers"]["Authorization"], request["body"], identity.public_key)
    with pytest.raises(nacl.exceptions.BadSignatureError):
        independent.verify(
            request["headers"]["Authorization"], request["body"] + b"x", identity.public_key
        )


def test_a_missing_file_is_named(
    form_server: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, _ = form_server
    identity = client.new_identity("bap.example.org", "http://127.0.0.1:9/bap")
    with pytest.raises(ClientError, match="cannot read"):
        client.submit_form(
            url, [(client.FileInput("document-1", "ID"), tmp_path / "no.pdf")], identity
        )
