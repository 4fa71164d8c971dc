"""bank statements: camt.053/.054 files as received, their entries, what each matched, payments applied

``bank_statement_files`` keeps every imported file byte for byte with its sha256 (the same file twice is one
row) and its state: STORED (read, not yet booked: a re-import books it), BOOKED or REFUSED with the reason.
``bank_entries`` holds each booked entry once across files, by (IBAN, AcctSvcrRef|NtryRef, BookgDt, Amt,
CdtDbtInd). ``bank_matches`` records per transaction the rule that matched it and what it matched (a payout,
its return, a demand partner, suspense, or ops' assignment out of suspense); ``bank_allocations`` the parts
applied to invoices, so an invoice's open amount is its total less its allocations.

Written on a branch where 0023 was the head: the merge re-chains it after 0024.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bank_statement_files",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("message_id", sa.String(length=35), nullable=True),
        sa.Column("report_id", sa.String(length=35), nullable=True),
        sa.Column("sequence_number", sa.BigInteger(), nullable=True),
        sa.Column("opening_minor", sa.BigInteger(), nullable=True),
        sa.Column("closing_minor", sa.BigInteger(), nullable=True),
        sa.Column("closing_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("booked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bank_statement_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_bank_statement_files_sha256")),
        sa.CheckConstraint("state IN ('STORED', 'BOOKED', 'REFUSED')", name=op.f("ck_bank_statement_files_state")),
    )
    op.create_index(op.f("ix_bank_statement_files_iban_kind_state"), "bank_statement_files", ["iban", "kind", "state"])
    op.create_table(
        "bank_entries",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("file_key", KEY, nullable=False),
        sa.Column("statement_file_key", KEY, nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("account_servicer_reference", sa.String(length=35), nullable=True),
        sa.Column("entry_reference", sa.String(length=35), nullable=True),
        sa.Column("bank_transaction_code", sa.String(length=40), nullable=True),
        sa.Column("reversal", sa.Boolean(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bank_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_bank_entries_idempotency_key")),
        sa.ForeignKeyConstraint(
            ["file_key"], ["bank_statement_files.key"], name=op.f("fk_bank_entries_file_key_bank_statement_files")
        ),
        sa.ForeignKeyConstraint(
            ["statement_file_key"],
            ["bank_statement_files.key"],
            name=op.f("fk_bank_entries_statement_file_key_bank_statement_files"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_bank_entries_positive")),
        sa.CheckConstraint("direction IN ('CRDT', 'DBIT')", name=op.f("ck_bank_entries_direction")),
    )
    op.create_index(op.f("ix_bank_entries_file_key"), "bank_entries", ["file_key"])
    op.create_table(
        "bank_matches",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("entry_key", KEY, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("payout_message_id", sa.String(length=35), nullable=True),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("excess_minor", sa.BigInteger(), nullable=False),
        sa.Column("assigned_by", sa.String(length=120), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bank_matches")),
        sa.UniqueConstraint("entry_key", "line", "outcome", name=op.f("uq_bank_matches_entry_key_line_outcome")),
        sa.ForeignKeyConstraint(
            ["entry_key"], ["bank_entries.key"], name=op.f("fk_bank_matches_entry_key_bank_entries")
        ),
        sa.CheckConstraint(
            "outcome IN ('PAYOUT', 'PAYOUT_RETURN', 'PARTNER', 'SUSPENSE', 'ASSIGNED')",
            name=op.f("ck_bank_matches_outcome"),
        ),
    )
    op.create_index(op.f("ix_bank_matches_outcome_payout_message_id"), "bank_matches", ["outcome", "payout_message_id"])
    op.create_table(
        "bank_allocations",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("match_key", KEY, nullable=False),
        sa.Column("invoice_key", KEY, nullable=False),
        sa.Column("entry_key", KEY, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bank_allocations")),
        sa.UniqueConstraint("match_key", "invoice_key", name=op.f("uq_bank_allocations_match_key_invoice_key")),
        sa.ForeignKeyConstraint(
            ["match_key"], ["bank_matches.key"], name=op.f("fk_bank_allocations_match_key_bank_matches")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_key"], ["invoices.key"], name=op.f("fk_bank_allocations_invoice_key_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["entry_key"], ["bank_entries.key"], name=op.f("fk_bank_allocations_entry_key_bank_entries")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_bank_allocations_positive")),
    )
    op.create_index(op.f("ix_bank_allocations_invoice_key"), "bank_allocations", ["invoice_key"])
    op.create_index(op.f("ix_bank_allocations_entry_key"), "bank_allocations", ["entry_key"])


def downgrade() -> None:
    op.drop_table("bank_allocations")
    op.drop_table("bank_matches")
    op.drop_table("bank_entries")
    op.drop_table("bank_statement_files")
