"""simulated bank: its entries on our accounts and the camt.053 statements it produced (demo and tests)

``simulated_bank_entries`` is every movement the simulated bank booked on one of our accounts: a payout
(pain.001) it settled (a debit, by the payout's message id, once) or a payment a demand partner made to us
(a credit, with the payer and the reference or text it quoted), each with its booking date, its unique
AcctSvcrRef and the statement that reported it. ``simulated_bank_statements`` keeps each statement as
produced: one per account and day, numbered per account (ElctrncSeqNb), each opening at the previous one's
closing balance, so asking for the same day again gives the same file.

Written on a branch where 0025 was the head.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "simulated_bank_statements",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sequence_number", sa.BigInteger(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("opening_minor", sa.BigInteger(), nullable=False),
        sa.Column("closing_minor", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_simulated_bank_statements")),
        sa.UniqueConstraint("message_id", name=op.f("uq_simulated_bank_statements_message_id")),
        sa.UniqueConstraint("iban", "sequence_number", name=op.f("uq_simulated_bank_statements_iban_sequence_number")),
        sa.UniqueConstraint("iban", "statement_date", name=op.f("uq_simulated_bank_statements_iban_statement_date")),
    )
    op.create_table(
        "simulated_bank_entries",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("account_servicer_reference", sa.String(length=35), nullable=False),
        sa.Column("payout_message_id", sa.String(length=35), nullable=True),
        sa.Column("counterparty_name", sa.String(length=140), nullable=True),
        sa.Column("counterparty_iban", sa.String(length=34), nullable=True),
        sa.Column("reference", sa.String(length=35), nullable=True),
        sa.Column("text", sa.String(length=140), nullable=True),
        sa.Column("statement_key", KEY, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_simulated_bank_entries")),
        sa.UniqueConstraint(
            "account_servicer_reference", name=op.f("uq_simulated_bank_entries_account_servicer_reference")
        ),
        sa.UniqueConstraint("payout_message_id", name=op.f("uq_simulated_bank_entries_payout_message_id")),
        sa.ForeignKeyConstraint(
            ["statement_key"],
            ["simulated_bank_statements.key"],
            name=op.f("fk_simulated_bank_entries_statement_key_simulated_bank_statements"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_simulated_bank_entries_positive")),
        sa.CheckConstraint("direction IN ('CRDT', 'DBIT')", name=op.f("ck_simulated_bank_entries_direction")),
    )
    op.create_index(
        op.f("ix_simulated_bank_entries_iban_statement_key"), "simulated_bank_entries", ["iban", "statement_key"]
    )


def downgrade() -> None:
    op.drop_table("simulated_bank_entries")
    op.drop_table("simulated_bank_statements")
