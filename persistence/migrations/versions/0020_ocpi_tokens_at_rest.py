"""the tokens we present to CPOs encrypted at rest; the PUT grace of a rotated token

``cpos.outbound_token`` (token B a CPO gave us, or token C it answered our registration with) is stored
sealed, ``enc:v1:<Fernet token>`` (``adapters/token_cipher.py``), from now on only: this migration seals the
clear ones with the configured key, so no reader ever meets a clear token and no second code path lives on
for legacy rows. It needs the key only when such tokens exist, and then refuses without one (nothing is
changed). The connection keeps, for five minutes after a PUT, the token it replaced, the digest of that PUT
and its answer's token (sealed), so a repeat of the same PUT gets the same answer.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

SEALED_PREFIX = "enc:v1:"
KEY_SETTING = "NETWORKCORE_OCPI_TOKEN_KEY"
TIMESTAMP = sa.DateTime(timezone=True)
GRACE_TOKEN_INDEX = "ix_ocpi_connections_grace_token_sha256"


def _key() -> str:
    """The key ``persistence.migrate.upgrade`` was given, else the environment's."""
    config = op.get_context().config
    given = None if config is None else config.attributes.get("ocpi_token_key")
    return given or os.environ.get(KEY_SETTING, "")


def upgrade() -> None:
    connection = op.get_bind()
    clear = connection.execute(
        sa.text("SELECT id, outbound_token FROM cpos WHERE outbound_token <> '' AND outbound_token NOT LIKE 'enc:v1:%'")
    ).all()
    if clear:
        key = _key()
        if not key:
            raise RuntimeError(
                f"{len(clear)} CPO token(s) are stored in clear: set {KEY_SETTING} (the key the API and the worker "
                "will use) and migrate again"
            )
        fernet = Fernet(key.encode())
        for cpo_id, token in clear:
            connection.execute(
                sa.text("UPDATE cpos SET outbound_token = :sealed WHERE id = :id"),
                {"sealed": SEALED_PREFIX + fernet.encrypt(token.encode()).decode(), "id": cpo_id},
            )
    # Added in place (SQLite adds nullable columns without rebuilding a table others refer to).
    op.add_column("ocpi_connections", sa.Column("grace_token_sha256", sa.String(64), nullable=True))
    op.add_column("ocpi_connections", sa.Column("grace_put_sha256", sa.String(64), nullable=True))
    op.add_column("ocpi_connections", sa.Column("grace_reply_token", sa.String(255), nullable=True))
    op.add_column("ocpi_connections", sa.Column("grace_until", TIMESTAMP, nullable=True))
    op.create_index(GRACE_TOKEN_INDEX, "ocpi_connections", ["grace_token_sha256"], unique=True)


def downgrade() -> None:
    connection = op.get_bind()
    sealed = connection.execute(
        sa.text("SELECT id, outbound_token FROM cpos WHERE outbound_token LIKE 'enc:v1:%'")
    ).all()
    if sealed:
        key = _key()
        if not key:
            raise RuntimeError(f"CPO tokens are sealed: set {KEY_SETTING} to store them in clear again")
        fernet = Fernet(key.encode())
        for cpo_id, stored in sealed:
            connection.execute(
                sa.text("UPDATE cpos SET outbound_token = :token WHERE id = :id"),
                {"token": fernet.decrypt(stored.removeprefix(SEALED_PREFIX).encode()).decode(), "id": cpo_id},
            )
    op.drop_index(GRACE_TOKEN_INDEX, "ocpi_connections")
    with op.batch_alter_table("ocpi_connections") as table:
        table.drop_column("grace_until")
        table.drop_column("grace_reply_token")
        table.drop_column("grace_put_sha256")
        table.drop_column("grace_token_sha256")
