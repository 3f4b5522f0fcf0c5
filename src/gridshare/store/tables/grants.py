"""Grants, authorization codes, tokens and pushed authorization requests.

Grant: CDS-WG1-02 §8.1. Codes (RFC 6749 §4.1), tokens (§5) and PAR request URIs (RFC 9126) are
stored only as SHA-256 hashes of their random values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base, Id
from gridshare.store.tables.sessions import SessionColumns


class Grant(Base):
    __tablename__ = "grants"

    grant_id: Mapped[str] = mapped_column(Id, primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id"), index=True)
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id"), index=True, comment="who authorized it; null if server-created"
    )
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("grants.grant_id"))
    replacing: Mapped[list[str]] = mapped_column(default=list, comment="grant ids")
    replaced_by: Mapped[list[str]] = mapped_column(default=list, comment="grant ids")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    not_before: Mapped[datetime | None]
    not_after: Mapped[datetime | None]
    eta: Mapped[datetime | None]
    expires: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(24))
    scope: Mapped[str] = mapped_column(String(2000))
    authorization_details: Mapped[list[Any]] = mapped_column(default=list)
    receipt_confirmations: Mapped[list[str]] = mapped_column(default=list)
    enabled_scope: Mapped[str] = mapped_column(String(2000))
    enabled_authorization_details: Mapped[list[Any]] = mapped_column(default=list)
    selections: Mapped[list[Any]] = mapped_column(
        default=list,
        server_default="[]",
        comment="per Selection Component: scopes, type, ids, include_future",
    )
    espi_scope: Mapped[str | None] = mapped_column(
        String(2000), comment="the Green Button scope string authorized; null for CDS Grants"
    )


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id"), index=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.grant_id"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    redirect_uri_given: Mapped[bool] = mapped_column(comment="whether the request named it")
    code_challenge: Mapped[str] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Token(Base):
    """An access or refresh token. A refresh rotates: the old one is revoked, `family` is shared."""

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), comment="access or refresh")
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id"), index=True)
    credential_id: Mapped[str | None] = mapped_column(
        ForeignKey("credentials.credential_id"), index=True, comment="the secret that obtained it"
    )
    grant_ids: Mapped[list[str]] = mapped_column(default=list)
    scope: Mapped[str] = mapped_column(String(2000))
    authorization_details: Mapped[list[Any]] = mapped_column(default=list)
    family: Mapped[str] = mapped_column(
        String(40), index=True, comment="tokens from one code or grant"
    )
    code_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PushedRequest(Base):
    """A pushed authorization request (RFC 9126): single use, short-lived."""

    __tablename__ = "pushed_requests"

    request_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id"), index=True)
    parameters: Mapped[dict[str, Any]]
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginSession(SessionColumns, Base):
    """A customer's login session."""

    __tablename__ = "login_sessions"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    authenticated_at: Mapped[datetime] = mapped_column(default=utcnow)
