"""revenue share documents: self-billed invoices in each demand partner's name, series RS-<partner id>

A partner's series holds its id (up to 64 characters), so ``invoice_series.series``, ``invoices.series``
and ``invoices.number`` widen to 80 characters. Only on PostgreSQL: SQLite does not enforce a length, and
rebuilding ``invoices`` there would take its immutability triggers and partial index with it.
``payout_items.session_id`` may be null: the VAT an issued revenue-share document owes the partner is
queued for its payout as an item of that document, of no session.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# (table, column, width before, nullable)
WIDENED = (("invoice_series", "series", 40, False), ("invoices", "series", 40, False), ("invoices", "number", 60, True))
WIDTH = 80
# SQLite rebuilds payout_items from its reflection; its foreign keys' tables need not be reflected with it.
NO_RELATED_TABLES = {"resolve_fks": False}


def _resize_series_columns(*, widen: bool) -> None:
    """SQLite does not enforce VARCHAR lengths: only PostgreSQL's columns change."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, before, nullable in WIDENED:
        old, new = (before, WIDTH) if widen else (WIDTH, before)
        op.alter_column(
            table,
            column,
            type_=sa.String(length=new),
            existing_type=sa.String(length=old),
            existing_nullable=nullable,
        )


def upgrade() -> None:
    _resize_series_columns(widen=True)
    with op.batch_alter_table("payout_items", reflect_kwargs=NO_RELATED_TABLES) as batch_op:
        batch_op.alter_column("session_id", existing_type=sa.String(length=36), nullable=True)


def downgrade() -> None:
    queued = op.get_bind().scalar(sa.text("SELECT count(*) FROM payout_items WHERE session_id IS NULL"))
    if queued:
        # Dropping them would leave revenue-share VAT in the ledger that no payout item accounts for.
        raise RuntimeError(f"{queued} payout item(s) of revenue-share VAT have no session: 0028 cannot hold them")
    with op.batch_alter_table("payout_items", reflect_kwargs=NO_RELATED_TABLES) as batch_op:
        batch_op.alter_column("session_id", existing_type=sa.String(length=36), nullable=False)
    _resize_series_columns(widen=False)
