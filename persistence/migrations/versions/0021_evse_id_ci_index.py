"""EVSE ids looked up ignoring case: a unique index on upper(evse_id)

A partner starts a session on an EVSE id (``DE*STN*E3001``), an OCPI CiString: the lookup compares
``upper()`` of both sides (``persistence/repositories.py`` ``charger_by_evse_id``), which without this index
scans every EVSE on each authorisation. Unique, it also keeps two EVSEs from taking one id in two
spellings. The plain unique constraint of 0019 stays: this index implies it, and dropping it would make
SQLite copy the table under its foreign keys.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("uq_evses_ci_evse_id", "evses", [sa.func.upper(sa.column("evse_id"))], unique=True)


def downgrade() -> None:
    op.drop_index("uq_evses_ci_evse_id", table_name="evses")
