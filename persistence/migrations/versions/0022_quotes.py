"""quotes: the price a demand partner was quoted for a session, and the session started on one

A quote (``POST /v1/quotes``) keeps the tariff version it priced and the answer given, so the partner can
read it again and start a session on it; it holds nothing. A session started on a quote names it.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("demand_partner_id", sa.String(length=64), nullable=False),
        sa.Column("evse_id", sa.String(length=48), nullable=False),
        sa.Column("tariff_key", KEY, nullable=False),
        sa.Column("kwh", sa.Numeric(14, 4), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("starts_at", TIMESTAMP, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_incl_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("valid_until", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_partner_id"], ["demand_partners.id"], name=op.f("fk_quotes_demand_partner_id_demand_partners")
        ),
        sa.ForeignKeyConstraint(["tariff_key"], ["tariffs.key"], name=op.f("fk_quotes_tariff_key_tariffs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    op.create_index(op.f("ix_quotes_demand_partner_id"), "quotes", ["demand_partner_id"])
    op.add_column("sessions", sa.Column("quote_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) drops a plain column in place: no batch copy of the table under its foreign keys.
    op.drop_column("sessions", "quote_id")
    op.drop_index(op.f("ix_quotes_demand_partner_id"), table_name="quotes")
    op.drop_table("quotes")
