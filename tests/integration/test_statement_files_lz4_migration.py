"""Migration 0036 on both databases: a statement file stored before it reads back the same after it, one
stored after it too (on PostgreSQL compressed with lz4), and both after the downgrade (back to pglz)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from persistence import bank_statements
from persistence.db import make_engine, make_session_factory
from persistence.migrate import alembic_config, upgrade
from tests.integration.test_error_type_migration import database_at

NOW = datetime(2026, 10, 30, tzinfo=UTC)
# Large enough for PostgreSQL to compress it (TOAST), as a real statement is.
CONTENT = b"<Document>" + b"<Ntry><Amt Ccy='EUR'>12.50</Amt></Ntry>" * 20_000 + b"</Document>"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0035(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0035")


def _store(engine: Engine, name: str) -> None:
    with make_session_factory(engine).begin() as db:
        bank_statements.store_file(db, CONTENT + name.encode(), name, now=NOW)


def _contents(engine: Engine) -> dict[str, bytes]:
    with engine.connect() as db:
        return {
            name: bytes(content)
            for name, content in db.execute(text("SELECT file_name, content FROM bank_statement_files"))
        }


def _compression(engine: Engine, name: str) -> str | None:
    """How PostgreSQL compressed the file's content (None on SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as db:
        method = db.execute(
            text("SELECT pg_column_compression(content) FROM bank_statement_files WHERE file_name = :name"),
            {"name": name},
        ).scalar_one()
    return None if method is None else str(method)


def test_statement_files_read_back_the_same_whichever_compression_stored_them(database_at_0035: str) -> None:
    url = database_at_0035
    engine = make_engine(url)
    _store(engine, "before")
    engine.dispose()

    upgrade(url, "0036")
    engine = make_engine(url)
    _store(engine, "after")
    assert _compression(engine, "before") in (None, "pglz")
    assert _compression(engine, "after") in (None, "lz4")
    engine.dispose()

    command.downgrade(alembic_config(url), "0035")
    engine = make_engine(url)
    _store(engine, "downgraded")
    assert _compression(engine, "downgraded") in (None, "pglz")
    assert _contents(engine) == {name: CONTENT + name.encode() for name in ("before", "after", "downgraded")}
    engine.dispose()
