"""A Beckn order's whole life over real HTTP between separate processes: `gridshare serve` as the
BPP, `gridshare worker` delivering its callbacks, `gridshare beckn-client` as the BAP, and the
desk's `gridshare orders advance` (issue #7; core 1.1.0, BECKN-006, DEG Connections v1.1).

Every callback the BAP received is checked again here with PyNaCl (independent of the signing
code of both sides) against the keys the BPP publishes, and every message against core 1.1.0
`transaction.yaml`.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gridshare.config import Settings
from gridshare.demo.territory import ELECTRIC_TERRITORY, TOWN, polygon
from gridshare.store.db import make_engine, session_factory, transaction
from gridshare.store.migrate import upgrade
from gridshare.utility.coverage import save_entry
from tests.beckn import schema
from tests.beckn.bap import verify
from tests.e2e.servers import free_port, running, server_env

DAVIS = f"{TOWN['Davis'].latitude},{TOWN['Davis'].longitude}"


@dataclass
class World:
    base: str
    env: dict[str, str]
    tmp: Path
    key_file: Path
    worker: subprocess.Popen[bytes] | None = None

    @property
    def bpp(self) -> str:
        return f"{self.base}/beckn"

    def gridshare(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "gridshare", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check:
            assert done.returncode == 0, f"gridshare {' '.join(args)}: {done.stderr}{done.stdout}"
        return done

    def bap(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`gridshare beckn-client` with this world's key file: `args` is a command and its
        options, among which `--bpp URL` and `--no-wait`, options shared by every command, are
        given before the command."""
        command, *rest = args
        shared, own = ["--key-file", str(self.key_file)], []
        words = iter(rest)
        for word in words:
            if word == "--bpp":
                shared += [word, next(words)]
            elif word == "--no-wait":
                shared.append(word)
            else:
                own.append(word)
        return self.gridshare("beckn-client", *shared, command, *own, check=check)

    def callback(self, *args: str) -> dict[str, Any]:
        """Run a BAP request command; its callback, checked against core 1.1.0."""
        answer: dict[str, Any] = json.loads(self.bap(*args).stdout)
        action = answer["context"]["action"]
        schema.assert_valid_message(action, answer)
        return answer

    def start_worker(self) -> None:
        log = (self.tmp / "worker.log").open("a")
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "gridshare", "worker"], env=self.env, stdout=log, stderr=log
        )

    def kill_worker(self) -> None:
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(timeout=30)
        self.worker = None

    def listen(self, count: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gridshare",
                "beckn-client",
                "--key-file",
                str(self.key_file),
                "--timeout",
                "90",
                "listen",
                "--count",
                str(count),
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    port, bap_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "bpp"
    data_dir.mkdir()
    registry = tmp_path / "registry.json"
    registry.write_text("[]")
    with server_env(f"gridshare_beckn_{port}") as env:
        env |= {
            "GRIDSHARE_DATA_DIR": str(data_dir),
            "GRIDSHARE_BASE_URL": base,
            "GRIDSHARE_BECKN_REGISTRY_FILE": str(registry),
            "GRIDSHARE_WORKER_POLL_SECONDS": "0.2",
        }
        settings = Settings(
            data_dir=data_dir, database_url=env.get("GRIDSHARE_DATABASE_URL"), base_url=base
        )
        engine = make_engine(settings.sqlalchemy_url)
        upgrade(engine)
        with transaction(session_factory(engine)) as session:
            save_entry(
                session,
                entry_id="electric",
                entity_name=settings.utility_name,
                entity_abbreviation=settings.utility_abbreviation,
                country="US",
                name="Electric service territory",
                type="geographic",
                role="authoritative",
                infrastructure_types=["distribution_utility"],
                commodity_types=["electricity"],
                capabilities=[],
                geojson=polygon(ELECTRIC_TERRITORY, "electric territory"),
            )
        engine.dispose()
        key_file = tmp_path / "bap.json"
        made = World(base, env, tmp_path, key_file)
        made.gridshare(
            "beckn-client",
            "--key-file",
            str(key_file),
            "--registry-file",
            str(registry),
            "init",
            "--subscriber-id",
            "bap.e2e.example",
            "--callback-url",
            f"http://127.0.0.1:{bap_port}/bap",
        )
        command = [sys.executable, "-m", "gridshare", "serve", "--port", str(port), "--no-worker"]
        with running(command, env, data_dir, base):
            made.start_worker()
            try:
                yield made
            finally:
                if made.worker is not None:
                    made.worker.terminate()
                    made.worker.wait(timeout=30)


def published_keys(base: str) -> dict[str, str]:
    document = httpx.get(f"{base}/beckn/subscriber.json").json()
    return {key["unique_key_id"]: key["signing_public_key"] for key in document["keys"]}


def journal(world: World) -> list[dict[str, Any]]:
    path = world.key_file.with_name(f"{world.key_file.stem}.callbacks.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def documents(output: str) -> list[dict[str, Any]]:
    """The JSON documents printed one after another (`listen` prints each callback)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while output[at:].strip():
        at += len(output[at:]) - len(output[at:].lstrip())
        document, at = decoder.raw_decode(output, at)
        found.append(document)
    return found


def state_of(order: dict[str, Any]) -> str:
    code: str = order["fulfillments"][0]["state"]["descriptor"]["code"]
    return code


def test_the_whole_lifecycle_between_processes(world: World) -> None:
    found = world.callback("search", "--bpp", world.bpp, "--gps", DAVIS)
    [provider] = found["message"]["catalog"]["providers"]
    item = next(i for i in provider["items"] if i["id"] == "residential-single-phase")

    quoted = world.callback(
        "select", "--provider", provider["id"], "--item", item["id"], "--load-kw", "5"
    )
    assert quoted["message"]["order"]["quote"]["price"]["value"] == "200.00"
    terms = world.callback(
        "init-order",
        "--name",
        "Maria Lopez",
        "--email",
        "maria@example.org",
        "--address",
        "1 Main St, Davis",
        "--gps",
        DAVIS,
    )
    assert terms["message"]["order"]["payments"][0]["collected_by"] == "BPP"

    # the documents form on_init offered (BECKN-007), filled and submitted signed
    assert terms["message"]["order"]["items"][0]["xinput"]["form"]["mime_type"] == "text/html"
    proof = world.tmp / "id.pdf"
    proof.write_bytes(b"%PDF-1.4\n% Maria's ID\n")
    submitted = json.loads(world.bap("documents", "--file", f"ID proof={proof}").stdout)
    assert submitted["status"] is True

    confirmed = world.callback("confirm")
    order_id = confirmed["message"]["order"]["id"]
    form = confirmed["message"]["order"]["items"][0]["xinput"]["form"]
    assert form["submission_id"] == submitted["submission_id"]
    assert "ID proof" in world.gridshare("orders", "show", order_id).stdout
    assert state_of(confirmed["message"]["order"]) == "PENDING"
    assert state_of(world.callback("status")["message"]["order"]) == "PENDING"

    # the desk moves it: the BAP hears of each change without asking
    listener = world.listen(count=1)
    time.sleep(1.5)  # the listener binds its port
    world.gridshare("orders", "advance", order_id, "--to", "IN_PROGRESS", "--reason", "crew booked")
    out, err = listener.communicate(timeout=120)
    assert listener.returncode == 0, err
    [announced] = documents(out)
    schema.assert_valid_message("on_status", announced)
    assert state_of(announced["message"]["order"]) == "IN_PROGRESS"
    assert announced["context"]["message_id"] != confirmed["context"]["message_id"]

    # the BAP cancels under the IN_PROGRESS terms (a fee, a reason required)
    cancelled = world.callback("cancel", "--reason-id", "2")
    order = cancelled["message"]["order"]
    assert order["status"] == "CANCELLED" and state_of(order) == "CANCELLED"
    assert order["quote"]["breakup"][0]["title"] == "Cancellation fee"
    assert order["quote"]["price"]["value"] == "50.00"  # 25 % of 200.00
    again = world.bap("cancel", "--reason-id", "2", check=False)
    assert again.returncode == 1 and "50001" in again.stdout + again.stderr

    # a second order, taken to COMPLETED by the desk
    world.callback("search", "--bpp", world.bpp, "--gps", DAVIS)
    world.callback("select", "--provider", provider["id"], "--item", item["id"])
    world.callback(
        "init-order",
        "--name",
        "Ana Kim",
        "--phone",
        "+15305550100",
        "--address",
        "2 Oak Ave, Davis",
    )
    second = world.callback("confirm")["message"]["order"]["id"]
    listener = world.listen(count=2)
    time.sleep(1.5)
    world.gridshare("orders", "advance", second, "--to", "IN_PROGRESS")
    world.gridshare(
        "orders",
        "advance",
        second,
        "--to",
        "COMPLETED",
        "--detail",
        "meter_id=M-77",
        "--detail",
        "consumer_number=DGE-1",
    )
    out, err = listener.communicate(timeout=120)
    assert listener.returncode == 0, err
    states = [state_of(document["message"]["order"]) for document in documents(out)]
    assert states == ["IN_PROGRESS", "COMPLETED"]

    # every callback the BAP took was signed by the BPP's published key
    keys = published_keys(world.base)
    received = journal(world)
    assert len(received) >= 13
    for record in received:
        evidence = record["evidence"]
        signer = verify(base64.b64decode(evidence["body"]), evidence["authorization"], keys)
        assert signer == httpx.URL(world.base).netloc.decode()
        schema.assert_valid_message(
            record["action"], json.loads(base64.b64decode(evidence["body"]))
        )


def test_tampering_repeats_and_a_killed_worker(world: World) -> None:
    world.callback("search", "--bpp", world.bpp, "--gps", DAVIS)
    world.callback("select", "--provider", "dge-connections", "--item", "residential-single-phase")
    world.callback(
        "init-order",
        "--name",
        "Sam Reed",
        "--email",
        "sam@example.org",
        "--address",
        "3 Elm St, Davis",
    )

    # a confirm signed by the BAP's key, sent twice, then once tampered with
    key = json.loads(world.key_file.read_text())
    state = json.loads(world.key_file.with_name(f"{world.key_file.stem}.state.json").read_text())
    body, authorization = signed_confirm(world, key, state)
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    first = httpx.post(f"{world.bpp}/confirm", content=body, headers=headers)
    repeat = httpx.post(f"{world.bpp}/confirm", content=body, headers=headers)
    assert first.status_code == repeat.status_code == 200
    assert first.json() == repeat.json() == {"message": {"ack": {"status": "ACK"}}}
    tampered = httpx.post(
        f"{world.bpp}/confirm", content=body.replace(b"Sam Reed", b"Sam Reef"), headers=headers
    )
    assert tampered.status_code == 401
    assert tampered.json()["message"]["ack"]["status"] == "NACK"
    assert tampered.headers["WWW-Authenticate"].startswith("Signature realm=")
    schema.assert_valid_response(tampered.json())
    listing = world.gridshare("orders", "list").stdout
    assert listing.count("Sam Reed") == 1  # one order, however often it was confirmed

    # the worker dies; requests and desk changes wait in the outbox; a new worker sends them all
    world.kill_worker()
    order_id = _order_id(listing)
    for command in ("status", "track", "support"):
        world.bap(command, "--order-id", order_id, "--no-wait")
    world.gridshare("orders", "advance", order_id, "--to", "IN_PROGRESS")
    listener = world.listen(
        count=5
    )  # on_confirm (first), on_status, on_track, on_support, announcement
    time.sleep(1.5)
    world.start_worker()
    out, err = listener.communicate(timeout=120)
    assert listener.returncode == 0, err
    actions = sorted(document["context"]["action"] for document in documents(out))
    assert actions == ["on_confirm", "on_status", "on_status", "on_support", "on_track"]


def _order_id(listing: str) -> str:
    return next(word for word in listing.split() if word.startswith("CO-"))


def signed_confirm(world: World, key: dict[str, Any], state: dict[str, Any]) -> tuple[bytes, str]:
    """The confirm of the current transaction, signed with the BAP's key by PyNaCl."""
    import uuid
    from datetime import UTC, datetime

    import nacl.signing

    from tests.beckn import independent

    order = dict(state["orders"]["init"])
    message = {
        "context": {
            "domain": "service",
            "action": "confirm",
            "version": "1.1.0",
            "bap_id": key["subscriber_id"],
            "bap_uri": key["callback_url"],
            "transaction_id": state["transaction_id"],
            "message_id": str(uuid.uuid4()),
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ttl": "PT10M",
        },
        "message": {"order": order},
    }
    body = json.dumps(message).encode()
    seed = base64.b64decode(key["signing_private_key"])[:32]
    created = int(time.time()) - 1
    expires = created + 600
    key_id = f"{key['subscriber_id']}|{key['unique_key_id']}|ed25519"
    authorization = independent.sign(body, nacl.signing.SigningKey(seed), key_id, created, expires)
    return body, authorization
