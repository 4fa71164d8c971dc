"""partner keys and addresses: API keys expire, demand partners have a structured address

A key's ``expires_at`` ends it without anyone revoking it (keys made before this revision never expire,
as before). A demand partner onboarded with ``partners add-dp`` or ``POST /v1/partners`` records its
street, postcode and city; ``address`` stays the line printed on invoices.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ADDRESS_COLUMNS = (("street", 200), ("postal_code", 16), ("city", 100))


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (a batch rebuild on SQLite would drop tables others point at).
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    for name, length in ADDRESS_COLUMNS:
        op.add_column("demand_partners", sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for name, _ in ADDRESS_COLUMNS:
        op.drop_column("demand_partners", name)
    op.drop_column("api_keys", "expires_at")
