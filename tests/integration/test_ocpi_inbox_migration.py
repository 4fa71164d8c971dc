"""Migration 0014 on both databases: the OCPI inbox keeps a message's bytes as they arrived, and stays
append-only; the downgrade drops the bytes column and keeps the messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import column, inspect, select, table, update
from sqlalchemy.exc import DatabaseError

from adapters.token_cipher import TokenCipher
from cli.seed import CPOS, seed_database
from persistence.db import make_engine, make_session_factory
from persistence.migrate import alembic_config, upgrade
from persistence.tables import OcpiInboxRow
from tests.conftest import TEST_TOKEN_KEY, _fresh_postgres

NOT_UTF8 = '{"id": "Zürich"}'.encode("utf-16")
inbox = table("ocpi_inbox", column("key"), column("body"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own (this test downgrades it), per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'networkcore.db'}"
    else:
        yield from _fresh_postgres()


def test_the_inbox_keeps_the_bytes_and_the_downgrade_keeps_the_messages(empty_database: str) -> None:
    upgrade(empty_database)  # the seed writes the newest schema; the downgrade below undoes 0014 and after
    engine = make_engine(empty_database)
    writes = make_session_factory(engine)
    seed_database(writes, "http://127.0.0.1:1", token_cipher=TokenCipher(TEST_TOKEN_KEY))
    with writes.begin() as db:
        db.add(
            OcpiInboxRow(
                received_at=datetime(2026, 6, 1, tzinfo=UTC),
                cpo_id=CPOS[0].id,
                kind="TARIFF_PUT",
                object_id="T1",
                outcome="UNREADABLE",
                status_code=2000,
                message="not UTF-8",
                body="(UTF-16)",
                raw_body=NOT_UTF8,
            )
        )
    with writes() as db:
        assert db.scalars(select(OcpiInboxRow.raw_body)).one() == NOT_UTF8
    engine.dispose()

    command.downgrade(alembic_config(empty_database), "0013")  # 0014 and what came after it

    engine = make_engine(empty_database)
    assert "raw_body" not in {c["name"] for c in inspect(engine).get_columns("ocpi_inbox")}
    with engine.connect() as db:
        assert len(db.execute(select(inbox.c.key)).all()) == 1
    with pytest.raises(DatabaseError, match="immutable"), engine.begin() as db:
        db.execute(update(inbox).values(body="changed"))
    engine.dispose()
