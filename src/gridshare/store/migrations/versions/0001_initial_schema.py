"""initial schema: the utility's records, usage blocks, coverage, outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-22 12:48:29.842687
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gridshare.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aggregations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("aggregation_number", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column(
            "details",
            sa.JSON(),
            nullable=False,
            comment="type-specific lists (countries, provinces, account_types, ...)",
        ),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregations")),
        sa.UniqueConstraint("aggregation_number", name=op.f("uq_aggregations_aggregation_number")),
    )
    op.create_table(
        "coverage_entries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entity_name", sa.String(length=200), nullable=False),
        sa.Column("entity_abbreviation", sa.String(length=40), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("type", sa.String(length=12), nullable=False, comment="geographic or logical"),
        sa.Column(
            "role",
            sa.String(length=16),
            nullable=False,
            comment="authoritative, official, aggregator",
        ),
        sa.Column("infrastructure_types", sa.JSON(), nullable=False),
        sa.Column("commodity_types", sa.JSON(), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("geojson", sa.JSON(), nullable=True, comment="GeoJSON in WGS 84"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_entries")),
    )
    with op.batch_alter_table("coverage_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coverage_entries_updated"), ["updated"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_number", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True, comment="E.164"),
        sa.Column("is_test", sa.Boolean(), nullable=False, comment="a sandbox test customer"),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("customer_number", name=op.f("uq_customers_customer_number")),
        sa.UniqueConstraint("username", name=op.f("uq_customers_username")),
    )
    op.create_table(
        "eacs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("beneficiary_type", sa.String(length=20), nullable=False),
        sa.Column("beneficiaries", sa.JSON(), nullable=False),
        sa.Column("eac_numbers", sa.JSON(), nullable=False),
        sa.Column("eac_format", sa.String(length=40), nullable=False),
        sa.Column(
            "data",
            sa.String(length=4000),
            nullable=False,
            comment="the certificate data, served at eac_data_url",
        ),
        sa.Column("period_start", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eacs")),
    )
    op.create_table(
        "entities",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("entity_number", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("abbreviation", sa.String(length=40), nullable=True),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
        sa.UniqueConstraint("entity_number", name=op.f("uq_entities_entity_number")),
    )
    op.create_table(
        "meter_devices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("meter_number", sa.String(length=40), nullable=True),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_devices")),
        sa.UniqueConstraint("meter_number", name=op.f("uq_meter_devices_meter_number")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "kind", sa.String(length=40), nullable=False, comment="which delivery handler runs it"
        ),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False, comment="pending, done, dead"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("leased_until", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=80), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "premises",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("premise_number", sa.String(length=40), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premises")),
        sa.UniqueConstraint("premise_number", name=op.f("uq_premises_premise_number")),
    )
    op.create_table(
        "programs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("program_number", sa.String(length=80), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column(
            "kinds",
            sa.JSON(),
            nullable=False,
            comment="program types such as low_income, demand_response",
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("documentation", sa.String(length=500), nullable=False),
        sa.Column("more_info", sa.String(length=500), nullable=True),
        sa.Column("signup", sa.String(length=500), nullable=True),
        sa.Column("settings", sa.String(length=500), nullable=True),
        sa.Column("discontinue", sa.String(length=500), nullable=True),
        sa.Column(
            "details",
            sa.JSON(),
            nullable=False,
            comment="type-specific facts, e.g. pnode/anode for demand response",
        ),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        sa.UniqueConstraint("program_number", name=op.f("uq_programs_program_number")),
    )
    op.create_table(
        "published_documents",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_published_documents")),
    )
    op.create_table(
        "rate_plans",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "commodity",
            sa.String(length=20),
            nullable=False,
            comment="electric, natural_gas, water",
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "tariff", sa.JSON(), nullable=False, comment="charges, rates (decimal strings), periods"
        ),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_rate_plans_code")),
    )
    op.create_table(
        "service_points",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("servicepoint_number", sa.String(length=40), nullable=True),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("postal_code", sa.String(length=12), nullable=True),
        sa.Column("latitude", gridshare.store.types.DecimalText(length=40), nullable=True),
        sa.Column("longitude", gridshare.store.types.DecimalText(length=40), nullable=True),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_points")),
        sa.UniqueConstraint(
            "servicepoint_number", name=op.f("uq_service_points_servicepoint_number")
        ),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("parent_id", sa.String(length=40), nullable=True),
        sa.Column("entity_id", sa.String(length=40), nullable=True),
        sa.Column("account_number", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.String(length=12),
            nullable=False,
            comment="active, suspended, closed, unknown",
        ),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_accounts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_accounts_entity_id_entities")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["accounts.id"], name=op.f("fk_accounts_parent_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("account_number", name=op.f("uq_accounts_account_number")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "aggregation_regions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("aggregation_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["aggregation_id"],
            ["aggregations.id"],
            name=op.f("fk_aggregation_regions_aggregation_id_aggregations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_regions")),
    )
    with op.batch_alter_table("aggregation_regions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_regions_aggregation_id"), ["aggregation_id"], unique=False
        )

    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meter_id", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.String(length=24),
            nullable=False,
            comment="electric_usage, electric_demand, natural_gas_usage, water_usage, ...",
        ),
        sa.Column("direction", sa.String(length=8), nullable=True, comment="net, forward, reverse"),
        sa.Column(
            "units",
            sa.String(length=8),
            nullable=False,
            comment="CDS unit type: kWh, kW, therm, gal, ...",
        ),
        sa.Column(
            "interval_seconds",
            sa.Integer(),
            nullable=False,
            comment="900, 3600, ...; 0 for read periods",
        ),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meter_devices.id"], name=op.f("fk_channels_meter_id_meter_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint(
            "meter_id", "kind", "direction", "interval_seconds", name=op.f("uq_channels_meter_id")
        ),
    )
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channels_meter_id"), ["meter_id"], unique=False)

    op.create_table(
        "consent_requirements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("aggregation_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("documentation", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["aggregation_id"],
            ["aggregations.id"],
            name=op.f("fk_consent_requirements_aggregation_id_aggregations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_requirements")),
    )
    with op.batch_alter_table("consent_requirements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_requirements_aggregation_id"), ["aggregation_id"], unique=False
        )

    op.create_table(
        "meter_apps",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("meter_id", sa.String(length=40), nullable=False),
        sa.Column("app_number", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("start", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end", gridshare.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meter_devices.id"], name=op.f("fk_meter_apps_meter_id_meter_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_apps")),
    )
    with op.batch_alter_table("meter_apps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meter_apps_meter_id"), ["meter_id"], unique=False)

    op.create_table(
        "meter_installations",
        sa.Column("meter_id", sa.String(length=40), nullable=False),
        sa.Column("service_point_id", sa.String(length=40), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meter_devices.id"],
            name=op.f("fk_meter_installations_meter_id_meter_devices"),
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_points.id"],
            name=op.f("fk_meter_installations_service_point_id_service_points"),
        ),
        sa.PrimaryKeyConstraint(
            "meter_id", "service_point_id", name=op.f("pk_meter_installations")
        ),
    )
    with op.batch_alter_table("meter_installations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meter_installations_service_point_id"),
            ["service_point_id"],
            unique=False,
        )

    op.create_table(
        "service_point_premises",
        sa.Column("service_point_id", sa.String(length=40), nullable=False),
        sa.Column("premise_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["premise_id"],
            ["premises.id"],
            name=op.f("fk_service_point_premises_premise_id_premises"),
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_points.id"],
            name=op.f("fk_service_point_premises_service_point_id_service_points"),
        ),
        sa.PrimaryKeyConstraint(
            "service_point_id", "premise_id", name=op.f("pk_service_point_premises")
        ),
    )
    with op.batch_alter_table("service_point_premises", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_point_premises_premise_id"), ["premise_id"], unique=False
        )

    op.create_table(
        "supply_mix",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("period_start", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "attribution",
            sa.String(length=12),
            nullable=False,
            comment="base, individual, residual",
        ),
        sa.Column(
            "supply_type",
            sa.String(length=20),
            nullable=False,
            comment="solar, wind, natural_gas, ...",
        ),
        sa.Column(
            "share", gridshare.store.types.DecimalText(length=40), nullable=False, comment="0..1"
        ),
        sa.Column(
            "carbon_intensity",
            gridshare.store.types.DecimalText(length=40),
            nullable=True,
            comment="gCO2e/kWh",
        ),
        sa.Column("eac_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_supply_mix_entity_id_entities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_mix")),
    )
    with op.batch_alter_table("supply_mix", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supply_mix_entity_id"), ["entity_id"], unique=False)

    op.create_table(
        "account_contacts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_contacts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_contacts")),
    )
    with op.batch_alter_table("account_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_contacts_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "bill_statements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "account_number",
            sa.String(length=40),
            nullable=False,
            comment="as at the statement date",
        ),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("file_uri", sa.String(length=500), nullable=True),
        sa.Column("file_mimetype", sa.String(length=80), nullable=True),
        sa.Column(
            "previous_balance_amount", gridshare.store.types.DecimalText(length=40), nullable=True
        ),
        sa.Column(
            "previous_balance_paid", gridshare.store.types.DecimalText(length=40), nullable=True
        ),
        sa.Column(
            "previous_balance_unpaid", gridshare.store.types.DecimalText(length=40), nullable=True
        ),
        sa.Column(
            "new_charges_amount", gridshare.store.types.DecimalText(length=40), nullable=True
        ),
        sa.Column(
            "new_balance_amount", gridshare.store.types.DecimalText(length=40), nullable=True
        ),
        sa.Column("amount_due", gridshare.store.types.DecimalText(length=40), nullable=False),
        sa.Column("amount_due_date", sa.Date(), nullable=False),
        sa.Column(
            "shutoff_prevention_minimum_due",
            gridshare.store.types.DecimalText(length=40),
            nullable=True,
        ),
        sa.Column("shutoff_prevention_date", sa.Date(), nullable=True),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bill_statements_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_statements")),
    )
    with op.batch_alter_table("bill_statements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bill_statements_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "service_contracts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("contract_number", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.String(length=12),
            nullable=False,
            comment="active, paused, stopped, closed, unknown",
        ),
        sa.Column("start", sa.Date(), nullable=True),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("service_types", sa.JSON(), nullable=False),
        sa.Column("rate_plan_id", sa.String(length=40), nullable=True),
        sa.Column("distribution_entity_id", sa.String(length=40), nullable=True),
        sa.Column("supply_entity_id", sa.String(length=40), nullable=True),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_service_contracts_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["distribution_entity_id"],
            ["entities.id"],
            name=op.f("fk_service_contracts_distribution_entity_id_entities"),
        ),
        sa.ForeignKeyConstraint(
            ["rate_plan_id"],
            ["rate_plans.id"],
            name=op.f("fk_service_contracts_rate_plan_id_rate_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["supply_entity_id"],
            ["entities.id"],
            name=op.f("fk_service_contracts_supply_entity_id_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_contracts")),
        sa.UniqueConstraint("contract_number", name=op.f("uq_service_contracts_contract_number")),
    )
    with op.batch_alter_table("service_contracts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_contracts_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "usage_blocks",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column(
            "start",
            gridshare.store.types.UTCDateTime(timezone=True),
            nullable=False,
            comment="UTC start of the first value",
        ),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("count", sa.SmallInteger(), nullable=False),
        sa.Column("values", sa.LargeBinary(), nullable=False, comment="packed by utility.codec"),
        sa.Column(
            "quality",
            sa.LargeBinary(),
            nullable=True,
            comment="one code per value; null when every value has the codec's default",
        ),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_usage_blocks_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("channel_id", "start", name=op.f("pk_usage_blocks")),
    )
    op.create_table(
        "aggregation_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("aggregation_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("contract_id", sa.String(length=40), nullable=True),
        sa.Column("service_point_id", sa.String(length=40), nullable=True),
        sa.Column("meter_id", sa.String(length=40), nullable=True),
        sa.Column("member_aggregation_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_aggregation_members_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["aggregation_id"],
            ["aggregations.id"],
            name=op.f("fk_aggregation_members_aggregation_id_aggregations"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["service_contracts.id"],
            name=op.f("fk_aggregation_members_contract_id_service_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["member_aggregation_id"],
            ["aggregations.id"],
            name=op.f("fk_aggregation_members_member_aggregation_id_aggregations"),
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meter_devices.id"],
            name=op.f("fk_aggregation_members_meter_id_meter_devices"),
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_points.id"],
            name=op.f("fk_aggregation_members_service_point_id_service_points"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_members")),
    )
    with op.batch_alter_table("aggregation_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_members_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aggregation_members_aggregation_id"), ["aggregation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aggregation_members_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aggregation_members_meter_id"), ["meter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aggregation_members_service_point_id"),
            ["service_point_id"],
            unique=False,
        )

    op.create_table(
        "bill_new_charges",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("statement_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("amount", gridshare.store.types.DecimalText(length=40), nullable=False),
        sa.Column("included_in_amount_due", sa.Boolean(), nullable=False),
        sa.Column("related_section_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["bill_statements.id"],
            name=op.f("fk_bill_new_charges_statement_id_bill_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_new_charges")),
    )
    with op.batch_alter_table("bill_new_charges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bill_new_charges_statement_id"), ["statement_id"], unique=False
        )

    op.create_table(
        "bill_sections",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("statement_id", sa.String(length=40), nullable=True),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("account_number", sa.String(length=40), nullable=False),
        sa.Column("contract_id", sa.String(length=40), nullable=True),
        sa.Column("section_types", sa.JSON(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("distribution_entity_id", sa.String(length=40), nullable=True),
        sa.Column("supply_entity_id", sa.String(length=40), nullable=True),
        sa.Column("related_section_ids", sa.JSON(), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bill_sections_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["service_contracts.id"],
            name=op.f("fk_bill_sections_contract_id_service_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["distribution_entity_id"],
            ["entities.id"],
            name=op.f("fk_bill_sections_distribution_entity_id_entities"),
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["bill_statements.id"],
            name=op.f("fk_bill_sections_statement_id_bill_statements"),
        ),
        sa.ForeignKeyConstraint(
            ["supply_entity_id"],
            ["entities.id"],
            name=op.f("fk_bill_sections_supply_entity_id_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_sections")),
    )
    with op.batch_alter_table("bill_sections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bill_sections_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bill_sections_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bill_sections_statement_id"), ["statement_id"], unique=False
        )

    op.create_table(
        "participations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("program_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("contract_id", sa.String(length=40), nullable=True),
        sa.Column(
            "status",
            sa.String(length=12),
            nullable=False,
            comment="active, inactive, eligible, ineligible",
        ),
        sa.Column("participation_number", sa.String(length=80), nullable=True),
        sa.Column("start", sa.Date(), nullable=True),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("balance", gridshare.store.types.DecimalText(length=40), nullable=True),
        sa.Column("balance_units", sa.String(length=10), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_participations_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["service_contracts.id"],
            name=op.f("fk_participations_contract_id_service_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_participations_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participations")),
    )
    with op.batch_alter_table("participations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participations_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_participations_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_participations_program_id"), ["program_id"], unique=False
        )

    op.create_table(
        "service_point_contracts",
        sa.Column("service_point_id", sa.String(length=40), nullable=False),
        sa.Column("contract_id", sa.String(length=40), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["service_contracts.id"],
            name=op.f("fk_service_point_contracts_contract_id_service_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_points.id"],
            name=op.f("fk_service_point_contracts_service_point_id_service_points"),
        ),
        sa.PrimaryKeyConstraint(
            "service_point_id", "contract_id", name=op.f("pk_service_point_contracts")
        ),
    )
    with op.batch_alter_table("service_point_contracts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_point_contracts_contract_id"), ["contract_id"], unique=False
        )

    op.create_table(
        "bill_cost_details",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("section_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("cost", gridshare.store.types.DecimalText(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["bill_sections.id"],
            name=op.f("fk_bill_cost_details_section_id_bill_sections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_cost_details")),
    )
    with op.batch_alter_table("bill_cost_details", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bill_cost_details_section_id"), ["section_id"], unique=False
        )

    op.create_table(
        "bill_line_items",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("section_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("cost", gridshare.store.types.DecimalText(length=40), nullable=False),
        sa.Column("value", gridshare.store.types.DecimalText(length=40), nullable=True),
        sa.Column("units", sa.String(length=8), nullable=True),
        sa.Column("rate", gridshare.store.types.DecimalText(length=40), nullable=True),
        sa.Column("related_usage_detail_ids", sa.JSON(), nullable=False),
        sa.Column("related_cost_detail_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["bill_sections.id"],
            name=op.f("fk_bill_line_items_section_id_bill_sections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_line_items")),
    )
    with op.batch_alter_table("bill_line_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bill_line_items_section_id"), ["section_id"], unique=False
        )

    op.create_table(
        "bill_usage_details",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("section_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("value", gridshare.store.types.DecimalText(length=40), nullable=False),
        sa.Column("units", sa.String(length=8), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "details",
            sa.JSON(),
            nullable=False,
            comment="type-specific fields (tou, tier, season, direction, reads; §10.6.4)",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["bill_sections.id"],
            name=op.f("fk_bill_usage_details_section_id_bill_sections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_usage_details")),
    )
    with op.batch_alter_table("bill_usage_details", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bill_usage_details_section_id"), ["section_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bill_usage_details", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_usage_details_section_id"))

    op.drop_table("bill_usage_details")
    with op.batch_alter_table("bill_line_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_line_items_section_id"))

    op.drop_table("bill_line_items")
    with op.batch_alter_table("bill_cost_details", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_cost_details_section_id"))

    op.drop_table("bill_cost_details")
    with op.batch_alter_table("service_point_contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_point_contracts_contract_id"))

    op.drop_table("service_point_contracts")
    with op.batch_alter_table("participations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participations_program_id"))
        batch_op.drop_index(batch_op.f("ix_participations_contract_id"))
        batch_op.drop_index(batch_op.f("ix_participations_account_id"))

    op.drop_table("participations")
    with op.batch_alter_table("bill_sections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_sections_statement_id"))
        batch_op.drop_index(batch_op.f("ix_bill_sections_contract_id"))
        batch_op.drop_index(batch_op.f("ix_bill_sections_account_id"))

    op.drop_table("bill_sections")
    with op.batch_alter_table("bill_new_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_new_charges_statement_id"))

    op.drop_table("bill_new_charges")
    with op.batch_alter_table("aggregation_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_members_service_point_id"))
        batch_op.drop_index(batch_op.f("ix_aggregation_members_meter_id"))
        batch_op.drop_index(batch_op.f("ix_aggregation_members_contract_id"))
        batch_op.drop_index(batch_op.f("ix_aggregation_members_aggregation_id"))
        batch_op.drop_index(batch_op.f("ix_aggregation_members_account_id"))

    op.drop_table("aggregation_members")
    op.drop_table("usage_blocks")
    with op.batch_alter_table("service_contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_contracts_account_id"))

    op.drop_table("service_contracts")
    with op.batch_alter_table("bill_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_statements_account_id"))

    op.drop_table("bill_statements")
    with op.batch_alter_table("account_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_contacts_account_id"))

    op.drop_table("account_contacts")
    with op.batch_alter_table("supply_mix", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_mix_entity_id"))

    op.drop_table("supply_mix")
    with op.batch_alter_table("service_point_premises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_point_premises_premise_id"))

    op.drop_table("service_point_premises")
    with op.batch_alter_table("meter_installations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_installations_service_point_id"))

    op.drop_table("meter_installations")
    with op.batch_alter_table("meter_apps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_apps_meter_id"))

    op.drop_table("meter_apps")
    with op.batch_alter_table("consent_requirements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_requirements_aggregation_id"))

    op.drop_table("consent_requirements")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channels_meter_id"))

    op.drop_table("channels")
    with op.batch_alter_table("aggregation_regions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_regions_aggregation_id"))

    op.drop_table("aggregation_regions")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_parent_id"))
        batch_op.drop_index(batch_op.f("ix_accounts_customer_id"))

    op.drop_table("accounts")
    op.drop_table("service_points")
    op.drop_table("rate_plans")
    op.drop_table("published_documents")
    op.drop_table("programs")
    op.drop_table("premises")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    op.drop_table("meter_devices")
    op.drop_table("entities")
    op.drop_table("eacs")
    op.drop_table("customers")
    with op.batch_alter_table("coverage_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_entries_updated"))

    op.drop_table("coverage_entries")
    op.drop_table("aggregations")
