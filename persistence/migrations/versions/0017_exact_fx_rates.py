"""exact FX rates: reference and executed rates hold exact decimals on SQLite too

As 0013 did for amounts: the rates that convert money (``fx_rates.rate``, ``fx_conversions.reference_rate``
and ``executed_rate``, NUMERIC(24, 10)) were REAL on SQLite; from here on SQLite holds each as the INTEGER
count of 10^-10 (``persistence.tables.Amount``). PostgreSQL's columns are already exact. A conversion is
immutable evidence, so its triggers are lifted for the rescale only and put back as they were.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.immutable_rows import allow_changes, forbid_changes

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SCALE = 10
RATE_COLUMNS = {"fx_rates": ("rate",), "fx_conversions": ("reference_rate", "executed_rate")}


def _rescale(rescaled: str) -> None:
    """Set every rate column on SQLite to ``rescaled`` (an expression of ``{column}``); the declared type
    stays NUMERIC(24, 10), so no table is rebuilt."""
    if op.get_bind().dialect.name != "sqlite":
        return
    allow_changes(("fx_conversions",))
    for table, columns in RATE_COLUMNS.items():
        assignments = ", ".join(f"{column} = {rescaled.format(column=column)}" for column in columns)
        op.execute(sa.text(f"UPDATE {table} SET {assignments}"))
    forbid_changes(("fx_conversions",))


def upgrade() -> None:
    # A REAL is rounded to the scale first (ROUND returns REAL); an INTEGER rate (a whole 2) is exact.
    _rescale(
        f"CASE typeof({{column}}) WHEN 'integer' THEN {{column}} * {10**SCALE} "
        f"ELSE CAST(ROUND({{column}} * {10**SCALE}) AS INTEGER) END"
    )


def downgrade() -> None:
    _rescale(f"{{column}} / {float(10**SCALE)}")
