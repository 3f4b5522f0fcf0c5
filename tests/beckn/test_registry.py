"""Registry lookup (gridshare.beckn.registry): the JSON file registry, the cache with a fake
clock, and the HTTP registry against a real local server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gridshare.beckn.registry import (
    CachedRegistry,
    FileRegistry,
    HttpRegistry,
    RegistryError,
    Subscriber,
    registry_from,
)
from gridshare.config import Settings

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def entry(**changes: Any) -> dict[str, Any]:
    """A usable registry entry for bap.example.org key k1; `changes` replace fields (None
    removes one)."""
    fields: dict[str, Any] = {
        "subscriber_id": "bap.example.org",
        "url": "https://bap.example.org/beckn",
        "type": "BAP",
        "domain": "service",
        "key_id": "k1",
        "signing_public_key": "PUBLIC-k1",
        "encr_public_key": "ENCR-k1",
        "valid_from": "2025-01-01T00:00:00Z",
        "valid_until": "2026-01-01T00:00:00Z",
        "status": "SUBSCRIBED",
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


class Clock:
    """A settable clock: `now()` for validity windows, `monotonic()` for cache expiry."""

    def __init__(self) -> None:
        self.moment = NOW
        self.seconds = 1000.0

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return self.seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    path = tmp_path / "registry.json"
    write(path, [entry()])
    return path


def write(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document), encoding="utf-8")


def test_file_registry_finds_a_subscribed_key(registry_file: Path, clock: Clock) -> None:
    found = FileRegistry(registry_file, clock.now).lookup("bap.example.org", "k1")
    assert found == Subscriber(
        subscriber_id="bap.example.org",
        unique_key_id="k1",
        signing_public_key="PUBLIC-k1",
        status="SUBSCRIBED",
        subscriber_url="https://bap.example.org/beckn",
        type="BAP",
        domain="service",
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
        valid_until=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_file_registry_answers_only_the_asked_subscriber_and_key(
    registry_file: Path, clock: Clock
) -> None:
    write(registry_file, [entry(), entry(key_id="k2", signing_public_key="PUBLIC-k2")])
    registry = FileRegistry(registry_file, clock.now)
    found = registry.lookup("bap.example.org", "k2")
    assert found is not None
    assert found.signing_public_key == "PUBLIC-k2"
    assert registry.lookup("bap.example.org", "k3") is None
    assert registry.lookup("other.example.org", "k1") is None


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "UNDER_SUBSCRIPTION"},
        {"status": "INITIATED"},
        {"status": "EXPIRED"},
        {"status": "UNSUBSCRIBED"},
        {"status": "INVALID_SSL"},
        {"status": "subscribed"},
        {"valid_from": "2025-06-01T12:00:01Z"},
        {"valid_until": "2025-06-01T12:00:00Z"},
        {"valid_until": "2025-06-01T11:59:59Z"},
    ],
)
def test_unusable_entries_are_not_returned(changes: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    write(path, [entry(**changes)])
    assert FileRegistry(path, lambda: NOW).lookup("bap.example.org", "k1") is None


def test_an_open_window_and_the_window_edges(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    write(path, [entry(valid_from=None, valid_until=None)])
    assert FileRegistry(path, lambda: NOW).lookup("bap.example.org", "k1") is not None
    write(path, [entry(valid_from="2025-06-01T12:00:00Z", valid_until="2025-06-01T17:30:01+05:30")])
    assert FileRegistry(path, lambda: NOW).lookup("bap.example.org", "k1") is not None


def test_the_names_deployed_registries_use(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    write(
        path,
        [
            entry(key_id=None, ukId="k1", url=None, subscriber_url="https://bap.example.org/a"),
            entry(key_id=None, unique_key_id="k2", signing_public_key="PUBLIC-k2"),
        ],
    )
    registry = FileRegistry(path, lambda: NOW)
    first = registry.lookup("bap.example.org", "k1")
    assert first is not None
    assert first.subscriber_url == "https://bap.example.org/a"
    second = registry.lookup("bap.example.org", "k2")
    assert second is not None
    assert second.signing_public_key == "PUBLIC-k2"


def test_without_a_key_id_the_subscriber_needs_exactly_one_usable_key(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    registry = FileRegistry(path, lambda: NOW)
    write(path, [entry(), entry(domain="deg:service"), entry(key_id="k0", status="EXPIRED")])
    found = registry.lookup("bap.example.org", None)
    assert found is not None
    assert found.unique_key_id == "k1"
    write(path, [entry(), entry(key_id="k2")])
    assert registry.lookup("bap.example.org", None) is None
    assert registry.lookup("bap.example.org", "k2") is not None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"subscribers": []}, "expected a JSON array of Subscription objects"),
        (["bap.example.org"], "entry 0 is not a JSON object"),
        ([entry(), entry(signing_public_key=None)], "entry 1: signing_public_key is required"),
        ([entry(key_id=None)], "entry 0: key_id or unique_key_id or ukId is required"),
        ([entry(status=None)], "entry 0: status is required"),
        ([entry(subscriber_id="")], "entry 0: subscriber_id is required"),
        ([entry(type=["BAP"])], "entry 0: type must be a string"),
        ([entry(valid_until="2026-01-01")], "entry 0: valid_until: '2026-01-01' is not an RFC"),
    ],
)
def test_a_bad_file_is_an_error_that_says_where(
    document: Any, message: str, registry_file: Path
) -> None:
    write(registry_file, document)
    with pytest.raises(RegistryError) as caught:
        FileRegistry(registry_file).lookup("bap.example.org", "k1")
    assert str(caught.value).startswith(f"registry file {registry_file}")
    assert message in str(caught.value)


def test_a_missing_or_unreadable_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot be read"):
        FileRegistry(tmp_path / "nowhere.json").lookup("bap.example.org", "k1")
    (tmp_path / "broken.json").write_text("[{", encoding="utf-8")
    with pytest.raises(RegistryError, match="cannot be read"):
        FileRegistry(tmp_path / "broken.json").lookup("bap.example.org", "k1")


@pytest.mark.req("ONIX-BPP-6")
def test_the_cache_keeps_answers_until_they_expire(registry_file: Path, clock: Clock) -> None:
    cached = CachedRegistry(FileRegistry(registry_file), 300, clock.now, clock.monotonic)
    first = cached.lookup("bap.example.org", "k1")
    assert first is not None
    write(registry_file, [entry(signing_public_key="ROTATED")])
    clock.seconds += 299
    assert cached.lookup("bap.example.org", "k1") == first
    clock.seconds += 1
    again = cached.lookup("bap.example.org", "k1")
    assert again is not None
    assert again.signing_public_key == "ROTATED"


def test_the_cache_keeps_misses_too(registry_file: Path, clock: Clock) -> None:
    cached = CachedRegistry(FileRegistry(registry_file), 60, clock.now, clock.monotonic)
    assert cached.lookup("bap.example.org", "k2") is None
    write(registry_file, [entry(), entry(key_id="k2")])
    assert cached.lookup("bap.example.org", "k2") is None
    assert cached.lookup("bap.example.org", "k1") is not None  # a key of its own
    clock.seconds += 60
    assert cached.lookup("bap.example.org", "k2") is not None


def test_a_cached_key_stops_being_returned_when_its_window_ends(
    registry_file: Path, clock: Clock
) -> None:
    write(registry_file, [entry(valid_until="2025-06-01T12:01:00Z")])
    cached = CachedRegistry(FileRegistry(registry_file), 3600, clock.now, clock.monotonic)
    assert cached.lookup("bap.example.org", "k1") is not None
    clock.moment += timedelta(minutes=1)
    assert cached.lookup("bap.example.org", "k1") is None


def test_failures_are_not_cached(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "later.json"
    cached = CachedRegistry(FileRegistry(path), 300, clock.now, clock.monotonic)
    with pytest.raises(RegistryError):
        cached.lookup("bap.example.org", "k1")
    write(path, [entry()])
    assert cached.lookup("bap.example.org", "k1") is not None


def test_the_cache_holds_a_bounded_number_of_answers(registry_file: Path, clock: Clock) -> None:
    cached = CachedRegistry(FileRegistry(registry_file), 300, clock.now, clock.monotonic, 2)
    for key_id in ("k1", "k2", "k3"):
        cached.lookup("bap.example.org", key_id)
    write(registry_file, [entry(signing_public_key="NEW")])
    evicted = cached.lookup("bap.example.org", "k1")  # the oldest answer was dropped
    assert evicted is not None
    assert evicted.signing_public_key == "NEW"


def test_the_cache_is_shared_by_threads(registry_file: Path, clock: Clock) -> None:
    cached = CachedRegistry(FileRegistry(registry_file), 300, clock.now, clock.monotonic)
    results: list[Subscriber | None] = []
    lock = threading.Lock()

    def look() -> None:
        for _ in range(50):
            found = cached.lookup("bap.example.org", "k1")
            with lock:
                results.append(found)

    threads = [threading.Thread(target=look) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 400
    assert {found.signing_public_key if found else None for found in results} == {"PUBLIC-k1"}


class FakeRegistryServer:
    """A registry on 127.0.0.1 answering `POST /lookup` with `status` and `body` (bytes), or
    stalling for `stall` seconds first; it records each request's path and JSON body."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b"[]"
        self.stall = 0.0
        self.requests: list[tuple[str, Any]] = []
        self.done = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, document: Any, status: int = 200) -> None:
        self.status, self.body = status, json.dumps(document).encode()

    def start(self) -> FakeRegistryServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.done.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.requests.append((self.path, json.loads(raw)))
                if fake.stall:
                    fake.done.wait(fake.stall)
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(fake.body)
                except OSError:
                    pass  # the client gave up

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def server() -> Iterator[FakeRegistryServer]:
    fake = FakeRegistryServer().start()
    yield fake
    fake.stop()


