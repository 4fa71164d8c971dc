"""initial schema: parties, contracts, locations, tariffs, sessions, OCPI inbox, CDRs

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.immutable_rows import allow_changes, forbid_changes

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


IMMUTABLE_TABLES = ("cdrs", "ocpi_inbox")


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("party_kind", sa.String(length=16), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_contracts")),
        sa.UniqueConstraint("party_kind", "party_id", "version", name=op.f("uq_contracts_party_kind_party_id_version")),
    )
    op.create_table(
        "cpos",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_entity", sa.String(length=200), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("vat_id", sa.String(length=32), nullable=True),
        sa.Column("payout_currency", sa.String(length=3), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("inbound_token_sha256", sa.String(length=64), nullable=False),
        sa.Column("commands_url", sa.String(length=255), nullable=False),
        sa.Column("outbound_token", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cpos")),
        sa.UniqueConstraint("country_code", "party_id", name=op.f("uq_cpos_country_code_party_id")),
        sa.UniqueConstraint("inbound_token_sha256", name=op.f("uq_cpos_inbound_token_sha256")),
    )
    op.create_table(
        "demand_partners",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_entity", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("vat_id", sa.String(length=32), nullable=True),
        sa.Column("billing_currency", sa.String(length=3), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_partners")),
    )
    op.create_table(
        "api_keys",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("demand_partner_id", sa.String(length=64), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["demand_partner_id"],
            ["demand_partners.id"],
            name=op.f("fk_api_keys_demand_partner_id_demand_partners"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_api_keys_key_sha256")),
    )
    op.create_table(
        "locations",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("cpo_id", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("city", sa.String(length=45), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("latitude", sa.String(length=16), nullable=False),
        sa.Column("longitude", sa.String(length=16), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["cpo_id"], ["cpos.id"], name=op.f("fk_locations_cpo_id_cpos")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_locations")),
        sa.UniqueConstraint("cpo_id", "location_id", name=op.f("uq_locations_cpo_id_location_id")),
    )
    op.create_table(
        "ocpi_inbox",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cpo_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("our_session_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["cpo_id"], ["cpos.id"], name=op.f("fk_ocpi_inbox_cpo_id_cpos")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ocpi_inbox")),
    )
    op.create_table(
        "tariffs",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("cpo_id", sa.String(length=64), nullable=False),
        sa.Column("tariff_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_date_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["cpo_id"], ["cpos.id"], name=op.f("fk_tariffs_cpo_id_cpos")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_tariffs")),
        sa.UniqueConstraint(
            "cpo_id", "tariff_id", "last_updated", name=op.f("uq_tariffs_cpo_id_tariff_id_last_updated")
        ),
    )
    op.create_table(
        "evses",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("location_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("evse_uid", sa.String(length=36), nullable=False),
        sa.Column("evse_id", sa.String(length=48), nullable=False),
        sa.Column("connector_id", sa.String(length=36), nullable=False),
        sa.Column("connector_standard", sa.String(length=32), nullable=False),
        sa.Column("connector_format", sa.String(length=16), nullable=False),
        sa.Column("power_type", sa.String(length=16), nullable=False),
        sa.Column("max_power_kw", sa.Numeric(precision=10, scale=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tariff_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["location_key"], ["locations.key"], name=op.f("fk_evses_location_key_locations")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_evses")),
        sa.UniqueConstraint("evse_id", name=op.f("uq_evses_evse_id")),
        sa.UniqueConstraint("location_key", "evse_uid", name=op.f("uq_evses_location_key_evse_uid")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("demand_partner_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("evse_id", sa.String(length=48), nullable=False),
        sa.Column("driver_reference", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("needs_attention", sa.Boolean(), nullable=False),
        sa.Column("cpo_id", sa.String(length=64), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("location_id", sa.String(length=36), nullable=True),
        sa.Column("evse_uid", sa.String(length=36), nullable=True),
        sa.Column("tariff_version_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("demand_partner_contract_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cpo_contract_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cpo_session_id", sa.String(length=36), nullable=True),
        sa.Column("cpo_status", sa.String(length=16), nullable=True),
        sa.Column("kwh", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cdr_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cpo_contract_key"], ["contracts.key"], name=op.f("fk_sessions_cpo_contract_key_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["demand_partner_contract_key"],
            ["contracts.key"],
            name=op.f("fk_sessions_demand_partner_contract_key_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["demand_partner_id"],
            ["demand_partners.id"],
            name=op.f("fk_sessions_demand_partner_id_demand_partners"),
        ),
        sa.ForeignKeyConstraint(
            ["tariff_version_key"], ["tariffs.key"], name=op.f("fk_sessions_tariff_version_key_tariffs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint(
            "demand_partner_id", "idempotency_key", name=op.f("uq_sessions_demand_partner_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sessions_demand_partner_id_created_at_id"),
            ["demand_partner_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "cdrs",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("cdr_id", sa.String(length=39), nullable=False),
        sa.Column("our_session_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_energy_kwh", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["our_session_id"], ["sessions.id"], name=op.f("fk_cdrs_our_session_id_sessions")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cdrs")),
        sa.UniqueConstraint("country_code", "party_id", "cdr_id", name=op.f("uq_cdrs_country_code_party_id_cdr_id")),
    )
    with op.batch_alter_table("cdrs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cdrs_our_session_id"), ["our_session_id"], unique=False)

    op.create_table(
        "ocpi_sessions",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("our_session_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("forwarded_status", sa.String(length=16), nullable=True),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["our_session_id"], ["sessions.id"], name=op.f("fk_ocpi_sessions_our_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ocpi_sessions")),
        sa.UniqueConstraint(
            "country_code",
            "party_id",
            "session_id",
            name=op.f("uq_ocpi_sessions_country_code_party_id_session_id"),
        ),
    )
    forbid_changes(IMMUTABLE_TABLES)


def downgrade() -> None:
    allow_changes(IMMUTABLE_TABLES)
    op.drop_table("ocpi_sessions")
    with op.batch_alter_table("cdrs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cdrs_our_session_id"))

    op.drop_table("cdrs")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_demand_partner_id_created_at_id"))

    op.drop_table("sessions")
    op.drop_table("evses")
    op.drop_table("tariffs")
    op.drop_table("ocpi_inbox")
    op.drop_table("locations")
    op.drop_table("api_keys")
    op.drop_table("demand_partners")
    op.drop_table("cpos")
    op.drop_table("contracts")
