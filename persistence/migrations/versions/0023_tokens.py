"""drivers' tokens: demand partners register them, CPOs pull them and authorise them in real time

``tokens`` holds each token with its partner; uid + type is unique across the platform, ignoring the case
of the uid (an OCPI CiString); the contract id is kept as issued and normalised (upper case, no hyphens),
which is what a Plug & Charge lookup matches. CPOs pull the list ordered by ``last_updated``.

``token_authorisations`` records every real-time authorisation a CPO asked for, with its answer; an ALLOWED
one has an ``authorization_reference`` and a credit hold. That hold is placed before any session exists:
its ``session_id`` is the reference, the id the session gets when the CPO's Session follows. So
``ledger_holds.session_id`` loses its foreign key to ``sessions`` (its unique constraint stays). SQLite
cannot drop a foreign key in place: the table is rebuilt as 0018 rebuilt ``cpos`` (rows copied back after
the rename, foreign keys checked at commit), with its immutability triggers restored. A downgrade fails
while a hold of an authorisation without a session exists.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.immutable_rows import allow_changes, forbid_changes

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
SESSION_FK = "fk_ledger_holds_session_id_sessions"
HOLDS_COLUMNS = (  # as 0006 made it, without the foreign key to sessions
    '"key" INTEGER NOT NULL, idempotency_key VARCHAR(200) NOT NULL, session_id VARCHAR(36) NOT NULL, '
    "account_key INTEGER NOT NULL, currency VARCHAR(3) NOT NULL, amount_minor BIGINT NOT NULL, "
    "created_at DATETIME NOT NULL, expires_at DATETIME NOT NULL, "
    'CONSTRAINT pk_ledger_holds PRIMARY KEY ("key"), '
    "CONSTRAINT uq_ledger_holds_idempotency_key UNIQUE (idempotency_key), "
    "CONSTRAINT uq_ledger_holds_session_id UNIQUE (session_id), "
    "CONSTRAINT fk_ledger_holds_account_key_ledger_accounts "
    'FOREIGN KEY(account_key) REFERENCES ledger_accounts ("key"), '
    "CONSTRAINT ck_ledger_holds_positive CHECK (amount_minor > 0)"
)
HOLDS_KEPT = '"key", idempotency_key, session_id, account_key, currency, amount_minor, created_at, expires_at'


def _rebuild_holds_on_sqlite(extra_constraint: str) -> None:
    """``ledger_holds`` again, with ``extra_constraint`` (or none): its resolutions point at it, so the
    rows go back in after the rename and the foreign keys are checked at commit."""
    allow_changes(("ledger_holds",))
    op.execute(sa.text("PRAGMA defer_foreign_keys=ON"))
    op.execute(sa.text(f"CREATE TEMP TABLE ledger_holds_0023 AS SELECT {HOLDS_KEPT} FROM ledger_holds"))
    op.execute(sa.text(f"CREATE TABLE ledger_holds_0023_new ({HOLDS_COLUMNS}{extra_constraint})"))
    op.execute(sa.text("DROP TABLE ledger_holds"))
    op.execute(sa.text("ALTER TABLE ledger_holds_0023_new RENAME TO ledger_holds"))
    op.execute(sa.text(f"INSERT INTO ledger_holds ({HOLDS_KEPT}) SELECT {HOLDS_KEPT} FROM ledger_holds_0023"))
    op.execute(sa.text("DROP TABLE ledger_holds_0023"))
    op.create_index("ix_ledger_holds_account_key", "ledger_holds", ["account_key"])
    forbid_changes(("ledger_holds",))


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("demand_partner_id", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("contract_id", sa.String(length=36), nullable=False),
        sa.Column("normalised_contract_id", sa.String(length=15), nullable=False),
        sa.Column("visual_number", sa.String(length=64), nullable=True),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("whitelist", sa.String(length=16), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("valid_until", TIMESTAMP, nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_updated", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_partner_id"], ["demand_partners.id"], name=op.f("fk_tokens_demand_partner_id_demand_partners")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_tokens")),
    )
    op.create_index("uq_tokens_ci_type_uid", "tokens", ["type", sa.func.upper(sa.column("uid"))], unique=True)
    op.create_index(op.f("ix_tokens_demand_partner_id_key"), "tokens", ["demand_partner_id", "key"])
    op.create_index(op.f("ix_tokens_last_updated_key"), "tokens", ["last_updated", "key"])
    op.create_index(op.f("ix_tokens_normalised_contract_id"), "tokens", ["normalised_contract_id"])
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_holds_on_sqlite("")
    else:
        op.drop_constraint(SESSION_FK, "ledger_holds", type_="foreignkey")
    op.create_table(
        "token_authorisations",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("token_key", KEY, nullable=False),
        sa.Column("demand_partner_id", sa.String(length=64), nullable=False),
        sa.Column("cpo_id", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=True),
        sa.Column("evse_uids", sa.JSON(), nullable=False),
        sa.Column("allowed", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("authorization_reference", sa.String(length=36), nullable=True),
        sa.Column("hold_key", KEY, nullable=True),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["token_key"], ["tokens.key"], name=op.f("fk_token_authorisations_token_key_tokens")),
        sa.ForeignKeyConstraint(["cpo_id"], ["cpos.id"], name=op.f("fk_token_authorisations_cpo_id_cpos")),
        sa.ForeignKeyConstraint(
            ["hold_key"], ["ledger_holds.key"], name=op.f("fk_token_authorisations_hold_key_ledger_holds")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_token_authorisations")),
        sa.UniqueConstraint("authorization_reference", name=op.f("uq_token_authorisations_authorization_reference")),
    )
    op.create_index(op.f("ix_token_authorisations_token_key"), "token_authorisations", ["token_key"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_holds_on_sqlite(f", CONSTRAINT {SESSION_FK} FOREIGN KEY(session_id) REFERENCES sessions (id)")
    else:
        op.create_foreign_key(SESSION_FK, "ledger_holds", "sessions", ["session_id"], ["id"])
    op.drop_table("token_authorisations")
    op.drop_table("tokens")