def test_http_registry_posts_a_lookup(server: FakeRegistryServer) -> None:
    server.answer([entry(key_id="k0"), entry(), entry(subscriber_id="other.example.org")])
    registry = HttpRegistry(server.url + "/", now=lambda: NOW)
    found = registry.lookup("bap.example.org", "k1")
    assert found is not None
    assert found.signing_public_key == "PUBLIC-k1"
    assert server.requests == [
        ("/lookup", {"subscriber_id": "bap.example.org", "key_id": "k1", "ukId": "k1"})
    ]
    assert registry.lookup("bap.example.org", "k9") is None
    assert registry.lookup("bap.example.org", None) is None  # two usable keys: k0 and k1
    assert server.requests[-1] == ("/lookup", {"subscriber_id": "bap.example.org"})


def test_http_registry_behind_the_cache(server: FakeRegistryServer, clock: Clock) -> None:
    server.answer([entry()])
    cached = CachedRegistry(HttpRegistry(server.url), 300, clock.now, clock.monotonic)
    for _ in range(3):
        assert cached.lookup("bap.example.org", "k1") is not None
    assert len(server.requests) == 1
    clock.seconds += 300
    assert cached.lookup("bap.example.org", "k1") is not None
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, b"[]", "answered HTTP 500"),
        (404, b"[]", "answered HTTP 404"),
        (200, b"<html>busy</html>", "answered something that is not JSON"),
        (200, b'{"subscribers": []}', "expected a JSON array of Subscription objects"),
        (200, b'[{"subscriber_id": "bap.example.org"}]', "entry 0: key_id or unique_key_id"),
    ],
)
def test_http_registry_failures(
    status: int, body: bytes, message: str, server: FakeRegistryServer
) -> None:
    server.status, server.body = status, body
    with pytest.raises(RegistryError) as caught:
        HttpRegistry(server.url).lookup("bap.example.org", "k1")
    assert str(caught.value).startswith(f"registry {server.url}/lookup")
    assert message in str(caught.value)


