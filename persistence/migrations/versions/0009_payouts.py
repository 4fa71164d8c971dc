"""payouts: payees' bank details, the payout queue (stage 9), payout batches, the simulated bank

Sessions settled before this revision are queued from their settlement entries, so every payable
already booked reaches a payout batch.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = sa.text("state IN ('INSTRUCTED', 'SENT')")
PAYABLE_SUFFIXES = (":payable", ":revenue_share_payable")


def upgrade() -> None:
    for table in ("demand_partners", "cpos"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("iban", sa.String(length=34), nullable=True))
            batch_op.add_column(sa.Column("bic", sa.String(length=11), nullable=True))
    op.create_table(
        "payout_batches",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("payee", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("netted_minor", sa.BigInteger(), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("rail", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_code", sa.String(length=4), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status_report", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_payout_batches")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payout_batches_idempotency_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_payout_batches_message_id")),
        sa.CheckConstraint("state IN ('INSTRUCTED', 'SENT', 'PAID', 'REJECTED')", name=op.f("ck_payout_batches_state")),
        sa.CheckConstraint("amount_minor > 0 AND netted_minor >= 0", name=op.f("ck_payout_batches_amounts")),
    )
    op.create_index(op.f("ix_payout_batches_payee_created_at"), "payout_batches", ["payee", "created_at"])
    op.create_index(
        "uq_payout_batches_open",
        "payout_batches",
        ["payee", "currency"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_table(
        "payout_items",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("payee", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_key", KEY, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_payout_items")),
        sa.UniqueConstraint("session_id", "payee", name=op.f("uq_payout_items_session_id_payee")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_payout_items_session_id_sessions")),
        sa.ForeignKeyConstraint(
            ["batch_key"], ["payout_batches.key"], name=op.f("fk_payout_items_batch_key_payout_batches")
        ),
    )
    op.create_index(
        op.f("ix_payout_items_payee_currency_batch_key"), "payout_items", ["payee", "currency", "batch_key"]
    )
    op.create_table(
        "simulated_bank_transfers",
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("creditor_iban", sa.String(length=34), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.String(length=4), nullable=False),
        sa.Column("reason_code", sa.String(length=4), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_simulated_bank_transfers")),
    )
    op.create_index(op.f("ix_simulated_bank_transfers_creditor_iban"), "simulated_bank_transfers", ["creditor_iban"])
    for suffix in PAYABLE_SUFFIXES:
        # session-<id>:settlement credits each payee's payable once: that credit is the session's payable.
        op.execute(
            sa.text(
                """
                INSERT INTO payout_items (session_id, payee, currency, amount_minor, queued_at)
                SELECT substr(e.idempotency_key, 9, length(e.idempotency_key) - 19),
                       substr(a.code, 1, length(a.code) - :suffix_length), p.currency, -p.amount_minor, e.created_at
                FROM ledger_entries e
                JOIN ledger_postings p ON p.entry_key = e.key
                JOIN ledger_accounts a ON a.key = p.account_key
                WHERE e.idempotency_key LIKE :settlements AND a.code LIKE :pattern
                """
            ).bindparams(suffix_length=len(suffix), pattern=f"%{suffix}", settlements="session-%:settlement")
        )


def downgrade() -> None:
    op.drop_table("simulated_bank_transfers")
    op.drop_table("payout_items")
    op.drop_table("payout_batches")
    for table in ("demand_partners", "cpos"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("bic")
            batch_op.drop_column("iban")
