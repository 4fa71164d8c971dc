"""einvoices: each issued document's EN 16931 e-invoice, and its delivery to the outbox

``invoices.einvoice_format`` and ``einvoice_xml`` hold the validated XML, written with the invoice as it is
issued (issued invoices are immutable, so they are never filled in later); documents issued before stay
without. ``einvoice_deliveries`` queues each e-invoice for the outbox as it is issued and records when its
file was written: pending ones are found by a partial index. ``invoices.einvoice_group`` keeps a month's
lines that one e-invoice cannot state together (VAT in two currencies, out of scope of VAT with taxed ones) on
draft statements of their own: the open-draft index takes it in (drafts from before are group "").

Written on a branch where 0028 was the head: the merge re-chains it.

Revision ID: 0031
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("invoices", sa.Column("einvoice_format", sa.String(length=16), nullable=True))
    op.add_column("invoices", sa.Column("einvoice_xml", sa.Text(), nullable=True))
    op.add_column("invoices", sa.Column("einvoice_group", sa.String(length=8), server_default="", nullable=False))
    _open_draft_index(("issuer", "recipient", "currency", "period", "einvoice_group"))
    op.create_table(
        "einvoice_deliveries",
        sa.Column("invoice_key", KEY, nullable=False),
        sa.Column("recipient", sa.String(length=80), nullable=False),
        sa.Column("queued_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("invoice_key", name=op.f("pk_einvoice_deliveries")),
        sa.ForeignKeyConstraint(
            ["invoice_key"], ["invoices.key"], name=op.f("fk_einvoice_deliveries_invoice_key_invoices")
        ),
    )
    op.create_index(
        "ix_einvoice_deliveries_pending",
        "einvoice_deliveries",
        ["invoice_key"],
        sqlite_where=sa.text("delivered_at IS NULL"),
        postgresql_where=sa.text("delivered_at IS NULL"),
    )


def _open_draft_index(columns: tuple[str, ...]) -> None:
    op.drop_index("uq_invoices_open_draft", table_name="invoices")
    op.create_index(
        "uq_invoices_open_draft",
        "invoices",
        list(columns),
        unique=True,
        sqlite_where=sa.text("status = 'DRAFT'"),
        postgresql_where=sa.text("status = 'DRAFT'"),
    )


def downgrade() -> None:
    op.drop_table("einvoice_deliveries")
    _open_draft_index(("issuer", "recipient", "currency", "period"))
    op.drop_column("invoices", "einvoice_group")
    op.drop_column("invoices", "einvoice_xml")
    op.drop_column("invoices", "einvoice_format")
