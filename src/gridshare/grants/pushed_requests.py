"""RFC 9126 Pushed Authorization Requests: storing a pushed request and taking it back once.

The `request_uri` is `urn:ietf:params:oauth:request_uri:` plus 256 random bits (§2.2); only the
SHA-256 hash of the random part is stored. A request is taken at most once, only by the client
that pushed it, and only before it expires (§4: one-time use, short-lived). Taking is one
conditional UPDATE, so two concurrent authorization requests cannot both use it.

Parameters are kept as received, each name with the list of its values, so the authorization
endpoint validates a pushed request with exactly the code it uses for a front-channel one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from sqlalchemy import update
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants.secrets import digest, new_secret
from gridshare.store.db import utcnow
from gridshare.store.tables.grants import PushedRequest

URN_PREFIX: Final = "urn:ietf:params:oauth:request_uri:"

Parameters = dict[str, list[str]]
"""Request parameters: each name with every value it was given, in order."""


class RequestUriError(Exception):
    """A request_uri that cannot be used; `record` is the stored request when one was found."""

    def __init__(self, description: str, record: PushedRequest | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.record = record


def push(session: Session, settings: Settings, *, client_id: str, parameters: Parameters) -> str:
    """Store a validated authorization request; returns its `request_uri`."""
    value = new_secret()
    now = utcnow()
    session.add(
        PushedRequest(
            request_hash=digest(value),
            client_id=client_id,
            parameters={"pushed": parameters},
            created=now,
            expires_at=now + timedelta(seconds=settings.par_seconds),
        )
    )
    return URN_PREFIX + value


def take(session: Session, request_uri: str, *, client_id: str) -> Parameters:
    """The parameters pushed under `request_uri` by `client_id`, marking it used.

    Raises `RequestUriError` for a malformed, unknown, other client's, expired or used request_uri.
    """
    if not request_uri.startswith(URN_PREFIX):
        raise RequestUriError(f"request_uri must start with {URN_PREFIX}")
    request_hash = digest(request_uri.removeprefix(URN_PREFIX))
    now = utcnow()
    won = session.execute(
        update(PushedRequest)
        .where(
            PushedRequest.request_hash == request_hash,
            PushedRequest.client_id == client_id,
            PushedRequest.used_at.is_(None),
            PushedRequest.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    record = session.get(PushedRequest, request_hash, populate_existing=True)
    if record is None or record.client_id != client_id:
        raise RequestUriError("the request_uri is unknown")
    if won.rowcount != 1:  # type: ignore[attr-defined]
        if record.used_at is not None:
            raise RequestUriError("the request_uri has already been used", record)
        raise RequestUriError("the request_uri has expired", record)
    parameters: Parameters = record.parameters["pushed"]
    return parameters
