"""Registrations, Client Objects and their Credentials (CDS-WG1-02 §4, §5, §7).

One Dynamic Client Registration (RFC 7591) creates a `Registration` and several Client Objects (the
`cds_client_admin` object, grant-admin objects and per-scope groups); a `cds_client_admin` token
sees every object of its registration. Client secrets are verified against `secret_hash`; the
secret itself is kept encrypted (`secret_sealed`) only because the Credentials API must show it
(§7.1; see docs/spec-decisions.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base, Id


class Registration(Base):
    __tablename__ = "registrations"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    fields: Mapped[dict[str, Any]] = mapped_column(
        default=dict, comment="registration field values by field_name (§4.1)"
    )


class Client(Base):
    """A Client Object (§5.1)."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(Id, primary_key=True)
    registration_id: Mapped[str] = mapped_column(ForeignKey("registrations.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    scope: Mapped[str] = mapped_column(String(2000), default="")
    redirect_uris: Mapped[list[str]] = mapped_column(default=list)
    token_endpoint_auth_method: Mapped[str | None] = mapped_column(String(40))
    grant_types: Mapped[list[str]] = mapped_column(default=list)
    response_types: Mapped[list[str]] = mapped_column(default=list)
    client_name: Mapped[str | None] = mapped_column(String(200))
    client_uri: Mapped[str | None] = mapped_column(String(500))
    logo_uri: Mapped[str | None] = mapped_column(String(500))
    tos_uri: Mapped[str | None] = mapped_column(String(500))
    policy_uri: Mapped[str | None] = mapped_column(String(500))
    contacts: Mapped[list[str]] = mapped_column(default=list)
    authorization_details_types: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(12), comment="production, sandbox, disabled")
    status_options: Mapped[list[str]] = mapped_column(default=list)
    default_scope: Mapped[str | None] = mapped_column(String(2000))
    default_redirect_uri: Mapped[str | None] = mapped_column(String(500))
    default_authorization_details: Mapped[list[Any] | None]
    purposes: Mapped[dict[str, Any]] = mapped_column(
        default=dict,
        comment="the Client's own Purposes by id (CDS-WG3-01 §8): name, content, related_uri, "
        "related_name; server defaults and scopes_supported are not stored",
    )
    extra: Mapped[dict[str, Any]] = mapped_column(
        default=dict, comment="server-specific fields, e.g. registration field values"
    )


class Credential(Base):
    """A client secret (§7.1). `expires_at` null means it never expires (API value 0)."""

    __tablename__ = "credentials"

    credential_id: Mapped[str] = mapped_column(Id, primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id"), index=True)
    type: Mapped[str] = mapped_column(String(20), default="client_secret")
    secret_hash: Mapped[str] = mapped_column(String(128), unique=True)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None]
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
