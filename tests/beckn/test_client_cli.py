"""`gridshare beckn-client` (client_cli.py) driving a stand-in BPP over HTTP.

The stand-in answers the way BECKN-003 and the Beckn-ONIX BPP mode describe: it checks the
request's BECKN-006 signature with the BAP's key from the registry file `init` wrote (PyNaCl,
not our signing module), answers ACK, and POSTs a PyNaCl-signed `on_{action}` echoing the
context's ids to `{bap_uri}/on_{action}`; its messages are the Connections v1.1 examples. Every
request and callback is checked against core 1.1.0 transaction.yaml.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import nacl.signing
import pytest
from typer.testing import CliRunner, Result

from gridshare.beckn import client_cli
from tests.beckn import independent, schema

EXAMPLES = Path(__file__).parent / "specs" / "connections_examples"
BPP_ID = "bpp.stub"
ORDER_ID = "order-42"


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return document


def callback_message(action: str, request: dict[str, Any]) -> dict[str, Any]:
    """The stand-in's answer to a request: the guide's example where there is one."""
    order_id = request["message"].get("order_id", ORDER_ID)
    examples = {
        "search": "search/on_search.json",
        "select": "select/on_select.json",
        "init": "init/on_init.json",
        "confirm": "confirm/on_confirm.json",
        "status": "status/on_status-1.json",
    }
    if action not in examples:  # no Connections example: a bare order in its new state
        state = {"descriptor": {"code": "CANCELLED"}}
        return {"order": {"id": order_id, "fulfillments": [{"state": state}]}}
    message: dict[str, Any] = example(examples[action])["message"]
    if action == "confirm":
        message["order"]["id"] = ORDER_ID
    elif action == "status":
        message["order"]["id"] = order_id
    return message


class StubBpp:
    """A BPP stand-in on a local port: `mode` is "callback" (answer ACK after calling back),
    "nack", "error" (call back with an `error`), "silent" (ACK, no callback) or "later" (ACK,
    then call back twice from a thread, retrying until the BAP listens: the answer and an
    unsolicited one with a fresh message_id)."""

    def __init__(self, registry_file: Path) -> None:
        self.registry_file = registry_file
        self.key = nacl.signing.SigningKey.generate()
        self.mode = "callback"
        self.requests: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.workers: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/beckn"

    def close(self) -> None:
        for worker in self.workers:
            worker.join()
        self.server.shutdown()
        self.server.server_close()

    def subscriber_document(self) -> dict[str, Any]:
        return {
            "subscriber_id": BPP_ID,
            "subscriber_url": self.url,
            "type": "BPP",
            "domains": ["service"],
            "keys": [
                {"unique_key_id": "k1", "signing_public_key": independent.public_b64(self.key)}
            ],
        }

    def bap_public_key(self, header: str) -> str:
        key_id = header.split('keyId="', 1)[1].split('"', 1)[0]
        subscriber_id, unique_key_id, _ = key_id.split("|")
        entries = json.loads(self.registry_file.read_text())
        [entry] = [
            e
            for e in entries
            if (e["subscriber_id"], e["key_id"]) == (subscriber_id, unique_key_id)
        ]
        key: str = entry["signing_public_key"]
        return key

    def take(self, action: str, raw: bytes, authorization: str) -> tuple[int, dict[str, Any]]:
        independent.verify(authorization, raw, self.bap_public_key(authorization))
        request = json.loads(raw)
        self.requests.append(request)
        if self.mode == "nack":
            error = {"code": "30001", "message": "provider not found"}
            return 400, {"message": {"ack": {"status": "NACK"}}, "error": error}
        if self.mode == "callback":
            self.call_back(action, request, request["context"]["message_id"])
        elif self.mode == "error":
            self.call_back(action, request, request["context"]["message_id"], failed=True)
        elif self.mode == "later":
            worker = threading.Thread(target=self.call_back_later, args=(action, request))
            self.workers.append(worker)
            worker.start()
        return 200, {"message": {"ack": {"status": "ACK"}}}

    def call_back_later(self, action: str, request: dict[str, Any]) -> None:
        for message_id in (request["context"]["message_id"], str(uuid.uuid4())):
            deadline = time.monotonic() + 30
            while not self.call_back(action, request, message_id, quiet=True):
                if time.monotonic() > deadline:
                    self.problems.append(f"on_{action} {message_id} was never taken")
                    return
                time.sleep(0.05)

    def call_back(
        self,
        action: str,
        request: dict[str, Any],
        message_id: str,
        failed: bool = False,
        quiet: bool = False,
    ) -> bool:
        context = request["context"]
        body: dict[str, Any] = {
            "context": {
                "domain": context["domain"],
                "location": context["location"],
                "action": f"on_{action}",
                "version": "1.1.0",
                "bap_id": context["bap_id"],
                "bap_uri": context["bap_uri"],
                "bpp_id": BPP_ID,
                "bpp_uri": self.url,
                "transaction_id": context["transaction_id"],
                "message_id": message_id,
                "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ttl": context["ttl"],
            }
        }
        if failed:
            body["error"] = {"code": "30010", "message": "order not found"}
        else:
            body["message"] = callback_message(action, request)
        raw = json.dumps(body).encode()
        created = int(time.time())
        authorization = independent.sign(
            raw, self.key, f"{BPP_ID}|k1|ed25519", created, created + 600
        )
        try:
            answer = httpx.post(
                f"{context['bap_uri']}/on_{action}",
                content=raw,
                headers={"Authorization": authorization, "Content-Type": "application/json"},
            )
        except httpx.ConnectError:
            if not quiet:
                self.problems.append(f"on_{action}: the BAP is not listening")
            return False
        if answer.status_code != 200 or answer.json() != {"message": {"ack": {"status": "ACK"}}}:
            self.problems.append(f"on_{action} answered {answer.status_code} {answer.text}")
            return False
        self.callbacks.append(body)
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                assert self.path == "/beckn/subscriber.json", self.path
                self.answer(200, stub.subscriber_document())

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                action = self.path.removeprefix("/beckn/")
                try:
                    status, body = stub.take(action, raw, self.headers["Authorization"])
                except Exception as exc:  # reported to the test, answered 401
                    stub.problems.append(f"{action}: {exc!r}")
                    status, body = 401, {"message": {"ack": {"status": "NACK"}}}
                self.answer(status, body)

            def answer(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def bpp(workdir: Path) -> Iterator[StubBpp]:
    stub = StubBpp(workdir / "registry.json")
    yield stub
    stub.close()
    assert stub.problems == []
    for request in stub.requests:
        schema.assert_valid_message(request["context"]["action"], request)
    for callback in stub.callbacks:
        schema.assert_valid_message(callback["context"]["action"], callback)


def run(workdir: Path, *args: str) -> Result:
    """`gridshare beckn-client --key-file {workdir}/bap.json *args`: the shared options, then
    the command and its own."""
    return CliRunner().invoke(client_cli.app, ["--key-file", str(workdir / "bap.json"), *args])


@pytest.fixture
def bap(workdir: Path, bpp: StubBpp) -> str:
    """`init` done: the BAP's key file and its entry in the stand-in's registry file."""
    callback_url = f"http://127.0.0.1:{free_port()}/bap"
    made = run(
        workdir,
        "--registry-file",
        str(bpp.registry_file),
        "init",
        "--subscriber-id",
        "bap.test",
        "--callback-url",
        callback_url,
    )
    assert made.exit_code == 0, made.output
    entry = json.loads(made.stdout)
    assert (entry["subscriber_id"], entry["url"], entry["type"]) == (
        "bap.test",
        callback_url,
        "BAP",
    )
    return callback_url


def test_search_to_cancel_from_the_shell(workdir: Path, bpp: StubBpp, bap: str) -> None:
    """The Connections guide's flow, search -> select -> init -> confirm -> status, then cancel:
    one transaction_id throughout, a new message_id per request, each callback printed; init
    takes on_select's fulfillment, confirm on_init's payments, status and cancel on_confirm's
    order id."""
    searched = run(
        workdir,
        "--bpp",
        bpp.url,
        "--ttl",
        "PT5M",
        "search",
        "--text",
        "new connection",
        "--gps",
        "37.7749,-122.4194",
    )
    assert searched.exit_code == 0, searched.output
    assert json.loads(searched.stdout) == bpp.callbacks[0]
    assert "search: transaction" in searched.stderr and "ACK (HTTP 200)" in searched.stderr

    selected = run(
        workdir,
        "select",
        "--provider",
        "sf_electric_authority",
        "--item",
        "new-resi-connection",
        "--load-kw",
        "5",
        "--monthly-kwh",
        "300",
    )
    assert selected.exit_code == 0, selected.output
    assert json.loads(selected.stdout)["message"]["order"]["quote"]["price"]["value"] == "200"

    initialised = run(
        workdir,
        "init-order",
        "--name",
        "Jonathan Park",
        "--address",
        "910 Pinecrest Blvd, San Francisco, CA",
        "--email",
        "jonathan.park@example.com",
        "--phone",
        "+14155553333",
        "--gps",
        "37.7749,-122.4194",
    )
    assert initialised.exit_code == 0, initialised.output
    confirmed = run(workdir, "confirm")
    assert confirmed.exit_code == 0, confirmed.output
    assert json.loads(confirmed.stdout)["message"]["order"]["id"] == ORDER_ID
    status = run(workdir, "status")
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["context"]["action"] == "on_status"
    cancelled = run(workdir, "cancel", "--reason-id", "5", "--reason", "moving")
    assert cancelled.exit_code == 0, cancelled.output

    search, select, init, confirm, status_request, cancel = bpp.requests
    assert [r["context"]["action"] for r in bpp.requests] == [
        "search",
        "select",
        "init",
        "confirm",
        "status",
        "cancel",
    ]
    assert len({r["context"]["transaction_id"] for r in bpp.requests}) == 1
    assert len({r["context"]["message_id"] for r in bpp.requests}) == 6
    assert "bpp_id" not in search["context"]
    assert search["context"]["ttl"] == "PT5M"
    assert {r["context"]["ttl"] for r in bpp.requests[1:]} == {"PT10M"}
    assert {r["context"].get("bpp_id") for r in bpp.requests[1:]} == {BPP_ID}
    assert search["message"]["intent"]["fulfillment"]["stops"][0]["location"]["gps"] == (
        "37.7749,-122.4194"
    )
    assert select["message"]["order"]["items"][0]["tags"][1]["list"][0] == {
        "descriptor": {"code": "requested_load_kw"},
        "value": "5",
    }
    [fulfillment] = init["message"]["order"]["fulfillments"]
    assert (fulfillment["id"], fulfillment["type"]) == ("1", "ONSITE")  # on_select's
    assert init["message"]["order"]["billing"]["email"] == "jonathan.park@example.com"
    on_init = example("init/on_init.json")["message"]["order"]
    assert confirm["message"]["order"]["payments"] == on_init["payments"]
    assert confirm["message"]["order"]["billing"] == init["message"]["order"]["billing"]
    assert status_request["message"] == {"order_id": ORDER_ID}
    assert cancel["message"] == {
        "order_id": ORDER_ID,
        "cancellation_reason_id": "5",
        "descriptor": {"short_desc": "moving"},
    }
    journal = (workdir / "bap.callbacks.jsonl").read_text().splitlines()
    assert [json.loads(line)["body"] for line in journal] == bpp.callbacks


def test_a_nack_exits_1_and_starts_no_transaction(workdir: Path, bpp: StubBpp, bap: str) -> None:
    bpp.mode = "nack"
    result = run(workdir, "--bpp", bpp.url, "search")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "30001"
    assert "NACK (HTTP 400)" in result.stderr and "provider not found" in result.stderr
    assert not (workdir / "bap.state.json").exists()


def test_a_callback_with_an_error_is_printed_and_exits_1(
    workdir: Path, bpp: StubBpp, bap: str
) -> None:
    bpp.mode = "error"
    result = run(workdir, "--bpp", bpp.url, "search")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "30010"
    assert "carries an error" in result.stderr


def test_no_callback_within_the_timeout_exits_1(workdir: Path, bpp: StubBpp, bap: str) -> None:
    bpp.mode = "silent"
    result = run(workdir, "--bpp", bpp.url, "--timeout", "0", "search")
    assert result.exit_code == 1
    assert f"no on_search for message {bpp.requests[0]['context']['message_id']}" in result.stderr


def test_no_wait_then_listen_prints_the_answer_and_an_unsolicited_on_status(
    workdir: Path, bpp: StubBpp, bap: str
) -> None:
    """BECKN-003: after `status` the BPP may send several on_status; an unsolicited one carries
    a fresh message_id (Context.yaml)."""
    bpp.mode = "later"
    transaction_id = str(uuid.uuid4())
    sent = run(
        workdir,
        "--bpp",
        bpp.url,
        "--no-wait",
        "status",
        "--order-id",
        "o-7",
        "--transaction-id",
        transaction_id,
    )
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout) == {"message": {"ack": {"status": "ACK"}}}

    heard = run(workdir, "--timeout", "60", "listen", "--count", "2")
    assert heard.exit_code == 0, heard.output
    printed = []
    decoder, text = json.JSONDecoder(), heard.stdout.strip()
    while text:
        document, end = decoder.raw_decode(text)
        printed.append(document)
        text = text[end:].strip()
    assert [p["message"]["order"]["id"] for p in printed] == ["o-7", "o-7"]
    request_id = bpp.requests[0]["context"]["message_id"]
    assert printed[0]["context"]["message_id"] == request_id
    assert printed[1]["context"]["message_id"] != request_id
    assert {p["context"]["transaction_id"] for p in printed} == {transaction_id}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["select", "--provider", "p", "--item", "i"], "which BPP?"),
        (["--bpp", "http://127.0.0.1:1/beckn", "confirm"], "run search"),
        (["--bpp", "http://127.0.0.1:1/beckn", "search", "--gps", "north"], "not a GPS point"),
    ],
)
def test_a_step_out_of_order_says_what_to_run(
    workdir: Path, bap: str, args: list[str], problem: str
) -> None:
    result = run(workdir, *args)
    assert result.exit_code == 1
    assert problem in result.stderr


def test_confirm_needs_on_inits_payments(workdir: Path, bpp: StubBpp, bap: str) -> None:
    assert run(workdir, "--bpp", bpp.url, "search").exit_code == 0
    assert run(workdir, "select", "--provider", "p", "--item", "i").exit_code == 0
    bpp.mode = "silent"
    assert (
        run(workdir, "--no-wait", "init-order", "--name", "A", "--address", "1 Main St").exit_code
        == 0
    )
    result = run(workdir, "confirm")
    assert result.exit_code == 1
    assert "no on_init with payments" in result.stderr


def test_listen_exits_1_when_the_timeout_passes_before_the_count(
    workdir: Path, bpp: StubBpp, bap: str
) -> None:
    result = run(workdir, "--bpp", bpp.url, "--timeout", "0", "listen", "--count", "1")
    assert result.exit_code == 1
    assert "0 of 1 callbacks arrived within 0 s" in result.stderr


def test_a_shared_option_goes_before_the_command_and_the_help_says_so(workdir: Path) -> None:
    """The options every command shares are the group's: after the command they are unknown,
    and each command's help points at them."""
    misplaced = run(workdir, "search", "--bpp", "http://127.0.0.1:1/beckn")
    assert misplaced.exit_code == 2
    assert "No such option: --bpp" in misplaced.output
    assert not (workdir / "bap.state.json").exists()

    helped = run(workdir, "search", "--help")
    assert helped.exit_code == 0
    assert "go before the command" in helped.output
    shared = run(workdir, "--help")
    for option in ("--key-file", "--bpp", "--registry-file", "--timeout", "--no-wait", "--ttl"):
        assert option in shared.output
