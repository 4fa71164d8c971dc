"""exact amounts: money columns hold exact decimals on SQLite too

The amounts of clearings and disputes and the session's cap are NUMERIC(18, 4). PostgreSQL keeps them
exactly; SQLite has no decimal type and kept them as REAL (15 significant digits). From here on SQLite
holds each as the INTEGER count of 0.0001 (``persistence.tables.Amount``): the rows are rescaled, the
REAL ones rounded to the scale they were declared with. PostgreSQL's columns are already what they
should be. The downgrade turns SQLite's integers back into REAL amounts.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SCALE = 4
MONEY_COLUMNS = {
    "clearings": ("total_excl_vat", "total_incl_vat", "claimed_excl_vat", "claimed_incl_vat", "tolerance"),
    "disputes": ("official_excl_vat", "claimed_excl_vat", "agreed_excl_vat"),
    "sessions": ("max_amount",),
}


def _rescale(rescaled: str) -> None:
    """Set every money column on SQLite to ``rescaled`` (an expression of ``{column}``); the declared type
    stays NUMERIC(18, 4), so no table is rebuilt (other tables' foreign keys point at ``sessions``)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in MONEY_COLUMNS.items():
        assignments = ", ".join(f"{column} = {rescaled.format(column=column)}" for column in columns)
        op.execute(sa.text(f"UPDATE {table} SET {assignments}"))


def upgrade() -> None:
    # An INTEGER is multiplied exactly; a REAL is rounded to the scale first (ROUND returns REAL).
    _rescale(
        f"CASE typeof({{column}}) WHEN 'integer' THEN {{column}} * {10**SCALE} "
        f"ELSE CAST(ROUND({{column}} * {10**SCALE}) AS INTEGER) END"
    )


def downgrade() -> None:
    _rescale(f"{{column}} / {float(10**SCALE)}")
