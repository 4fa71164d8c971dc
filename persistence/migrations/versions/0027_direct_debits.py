"""direct debits: SEPA mandates, collections and the pain.008 files that carry them

``sdd_mandates`` keeps each demand partner's mandates (UMR unique, signature date, CORE|B2B, the debtor's
IBAN/BIC, ACTIVE|REVOKED|LAPSED|BLOCKED and why, the last collection date for the 36-month lapse).
``sdd_collections`` has one row per invoice and attempt (unique: an invoice is collected once, and a
re-presentation is attempt 2) with its EndToEndId, the file and PmtInf it went in, and its state.
``sdd_files`` keeps each pain.008 as validated, by its MsgId, and what the rail and its pain.002 said.
``bank_matches`` may now record COLLECTION and COLLECTION_RETURN outcomes (its ``outcome`` widened to 20).

Written on a branch where 0025 was the head: the merge re-chains it.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
OUTCOMES_BEFORE = "outcome IN ('PAYOUT', 'PAYOUT_RETURN', 'PARTNER', 'SUSPENSE', 'ASSIGNED')"
OUTCOMES = (
    "outcome IN ('PAYOUT', 'PAYOUT_RETURN', 'PARTNER', 'SUSPENSE', 'ASSIGNED', 'COLLECTION', 'COLLECTION_RETURN')"
)


def _outcomes(check: str, width: int) -> None:
    with op.batch_alter_table("bank_matches", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_bank_matches_outcome"), type_="check")
        batch.alter_column("outcome", type_=sa.String(length=width), existing_nullable=False)
        batch.create_check_constraint(op.f("ck_bank_matches_outcome"), check)


def upgrade() -> None:
    op.create_table(
        "sdd_mandates",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("mandate_id", sa.String(length=35), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("scheme", sa.String(length=4), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("recurring", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("last_collection_on", sa.Date(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("changed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sdd_mandates")),
        sa.UniqueConstraint("mandate_id", name=op.f("uq_sdd_mandates_mandate_id")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["demand_partners.id"], name=op.f("fk_sdd_mandates_partner_id_demand_partners")
        ),
        sa.CheckConstraint("scheme IN ('CORE', 'B2B')", name=op.f("ck_sdd_mandates_scheme")),
        sa.CheckConstraint("status IN ('ACTIVE', 'REVOKED', 'LAPSED', 'BLOCKED')", name=op.f("ck_sdd_mandates_status")),
    )
    op.create_index(op.f("ix_sdd_mandates_partner_id_status"), "sdd_mandates", ["partner_id", "status"])
    op.create_table(
        "sdd_files",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("rail", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("status_code", sa.String(length=4), nullable=True),
        sa.Column("status_report", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sdd_files")),
        sa.UniqueConstraint("message_id", name=op.f("uq_sdd_files_message_id")),
        sa.CheckConstraint("state IN ('BUILT', 'SENT')", name=op.f("ck_sdd_files_state")),
    )
    op.create_table(
        "sdd_collections",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("invoice_key", KEY, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("mandate_key", KEY, nullable=False),
        sa.Column("file_key", KEY, nullable=True),
        sa.Column("payment_information_id", sa.String(length=35), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=True),
        sa.Column("sequence_type", sa.String(length=4), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason_code", sa.String(length=4), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("bank_entry_key", KEY, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("changed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sdd_collections")),
        sa.UniqueConstraint("invoice_key", "attempt", name=op.f("uq_sdd_collections_invoice_key_attempt")),
        sa.UniqueConstraint("end_to_end_id", name=op.f("uq_sdd_collections_end_to_end_id")),
        sa.ForeignKeyConstraint(
            ["invoice_key"], ["invoices.key"], name=op.f("fk_sdd_collections_invoice_key_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["mandate_key"], ["sdd_mandates.key"], name=op.f("fk_sdd_collections_mandate_key_sdd_mandates")
        ),
        sa.ForeignKeyConstraint(["file_key"], ["sdd_files.key"], name=op.f("fk_sdd_collections_file_key_sdd_files")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_sdd_collections_positive")),
        sa.CheckConstraint(
            "state IN ('PENDING', 'SUBMITTED', 'SETTLED', 'CREDITED', 'REJECTED', 'RETURNED')",
            name=op.f("ck_sdd_collections_state"),
        ),
    )
    op.create_index(op.f("ix_sdd_collections_state_due_on"), "sdd_collections", ["state", "due_on"])
    op.create_index(op.f("ix_sdd_collections_partner_id"), "sdd_collections", ["partner_id"])
    op.create_index(op.f("ix_sdd_collections_payment_information_id"), "sdd_collections", ["payment_information_id"])
    _outcomes(OUTCOMES, 20)


def downgrade() -> None:
    _outcomes(OUTCOMES_BEFORE, 16)
    op.drop_table("sdd_collections")
    op.drop_table("sdd_files")
    op.drop_table("sdd_mandates")
