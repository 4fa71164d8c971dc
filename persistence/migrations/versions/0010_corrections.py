"""corrections: settlement generations, credit CDRs, disputes and the operators who decide them

A settled session can be settled again: a credit CDR reverses its settlement (generation g), a re-issued
CDR or a dispute decision settles generation g + 1. Clearings, conversions and invoice lines therefore
carry their generation; payout items name the entry that queued them, so a reversal can queue the
negative of what the settlement queued.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.immutable_rows import allow_changes, forbid_changes

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _generation() -> sa.Column[int]:
    return sa.Column("generation", sa.Integer(), nullable=False, server_default="0")


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.add_column(sa.Column("settlement_generation", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("credited", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("cdrs") as batch_op:
        batch_op.add_column(sa.Column("credit_reference_key", KEY, nullable=True))
    # SQLite rebuilds a table to change its unique constraints, and a rebuilt table loses its triggers.
    allow_changes(("fx_conversions",))
    for table in ("clearings", "fx_conversions"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(_generation())
            batch_op.drop_constraint(f"uq_{table}_session_id", type_="unique")
            batch_op.create_unique_constraint(f"uq_{table}_session_id_generation", ["session_id", "generation"])
    forbid_changes(("fx_conversions",))
    with op.batch_alter_table("invoice_lines") as batch_op:
        batch_op.add_column(_generation())
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.add_column(sa.Column("correction_key", sa.String(length=200), nullable=True))
    op.create_index("uq_invoices_correction_key", "invoices", ["correction_key"], unique=True)
    with op.batch_alter_table("payout_items") as batch_op:
        batch_op.add_column(sa.Column("entry_key", sa.String(length=200), nullable=True))
    op.execute(
        sa.text("UPDATE payout_items SET entry_key = :prefix || session_id || :suffix").bindparams(
            prefix="session-", suffix=":settlement"
        )
    )
    with op.batch_alter_table("payout_items") as batch_op:
        batch_op.alter_column("entry_key", existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_constraint("uq_payout_items_session_id_payee", type_="unique")
        batch_op.create_unique_constraint("uq_payout_items_entry_key_payee", ["entry_key", "payee"])
    op.create_table(
        "operator_keys",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_operator_keys")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_operator_keys_key_sha256")),
    )
    op.create_table(
        "disputes",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("official_excl_vat", sa.Numeric(18, 4), nullable=False),
        sa.Column("claimed_excl_vat", sa.Numeric(18, 4), nullable=False),
        sa.Column("agreed_excl_vat", sa.Numeric(18, 4), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_disputes")),
        sa.UniqueConstraint("session_id", "generation", name=op.f("uq_disputes_session_id_generation")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_disputes_session_id_sessions")),
        sa.CheckConstraint("decision IN ('ACCEPT', 'REJECT', 'ADJUST')", name=op.f("ck_disputes_decision")),
    )
    op.create_table(
        "settlement_corrections",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("reverses_generation", sa.Integer(), nullable=True),
        sa.Column("settles_generation", sa.Integer(), nullable=True),
        sa.Column("cdr_key", KEY, nullable=True),
        sa.Column("dispute_key", KEY, nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settlement_corrections")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_settlement_corrections_workflow_id")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_settlement_corrections_session_id_sessions")
        ),
        sa.CheckConstraint("state IN ('PENDING', 'STOPPED', 'DONE')", name=op.f("ck_settlement_corrections_state")),
    )
    op.create_index(op.f("ix_settlement_corrections_session_id"), "settlement_corrections", ["session_id"])


def downgrade() -> None:
    op.drop_table("settlement_corrections")
    op.drop_table("disputes")
    op.drop_table("operator_keys")
    with op.batch_alter_table("payout_items") as batch_op:
        batch_op.drop_constraint("uq_payout_items_entry_key_payee", type_="unique")
        batch_op.create_unique_constraint("uq_payout_items_session_id_payee", ["session_id", "payee"])
        batch_op.drop_column("entry_key")
    op.drop_index("uq_invoices_correction_key", table_name="invoices")
    allow_changes(("invoice_lines", "invoices", "fx_conversions"))
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.drop_column("correction_key")
    with op.batch_alter_table("invoice_lines") as batch_op:
        batch_op.drop_column("generation")
    for table in ("clearings", "fx_conversions"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_session_id_generation", type_="unique")
            batch_op.create_unique_constraint(f"uq_{table}_session_id", ["session_id"])
            batch_op.drop_column("generation")
    forbid_changes(("invoice_lines", "fx_conversions"))
    forbid_changes(("invoices",), actions=("DELETE",))
    forbid_changes(("invoices",), actions=("UPDATE",), when="OLD.status = 'ISSUED'")
    with op.batch_alter_table("cdrs") as batch_op:
        batch_op.drop_column("credit_reference_key")
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.drop_column("credited")
        batch_op.drop_column("settlement_generation")
