"""invoices with gap-free numbers per issuer and series, their lines, party addresses

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.immutable_rows import allow_changes, forbid_changes

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    for table in ("demand_partners", "cpos"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("address", sa.String(length=300), nullable=True))
    op.create_table(
        "invoice_series",
        sa.Column("issuer", sa.String(length=80), nullable=False),
        sa.Column("series", sa.String(length=40), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "series", name=op.f("pk_invoice_series")),
    )
    op.create_table(
        "invoices",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("issuer", sa.String(length=80), nullable=False),
        sa.Column("series", sa.String(length=40), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("number", sa.String(length=60), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("corrects_key", KEY, nullable=True),
        sa.Column("net_minor", sa.BigInteger(), nullable=True),
        sa.Column("vat_minor", sa.BigInteger(), nullable=True),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint("issuer", "series", "sequence", name=op.f("uq_invoices_issuer_series_sequence")),
        sa.UniqueConstraint("issuer", "session_id", name=op.f("uq_invoices_issuer_session_id")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_invoices_session_id_sessions")),
        sa.ForeignKeyConstraint(["corrects_key"], ["invoices.key"], name=op.f("fk_invoices_corrects_key_invoices")),
        sa.CheckConstraint("status IN ('DRAFT', 'ISSUED')", name=op.f("ck_invoices_status")),
        sa.CheckConstraint("kind IN ('INVOICE', 'CREDIT_NOTE')", name=op.f("ck_invoices_kind")),
        # Drafts have no number; an issued invoice has its number, totals and document.
        sa.CheckConstraint(
            "(status = 'DRAFT' AND number IS NULL AND sequence IS NULL) OR "
            "(status = 'ISSUED' AND number IS NOT NULL AND sequence IS NOT NULL AND document IS NOT NULL)",
            name=op.f("ck_invoices_numbered_when_issued"),
        ),
    )
    op.create_index(op.f("ix_invoices_recipient_issued_at"), "invoices", ["recipient", "issued_at"])
    # At most one open draft statement per recipient, currency and month.
    op.create_index(
        "uq_invoices_open_draft",
        "invoices",
        ["issuer", "recipient", "currency", "period"],
        unique=True,
        sqlite_where=sa.text("status = 'DRAFT'"),
        postgresql_where=sa.text("status = 'DRAFT'"),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("invoice_key", KEY, nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("place_of_supply", sa.String(length=2), nullable=False),
        sa.Column("national_currency", sa.String(length=3), nullable=False),
        sa.Column("national_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint("invoice_key", "session_id", name=op.f("uq_invoice_lines_invoice_key_session_id")),
        sa.ForeignKeyConstraint(["invoice_key"], ["invoices.key"], name=op.f("fk_invoice_lines_invoice_key_invoices")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_invoice_lines_session_id_sessions")),
    )
    op.create_index(op.f("ix_invoice_lines_session_id"), "invoice_lines", ["session_id"])
    forbid_changes(("invoice_lines",))
    forbid_changes(("invoices",), actions=("DELETE",))
    # An issued invoice is never edited: corrections are credit notes that reference it.
    forbid_changes(("invoices",), actions=("UPDATE",), when="OLD.status = 'ISSUED'")


def downgrade() -> None:
    allow_changes(("invoice_lines", "invoices"))
    op.drop_table("invoice_lines")
    op.drop_index("uq_invoices_open_draft", table_name="invoices")
    op.drop_table("invoices")
    op.drop_table("invoice_series")
    for table in ("demand_partners", "cpos"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("address")
