"""ledger_check_runs: the worker's periodic ``ledger check`` results, which the API's metrics read

The check used to run inside every API process, every few minutes, reading the whole ledger in a process
that serves partners. The worker runs it now (a Schedule) and records each run here; ``/metrics`` reads the
latest row.

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_check_runs",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("first_problems", sa.JSON(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("settled_sessions", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ledger_check_runs")),
    )


def downgrade() -> None:
    op.drop_table("ledger_check_runs")
