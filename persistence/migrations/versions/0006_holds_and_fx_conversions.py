"""credit holds as two-phase transfers, stage-6 FX conversions, the partner's cap on a session

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.immutable_rows import allow_changes, forbid_changes

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
IMMUTABLE_TABLES = ("ledger_holds", "ledger_hold_resolutions", "fx_conversions")


def upgrade() -> None:
    op.create_table(
        "ledger_holds",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("account_key", KEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ledger_holds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_holds_idempotency_key")),
        sa.UniqueConstraint("session_id", name=op.f("uq_ledger_holds_session_id")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_ledger_holds_session_id_sessions")),
        sa.ForeignKeyConstraint(
            ["account_key"], ["ledger_accounts.key"], name=op.f("fk_ledger_holds_account_key_ledger_accounts")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_ledger_holds_positive")),
    )
    op.create_index(op.f("ix_ledger_holds_account_key"), "ledger_holds", ["account_key"])
    op.create_table(
        "ledger_hold_resolutions",
        sa.Column("hold_key", KEY, nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("posted_minor", sa.BigInteger(), nullable=False),
        sa.Column("entry_key", KEY, nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hold_key", name=op.f("pk_ledger_hold_resolutions")),
        sa.ForeignKeyConstraint(
            ["hold_key"], ["ledger_holds.key"], name=op.f("fk_ledger_hold_resolutions_hold_key_ledger_holds")
        ),
        sa.ForeignKeyConstraint(
            ["entry_key"], ["ledger_entries.key"], name=op.f("fk_ledger_hold_resolutions_entry_key_ledger_entries")
        ),
        sa.CheckConstraint("state IN ('POSTED', 'VOIDED', 'EXPIRED')", name=op.f("ck_ledger_hold_resolutions_state")),
        sa.CheckConstraint("posted_minor >= 0", name=op.f("ck_ledger_hold_resolutions_posted")),
    )
    op.create_table(
        "fx_conversions",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("from_currency", sa.String(length=3), nullable=False),
        sa.Column("to_currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("converted_minor", sa.BigInteger(), nullable=False),
        sa.Column("reference_rate", sa.Numeric(24, 10), nullable=True),
        sa.Column("rate_source", sa.String(length=120), nullable=True),
        sa.Column("rate_as_of", sa.Date(), nullable=True),
        sa.Column("executed_rate", sa.Numeric(24, 10), nullable=True),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_fx_conversions")),
        sa.UniqueConstraint("session_id", name=op.f("uq_fx_conversions_session_id")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_fx_conversions_session_id_sessions")),
    )
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.add_column(sa.Column("max_amount", sa.Numeric(18, 4), nullable=True))
    forbid_changes(IMMUTABLE_TABLES)


def downgrade() -> None:
    allow_changes(IMMUTABLE_TABLES)
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.drop_column("max_amount")
    op.drop_table("fx_conversions")
    op.drop_table("ledger_hold_resolutions")
    op.drop_table("ledger_holds")
