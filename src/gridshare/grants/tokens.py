"""Access and refresh tokens: issued, looked up by hash, revoked (RFC 6749 §1.4-1.5, RFC 7009).

A token is active while it is not revoked, not expired, its client is not disabled, the secret
that obtained it has not expired (CDS-WG1-02 §7.6), and, for grant-bound tokens, at least one of
its grants still gives access (CDS-WG1-02 §8.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gridshare.grants.secrets import digest, new_id, new_secret
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client, Credential
from gridshare.store.tables.grants import Grant, Token

NO_ACCESS_STATUSES = frozenset({"future", "disabled", "suspended", "revoked", "closed", "expired"})
"""Grant statuses that give no access at all (CDS-WG1-02 §8.2)."""


@dataclass(frozen=True)
class Issued:
    """A token as handed to the client (the raw value exists only here)."""

    value: str
    record: Token


def issue(
    session: Session,
    *,
    kind: str,
    client_id: str,
    scope: str,
    lifetime: timedelta | None,
    credential_id: str | None = None,
    grant_ids: Sequence[str] = (),
    authorization_details: list[Any] | None = None,
    family: str | None = None,
    code_hash: str | None = None,
) -> Issued:
    """Create an access or refresh token; `lifetime` None means it does not expire."""
    value = new_secret()
    now = utcnow()
    record = Token(
        token_hash=digest(value),
        kind=kind,
        client_id=client_id,
        credential_id=credential_id,
        grant_ids=list(grant_ids),
        scope=scope,
        authorization_details=authorization_details or [],
        family=family or new_id("f"),
        code_hash=code_hash,
        created=now,
        expires_at=None if lifetime is None else now + lifetime,
    )
    session.add(record)
    return Issued(value, record)


def find(session: Session, value: str, kind: str | None = None) -> Token | None:
    """The token with this raw value if it is active now, else None."""
    token = session.get(Token, digest(value))
    if token is None or (kind is not None and token.kind != kind):
        return None
    return token if is_active(session, token) else None


def is_active(session: Session, token: Token, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return False
    client = session.get(Client, token.client_id)
    if client is None or client.status == "disabled":
        return False
    if token.credential_id is not None:
        credential = session.get(Credential, token.credential_id)
        if credential is None or (
            credential.expires_at is not None and credential.expires_at <= now
        ):
            return False
    if token.grant_ids:
        grants = session.scalars(select(Grant).where(Grant.grant_id.in_(token.grant_ids))).all()
        if not any(grant_gives_access(g, now) for g in grants):
            return False
    return True


def grant_gives_access(grant: Grant, now: datetime | None = None) -> bool:
    """Whether the grant currently gives any access (status and validity window)."""
    now = now or utcnow()
    if grant.status in NO_ACCESS_STATUSES or not grant.enabled_scope:
        return False
    if grant.not_before is not None and now < grant.not_before:
        return False
    return not (grant.not_after is not None and now >= grant.not_after)


def revoke(session: Session, token: Token) -> None:
    """Revoke one token, and with a refresh token every token of its family (RFC 7009 §2.1)."""
    now = utcnow()
    if token.kind == "refresh":
        revoke_where(session, Token.family == token.family, now)
    elif token.revoked_at is None:
        token.revoked_at = now


def revoke_where(session: Session, condition: Any, now: datetime | None = None) -> int:
    """Revoke every live token matching `condition`; returns how many."""
    result = session.execute(
        update(Token)
        .where(condition, Token.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
