"""error types: why a session or a correction stopped, as a column

Sessions and corrections record the ErrorType their reason names (``settlement stopped (<ErrorType>): ...``),
so ops filter on it instead of parsing the reason. Rows stopped before this revision are backfilled from
their reason.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# How the reasons that name an ErrorType begin, per table: "<what> (<ErrorType>): <message>".
NAMED_REASONS = {
    "sessions": ("settlement stopped (", "clearing failed ("),
    "settlement_corrections": ("correction stopped (",),
}


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch rebuild of ``sessions`` on SQLite would drop a table
    # that other tables' foreign keys point at.
    for table in NAMED_REASONS:
        op.add_column(table, sa.Column("error_type", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    closing = "instr(reason, ')')" if bind.dialect.name == "sqlite" else "strpos(reason, ')')"
    for table, beginnings in NAMED_REASONS.items():
        for begins in beginnings:
            # The ErrorType runs from just after "<what> (" to the first ")": neither contains one.
            op.execute(
                sa.text(
                    f"UPDATE {table} SET error_type = substr(reason, :start, {closing} - :start) "
                    f"WHERE reason LIKE :pattern AND {closing} > :start"
                ).bindparams(start=len(begins) + 1, pattern=f"{begins}%")
            )


def downgrade() -> None:
    for table in NAMED_REASONS:
        op.drop_column(table, "error_type")
