"""Alembic environment: the URL comes from the caller (``persistence.migrate``) or ``DATABASE_URL``."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from persistence.db import make_engine
from persistence.tables import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]
    engine = make_engine(url)
    # Every step in one transaction, as ``persistence.migrate.upgrade`` runs them.
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


run_migrations_online()
