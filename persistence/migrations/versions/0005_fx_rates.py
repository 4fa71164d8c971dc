"""fx_rates: reference rates with their source and publication date

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fx_rates",
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("quote", sa.String(length=3), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(24, 10), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("base", "quote", "as_of", name=op.f("pk_fx_rates")),
        sa.CheckConstraint("rate > 0", name=op.f("ck_fx_rates_positive")),
    )


def downgrade() -> None:
    op.drop_table("fx_rates")
