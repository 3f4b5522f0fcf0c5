"""client registration: clients, credentials, grants, tokens, messages, files

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:54:44.626586
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gridshare.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registrations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "fields",
            sa.JSON(),
            nullable=False,
            comment="registration field values by field_name (§4.1)",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
    )
    op.create_table(
        "server_files",
        sa.Column("file_id", sa.String(length=40), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("mime_type", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_server_files")),
    )
    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("registration_id", sa.String(length=40), nullable=False),
        sa.Column("issued_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.String(length=2000), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("token_endpoint_auth_method", sa.String(length=40), nullable=True),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("response_types", sa.JSON(), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=True),
        sa.Column("client_uri", sa.String(length=500), nullable=True),
        sa.Column("logo_uri", sa.String(length=500), nullable=True),
        sa.Column("tos_uri", sa.String(length=500), nullable=True),
        sa.Column("policy_uri", sa.String(length=500), nullable=True),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("authorization_details_types", sa.JSON(), nullable=False),
        sa.Column(
            "status", sa.String(length=12), nullable=False, comment="production, sandbox, disabled"
        ),
        sa.Column("status_options", sa.JSON(), nullable=False),
        sa.Column("default_scope", sa.String(length=2000), nullable=True),
        sa.Column("default_redirect_uri", sa.String(length=500), nullable=True),
        sa.Column("default_authorization_details", sa.JSON(), nullable=True),
        sa.Column(
            "extra",
            sa.JSON(),
            nullable=False,
            comment="server-specific fields, e.g. registration field values",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_clients_registration_id_registrations"),
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_clients")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clients_registration_id"), ["registration_id"], unique=False
        )

    op.create_table(
        "login_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "authenticated_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_login_sessions_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_login_sessions")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_sessions_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("registration_id", sa.String(length=40), nullable=False),
        sa.Column("previous_id", sa.String(length=40), nullable=True),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column(
            "creator", sa.String(length=40), nullable=True, comment="client_id; null = server"
        ),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("updates_requested", sa.JSON(), nullable=True),
        sa.Column("grants_requested", sa.JSON(), nullable=True),
        sa.Column("related_uri", sa.String(length=1000), nullable=True),
        sa.Column("related_type", sa.String(length=24), nullable=True),
        sa.Column("amount", gridshare.store.types.DecimalText(length=40), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["previous_id"], ["messages.message_id"], name=op.f("fk_messages_previous_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_messages_registration_id_registrations"),
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_registration_id"), ["registration_id"], unique=False
        )

    op.create_table(
        "credentials",
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.client_id"], name=op.f("fk_credentials_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_credentials_secret_hash")),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credentials_client_id"), ["client_id"], unique=False)

    op.create_table(
        "grants",
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column(
            "customer_id",
            sa.String(length=40),
            nullable=True,
            comment="who authorized it; null if server-created",
        ),
        sa.Column("parent_id", sa.String(length=40), nullable=True),
        sa.Column("replacing", sa.JSON(), nullable=False, comment="grant ids"),
        sa.Column("replaced_by", sa.JSON(), nullable=False, comment="grant ids"),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("not_before", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_after", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("eta", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("scope", sa.String(length=2000), nullable=False),
        sa.Column("authorization_details", sa.JSON(), nullable=False),
        sa.Column("receipt_confirmations", sa.JSON(), nullable=False),
        sa.Column("enabled_scope", sa.String(length=2000), nullable=False),
        sa.Column("enabled_authorization_details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.client_id"], name=op.f("fk_grants_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_grants_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["grants.grant_id"], name=op.f("fk_grants_parent_id_grants")
        ),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_grants")),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "message_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=120), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.message_id"],
            name=op.f("fk_message_attachments_message_id_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_attachments")),
    )
    with op.batch_alter_table("message_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_attachments_message_id"), ["message_id"], unique=False
        )

    op.create_table(
        "pushed_requests",
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.client_id"], name=op.f("fk_pushed_requests_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("request_hash", name=op.f("pk_pushed_requests")),
    )
    with op.batch_alter_table("pushed_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pushed_requests_client_id"), ["client_id"], unique=False
        )

    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column(
            "redirect_uri_given",
            sa.Boolean(),
            nullable=False,
            comment="whether the request named it",
        ),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_authorization_codes_client_id_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.grant_id"], name=op.f("fk_authorization_codes_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_authorization_codes")),
    )
    with op.batch_alter_table("authorization_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_authorization_codes_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_authorization_codes_grant_id"), ["grant_id"], unique=False
        )

    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False, comment="access or refresh"),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column(
            "credential_id",
            sa.String(length=40),
            nullable=True,
            comment="the secret that obtained it",
        ),
        sa.Column("grant_ids", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(length=2000), nullable=False),
        sa.Column("authorization_details", sa.JSON(), nullable=False),
        sa.Column(
            "family", sa.String(length=40), nullable=False, comment="tokens from one code or grant"
        ),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.client_id"], name=op.f("fk_tokens_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.credential_id"],
            name=op.f("fk_tokens_credential_id_credentials"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_tokens")),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tokens_code_hash"), ["code_hash"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tokens_credential_id"), ["credential_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tokens_family"), ["family"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tokens_family"))
        batch_op.drop_index(batch_op.f("ix_tokens_credential_id"))
        batch_op.drop_index(batch_op.f("ix_tokens_code_hash"))
        batch_op.drop_index(batch_op.f("ix_tokens_client_id"))

    op.drop_table("tokens")
    with op.batch_alter_table("authorization_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorization_codes_grant_id"))
        batch_op.drop_index(batch_op.f("ix_authorization_codes_client_id"))

    op.drop_table("authorization_codes")
    with op.batch_alter_table("pushed_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pushed_requests_client_id"))

    op.drop_table("pushed_requests")
    with op.batch_alter_table("message_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_attachments_message_id"))

    op.drop_table("message_attachments")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_customer_id"))
        batch_op.drop_index(batch_op.f("ix_grants_client_id"))

    op.drop_table("grants")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_client_id"))

    op.drop_table("credentials")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_registration_id"))

    op.drop_table("messages")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_customer_id"))

    op.drop_table("login_sessions")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_registration_id"))

    op.drop_table("clients")
    op.drop_table("server_files")
    op.drop_table("registrations")
