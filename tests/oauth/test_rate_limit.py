"""Rate limiting (CDS-WG1-02 §11.3): token buckets per key, and 429 with Retry-After at the
token endpoint per remote address and per client."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from gridshare import urls
from gridshare.config import Settings
from gridshare.oauth.rate_limit import RateLimiter
from tests.oauth.token_setup import ADMIN, world


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_lets_limit_requests_through_then_refills_evenly() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 60.0, clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    assert limiter.hit("a") == 20.0  # one request refills every 20 s
    assert limiter.hit("b") is None  # keys are separate
    clock.now += 20.0
    assert limiter.hit("a") is None
    assert limiter.hit("a") == 20.0
    clock.now += 600.0  # a long pause refills to the limit, no further
    assert [limiter.hit("a") for _ in range(4)][-1] is not None


def test_refused_requests_do_not_deepen_the_debt() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 10.0, clock=clock)
    assert limiter.hit("a") is None
    for _ in range(5):
        assert limiter.hit("a") == 10.0
    clock.now += 10.0
    assert limiter.hit("a") is None


def test_the_least_recently_used_keys_are_forgotten_beyond_max_keys() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 60.0, clock=clock, max_keys=2)
    limiter.hit("a")
    limiter.hit("b")
    limiter.hit("c")  # forgets "a"
    assert limiter.hit("a") is None
    assert limiter.hit("c") is not None


@pytest.mark.req("WG1-02-11.3-b")
def test_the_token_endpoint_limits_each_remote_address(settings: Settings, engine: Engine) -> None:
    w = world(settings.model_copy(update={"rate_limit_per_address": 3}), engine)
    wrong = type(w.reg.admin)(w.reg.admin.client_id, "guess")
    for _ in range(3):  # failed authentication counts too
        answer = w.token(wrong, grant_type="client_credentials", scope=ADMIN)
        assert answer.status_code == 401
    answer = w.token(w.reg.admin, grant_type="client_credentials", scope=ADMIN)
    assert answer.status_code == 429
    assert answer.json()["error"] == "too_many_requests"
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.headers["cache-control"] == "no-store"
    # the other OAuth endpoints count separately
    assert (
        w.http.post(urls.REVOKE, data={"token": "x"}, headers=w.reg.admin.basic).status_code == 200
    )


@pytest.mark.req("WG1-02-11.3-b")
def test_the_token_endpoint_limits_each_client(settings: Settings, engine: Engine) -> None:
    w = world(settings.model_copy(update={"rate_limit_per_client": 2}), engine)
    for _ in range(2):
        assert w.token(w.reg.admin, grant_type="client_credentials").status_code == 200
    answer = w.token(w.reg.admin, grant_type="client_credentials")
    assert answer.status_code == 429
    assert "client" in answer.json()["error_description"]
    assert w.token(w.reg.grant_admin, grant_type="client_credentials").status_code == 400
