"""CDS-WG1-02 §11.3 Rate Limiting: small in-process token buckets, answered with 429.

Each key (a client id, a remote address) has a bucket of `limit` requests that refills evenly over
`period` seconds; a request that finds the bucket empty is refused with `429 Too Many Requests`
and a `Retry-After` header (RFC 6585 §4) saying when the next one would be let through. Buckets
live in the process (each app has its own set, on `app.state`), so N server processes allow up to
N times the limit: a guard against floods and brute force, not a quota. The least recently used
keys are forgotten beyond `max_keys`.

The token, introspection and revocation endpoints limit per remote address before they read the
request (so failed authentication counts too) and per client after authenticating it; login and
registration can use the same limiter.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from fastapi import Request

from gridshare.api.errors import OAuthError
from gridshare.config import Settings
from gridshare.http import SettingsDep

MAX_KEYS: Final = 100_000


class RateLimiter:
    """Token buckets: `limit` requests per `period` seconds for each key."""

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a rate limit needs limit >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self._rate = limit / period
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one request for `key`: None if allowed, else the seconds until one would be."""
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.pop(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - then) * self._rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return None if allowed else (1.0 - tokens) / self._rate


def too_many_requests(retry_after: float, what: str) -> OAuthError:
    seconds = max(1, math.ceil(retry_after))
    return OAuthError(
        "too_many_requests",
        f"too many requests from this {what}; try again in {seconds} s",
        429,
        {"Retry-After": str(seconds)},
    )


def check(limiter: RateLimiter, key: str, what: str) -> None:
    """Count a request for `key`, raising 429 when the limit is reached."""
    retry_after = limiter.hit(key)
    if retry_after is not None:
        raise too_many_requests(retry_after, what)


_apps_lock = threading.Lock()


def limiter_for(request: Request, name: str, limit: int) -> RateLimiter:
    """The app's limiter called `name` (created on first use with `limit` per minute)."""
    state = request.app.state
    with _apps_lock:
        limiters: dict[str, RateLimiter] | None = getattr(state, "rate_limiters", None)
        if limiters is None:
            limiters = {}
            state.rate_limiters = limiters
        limiter = limiters.get(name)
        if limiter is None:
            limiter = limiters[name] = RateLimiter(limit)
        return limiter


def remote_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def per_address(name: str) -> Callable[[Request, SettingsDep], None]:
    """A dependency counting the request against its remote address (limiter `name`)."""

    def dependency(request: Request, settings: SettingsDep) -> None:
        limiter = limiter_for(request, f"{name}/address", settings.rate_limit_per_address)
        check(limiter, remote_address(request), "address")

    return dependency


def per_client(request: Request, settings: Settings, name: str, client_id: str) -> None:
    """Count an authenticated request against its client (limiter `name`)."""
    check(
        limiter_for(request, f"{name}/client", settings.rate_limit_per_client), client_id, "client"
    )