def test_http_registry_that_does_not_answer_in_time(server: FakeRegistryServer) -> None:
    server.stall = 5.0
    with pytest.raises(RegistryError, match="cannot be reached: ReadTimeout"):
        HttpRegistry(server.url, timeout=0.2).lookup("bap.example.org", "k1")


def test_http_registry_that_is_not_there() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RegistryError, match="cannot be reached: ConnectError"):
        HttpRegistry(f"http://127.0.0.1:{port}", timeout=1.0).lookup("bap.example.org", "k1")


def settings_with(tmp_path: Path, **beckn: Any) -> Settings:
    return Settings(data_dir=tmp_path, base_url="https://bpp.example.com", **beckn)


def test_registry_from_settings(registry_file: Path, tmp_path: Path) -> None:
    made = registry_from(settings_with(tmp_path, beckn_registry_file=registry_file))
    assert isinstance(made, CachedRegistry)
    assert isinstance(made.inner, FileRegistry)
    assert made.seconds == 300
    uncached = registry_from(
        settings_with(tmp_path, beckn_registry_file=registry_file, beckn_registry_cache_seconds=0)
    )
    assert isinstance(uncached, FileRegistry)
    over_http = registry_from(
        settings_with(tmp_path, beckn_registry_url="https://registry.example.net/")
    )
    assert isinstance(over_http, CachedRegistry)
    assert isinstance(over_http.inner, HttpRegistry)
    assert over_http.inner.lookup_url == "https://registry.example.net/lookup"


def test_registry_from_settings_needs_exactly_one_source(
    registry_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(RegistryError, match="set exactly one of GRIDSHARE_BECKN_REGISTRY_URL"):
        registry_from(settings_with(tmp_path))
    with pytest.raises(RegistryError, match="set exactly one"):
        registry_from(
            settings_with(
                tmp_path,
                beckn_registry_file=registry_file,
                beckn_registry_url="https://registry.example.net",
            )
        )
