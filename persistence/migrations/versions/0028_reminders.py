"""reminders: dunning letters to demand partners, one per invoice and ladder level; overdue lookups by partner

``reminders`` are numbered in their own series (``invoice_series``, series REM, checked gap-free by the ledger
check) and keep the document issued;
``reminder_items`` list the overdue invoices on each, unique per (invoice, level) so that a reminder run
repeated on the same day, or on later days, never reminds an invoice of the same step twice. Both are
immutable once written. ``invoices (recipient, due_date)`` and ``invoices (corrects_key)`` serve the overdue check every
authorisation makes.

Written on a branch where 0025 was the head: the merge re-chains it.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.immutable_rows import forbid_changes

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_index(op.f("ix_invoices_recipient_due_date"), "invoices", ["recipient", "due_date"])
    op.create_index(op.f("ix_invoices_corrects_key"), "invoices", ["corrects_key"])
    op.create_table(
        "reminders",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("demand_partner_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("open_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_reminders")),
        sa.UniqueConstraint("sequence", name=op.f("uq_reminders_sequence")),
        sa.UniqueConstraint("number", name=op.f("uq_reminders_number")),
        sa.ForeignKeyConstraint(
            ["demand_partner_id"], ["demand_partners.id"], name=op.f("fk_reminders_demand_partner_id_demand_partners")
        ),
    )
    op.create_index(op.f("ix_reminders_demand_partner_id_key"), "reminders", ["demand_partner_id", "key"])
    op.create_table(
        "reminder_items",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("reminder_key", KEY, nullable=False),
        sa.Column("invoice_key", KEY, nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("open_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_reminder_items")),
        sa.UniqueConstraint("invoice_key", "level", name=op.f("uq_reminder_items_invoice_key_level")),
        sa.ForeignKeyConstraint(
            ["reminder_key"], ["reminders.key"], name=op.f("fk_reminder_items_reminder_key_reminders")
        ),
        sa.ForeignKeyConstraint(["invoice_key"], ["invoices.key"], name=op.f("fk_reminder_items_invoice_key_invoices")),
    )
    op.create_index(op.f("ix_reminder_items_reminder_key"), "reminder_items", ["reminder_key"])
    forbid_changes(("reminders", "reminder_items"))


def downgrade() -> None:
    op.drop_table("reminder_items")
    op.drop_table("reminders")
    op.drop_index(op.f("ix_invoices_corrects_key"), table_name="invoices")
    op.drop_index(op.f("ix_invoices_recipient_due_date"), table_name="invoices")
