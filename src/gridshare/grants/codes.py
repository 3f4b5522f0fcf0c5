"""Authorization codes (RFC 6749 §4.1.2, §10.5; RFC 7636 §4.4).

A code carries 256 random bits, is stored only as its SHA-256 hash, lives
`settings.authorization_code_seconds` (under 6 minutes: RFC 6749 §4.1.2 allows 10, Green Button
certification fewer than 6) and is redeemed once.
Redemption is one conditional UPDATE, so two concurrent token requests cannot both win. A second
redemption raises `CodeReused` carrying the record, so the token endpoint can revoke every token
already issued from that code (RFC 6749 §4.1.2: "SHOULD revoke ... all tokens previously issued
based on that authorization code").
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants.secrets import digest, new_secret
from gridshare.store.db import utcnow
from gridshare.store.tables.grants import AuthorizationCode


class CodeError(Exception):
    """An authorization code that cannot be redeemed (the token endpoint answers invalid_grant)."""

    description = "the authorization code is not valid"


class CodeUnknown(CodeError):
    description = "the authorization code is unknown"


class CodeExpired(CodeError):
    description = "the authorization code has expired"

    def __init__(self, code: AuthorizationCode) -> None:
        super().__init__(self.description)
        self.code = code


class CodeReused(CodeError):
    """The code was redeemed before; `code` is its record (its `code_hash` names its tokens)."""

    description = "the authorization code has already been used"

    def __init__(self, code: AuthorizationCode) -> None:
        super().__init__(self.description)
        self.code = code


def issue_code(
    session: Session,
    settings: Settings,
    *,
    client_id: str,
    grant_id: str,
    redirect_uri: str,
    redirect_uri_given: bool,
    code_challenge: str,
) -> str:
    """Store a new code for `grant_id` and return its raw value (it exists only in the redirect).

    `redirect_uri_given` records whether the authorization request named the redirect_uri, which
    decides whether the token request must repeat it (RFC 6749 §4.1.3). The code challenge is
    always S256 (CDS-WG1-02 §3.4).
    """
    value = new_secret()
    now = utcnow()
    session.add(
        AuthorizationCode(
            code_hash=digest(value),
            client_id=client_id,
            grant_id=grant_id,
            redirect_uri=redirect_uri,
            redirect_uri_given=redirect_uri_given,
            code_challenge=code_challenge,
            created=now,
            expires_at=now + timedelta(seconds=settings.authorization_code_seconds),
        )
    )
    return value


def redeem_code(session: Session, raw_code: str) -> AuthorizationCode:
    """Mark the code used and return it; raise `CodeUnknown`, `CodeExpired` or `CodeReused`.

    The caller still checks the client, redirect_uri and PKCE verifier against the record, and
    commits (a failed check after redemption leaves the code spent, as a single-use code should).
    """
    code_hash = digest(raw_code)
    now = utcnow()
    won = session.execute(
        update(AuthorizationCode)
        .where(
            AuthorizationCode.code_hash == code_hash,
            AuthorizationCode.used_at.is_(None),
            AuthorizationCode.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    code = session.get(AuthorizationCode, code_hash, populate_existing=True)
    if code is None:
        raise CodeUnknown(CodeUnknown.description)
    if won.rowcount == 1:  # type: ignore[attr-defined]
        return code
    if code.used_at is not None:
        raise CodeReused(code)
    raise CodeExpired(code)
