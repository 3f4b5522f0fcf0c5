"""Deterministic identifiers and customer-facing numbers for the demo utility.

An id is a hash of the seed, a kind and the record's natural key, so the same seed always gives
the same ids and adding a record never renumbers the others. Numbers (account, meter, contract
numbers) look random but come from seeded counters, so they are unique.
"""

from __future__ import annotations

import hashlib
import random


class Ids:
    """Makes ids such as `acct_3f9c0e1d2b7a66c1e4` from (seed, kind, key)."""

    def __init__(self, seed: int):
        self.seed = seed

    def __call__(self, kind: str, *key: object) -> str:
        text = "|".join((str(self.seed), kind, *(str(k) for k in key)))
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=9).hexdigest()
        return f"{kind}_{digest}"

    def salt(self, key: str) -> bytes:
        """A password salt that is the same on every build with this seed."""
        text = f"{self.seed}|salt|{key}".encode()
        return hashlib.blake2b(text, digest_size=16).digest()


class Numbers:
    """Unique, random-looking numbers per kind: a seeded counter advancing by random steps."""

    def __init__(self, seed: int):
        self._rng = random.Random(f"numbers:{seed}")
        self._next: dict[str, int] = {}

    def take(self, kind: str, start: int) -> int:
        value = self._next.get(kind, start) + self._rng.randint(1, 97)
        self._next[kind] = value
        return value

    def account(self) -> str:
        """A ten-digit account number with a Luhn check digit, as printed on the bill."""
        body = str(self.take("account", 4_100_000_000))
        return f"{body}-{luhn_digit(body)}"

    def formatted(self, kind: str, prefix: str, start: int) -> str:
        return f"{prefix}{self.take(kind, start)}"


def luhn_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10
