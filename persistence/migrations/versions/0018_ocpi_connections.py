"""OCPI connections: a CPO registers through the credentials module instead of a database edit

``ocpi_connections`` holds how a CPO authenticates with us (its registration token A and, once registered,
the token it presents, both as SHA-256 only), its versions URL, the version we speak with it and its state;
``ocpi_endpoints`` the modules of its version details; ``ocpi_connection_roles`` the parties its
credentials declared. Every CPO's token moves from ``cpos.inbound_token_sha256`` (dropped) into a
REGISTERED connection, so the CPOs connected until now keep authenticating.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


# ``cpos`` on SQLite without, then with, the token column (as 0001 and later revisions left it).
CPOS_COLUMNS = (
    "id VARCHAR(64) NOT NULL, name VARCHAR(200) NOT NULL, legal_entity VARCHAR(200) NOT NULL, "
    "country_code VARCHAR(2) NOT NULL, party_id VARCHAR(3) NOT NULL, country VARCHAR(2) NOT NULL, "
    "vat_id VARCHAR(32), payout_currency VARCHAR(3) NOT NULL, active BOOLEAN NOT NULL, "
    "commands_url VARCHAR(255) NOT NULL, outbound_token VARCHAR(255) NOT NULL, address VARCHAR(300), "
    "iban VARCHAR(34), bic VARCHAR(11), "
)
CPOS_CONSTRAINTS = (
    "CONSTRAINT pk_cpos PRIMARY KEY (id), CONSTRAINT uq_cpos_country_code_party_id UNIQUE (country_code, party_id)"
)
CPOS_KEPT = (
    "id, name, legal_entity, country_code, party_id, country, vat_id, payout_currency, active, commands_url, "
    "outbound_token, address, iban, bic"
)


def _rebuild_cpos_on_sqlite(columns: str, constraints: str) -> None:
    """SQLite cannot drop a UNIQUE column, nor add one, in place: ``cpos`` is rebuilt. Every table pointing
    at it would fail the drop of the old copy (and a batch rebuild's copy-then-rename leaves SQLite counting
    those rows as orphans), so the foreign keys are checked at commit and the rows are inserted after the
    rename, which gives every orphan its parent back."""
    op.execute(sa.text("PRAGMA defer_foreign_keys=ON"))
    op.execute(sa.text(f"CREATE TEMP TABLE cpos_0018 AS SELECT {CPOS_KEPT} FROM cpos"))
    op.execute(sa.text(f"CREATE TABLE cpos_0018_new ({columns}{constraints})"))
    op.execute(sa.text("DROP TABLE cpos"))
    op.execute(sa.text("ALTER TABLE cpos_0018_new RENAME TO cpos"))
    op.execute(sa.text(f"INSERT INTO cpos ({CPOS_KEPT}) SELECT {CPOS_KEPT} FROM cpos_0018"))
    op.execute(sa.text("DROP TABLE cpos_0018"))


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_table(
        "ocpi_connections",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("cpo_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("token_a_sha256", sa.String(length=64), nullable=True),
        sa.Column("token_a_expires_at", TIMESTAMP, nullable=True),
        sa.Column("inbound_token_sha256", sa.String(length=64), nullable=True),
        sa.Column("versions_url", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=8), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("registered_at", TIMESTAMP, nullable=True),
        sa.Column("unregistered_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["cpo_id"], ["cpos.id"], name=op.f("fk_ocpi_connections_cpo_id_cpos")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ocpi_connections")),
        sa.UniqueConstraint("cpo_id", name=op.f("uq_ocpi_connections_cpo_id")),
        sa.UniqueConstraint("token_a_sha256", name=op.f("uq_ocpi_connections_token_a_sha256")),
        sa.UniqueConstraint("inbound_token_sha256", name=op.f("uq_ocpi_connections_inbound_token_sha256")),
    )
    op.create_table(
        "ocpi_endpoints",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("connection_key", KEY, nullable=False),
        sa.Column("identifier", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_key"],
            ["ocpi_connections.key"],
            name=op.f("fk_ocpi_endpoints_connection_key_ocpi_connections"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ocpi_endpoints")),
        sa.UniqueConstraint(
            "connection_key", "identifier", "role", name=op.f("uq_ocpi_endpoints_connection_key_identifier_role")
        ),
    )
    op.create_table(
        "ocpi_connection_roles",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("connection_key", KEY, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_key"],
            ["ocpi_connections.key"],
            name=op.f("fk_ocpi_connection_roles_connection_key_ocpi_connections"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ocpi_connection_roles")),
    )
    op.create_index(
        "uq_ocpi_connection_roles_ci_party",
        "ocpi_connection_roles",
        [sa.func.upper(sa.column("country_code")), sa.func.upper(sa.column("party_id")), sa.column("role")],
        unique=True,
    )
    op.execute(
        sa.text(
            "INSERT INTO ocpi_connections (cpo_id, state, inbound_token_sha256, created_at, updated_at, registered_at)"
            " SELECT id, 'REGISTERED', inbound_token_sha256, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
            " FROM cpos"
        )
    )
    if _sqlite():
        _rebuild_cpos_on_sqlite(CPOS_COLUMNS, CPOS_CONSTRAINTS)
    else:
        op.drop_column("cpos", "inbound_token_sha256")


def downgrade() -> None:
    if _sqlite():
        _rebuild_cpos_on_sqlite(
            CPOS_COLUMNS + "inbound_token_sha256 VARCHAR(64), ",
            CPOS_CONSTRAINTS + ", CONSTRAINT uq_cpos_inbound_token_sha256 UNIQUE (inbound_token_sha256)",
        )
    else:
        op.add_column("cpos", sa.Column("inbound_token_sha256", sa.String(length=64), nullable=True))
        op.create_unique_constraint("uq_cpos_inbound_token_sha256", "cpos", ["inbound_token_sha256"])
    # A CPO that never registered has no token; one that unregistered keeps none either.
    op.execute(
        sa.text(
            "UPDATE cpos SET inbound_token_sha256 = (SELECT c.inbound_token_sha256 FROM ocpi_connections c"
            " WHERE c.cpo_id = cpos.id AND c.state = 'REGISTERED')"
        )
    )
    op.drop_index("uq_ocpi_connection_roles_ci_party", table_name="ocpi_connection_roles")
    op.drop_table("ocpi_connection_roles")
    op.drop_table("ocpi_endpoints")
    op.drop_table("ocpi_connections")
