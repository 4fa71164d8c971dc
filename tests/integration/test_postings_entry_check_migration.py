"""Migration 0034 on both databases: a posting of no entry is refused as before (on PostgreSQL by the
statement trigger, with the foreign key's error code and name, instead of the foreign key), one beyond its
entry's declared count too, and booked entries keep balancing and counting; the downgrade puts the foreign
key back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from psycopg.errors import ForeignKeyViolation
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from domain.ledger.entries import JournalEntry, Posting
from persistence import ledger
from persistence.db import make_engine, make_session_factory
from persistence.migrate import alembic_config, upgrade
from tests.integration.test_error_type_migration import database_at

NOW = datetime(2026, 10, 30, tzinfo=UTC)
ORPHAN = (
    "INSERT INTO ledger_postings (entry_key, account_key, currency, amount_minor)"
    " VALUES (999999, (SELECT min(key) FROM ledger_accounts), 'EUR', 5)"
)
ONE_TOO_MANY = (
    "INSERT INTO ledger_postings (entry_key, account_key, currency, amount_minor)"
    " VALUES ((SELECT max(key) FROM ledger_entries), (SELECT min(key) FROM ledger_accounts), 'EUR', 5)"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0033(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0033")


def _entry_foreign_keys(engine: Engine) -> list[str]:
    return [fk["referred_table"] for fk in inspect(engine).get_foreign_keys("ledger_postings")]


def _book(engine: Engine, key: str) -> None:
    entry = JournalEntry(key, (Posting("platform:BANK", "EUR", 1000), Posting("dp-1:RECEIVABLE", "EUR", -1000)))
    with make_session_factory(engine).begin() as db:
        ledger.post(db, entry, now=NOW)


def _refusals(engine: Engine) -> None:
    for statement in (ORPHAN, ONE_TOO_MANY):
        with pytest.raises(DatabaseError), engine.begin() as db:
            db.execute(text(statement))


def test_postings_of_no_entry_are_refused_before_and_after_and_the_downgrade_restores_the_key(
    database_at_0033: str,
) -> None:
    url = database_at_0033
    engine = make_engine(url)
    _book(engine, "before")
    _refusals(engine)
    engine.dispose()

    upgrade(url, "0034")

    engine = make_engine(url)
    postgresql = engine.dialect.name == "postgresql"
    assert ("ledger_entries" in _entry_foreign_keys(engine)) is not postgresql
    _book(engine, "after")
    _refusals(engine)
    with pytest.raises(IntegrityError) as refused, engine.begin() as db:
        db.execute(text(ORPHAN))
    if postgresql:
        assert isinstance(refused.value.orig, ForeignKeyViolation)
        assert refused.value.orig.diag.constraint_name == "fk_ledger_postings_entry_key_ledger_entries"
        with pytest.raises(DatabaseError), engine.begin() as db:
            db.execute(text("TRUNCATE ledger_entries CASCADE"))
    with make_session_factory(engine)() as db:
        assert ledger.unbalanced_entries(db) == []
        assert ledger.kept_total_problems(db) == []
        assert ledger.account_balance(db, "platform:BANK", "EUR") == 2000
    engine.dispose()

    command.downgrade(alembic_config(url), "0033")

    engine = make_engine(url)
    assert "ledger_entries" in _entry_foreign_keys(engine)
    _refusals(engine)
    _book(engine, "downgraded")
    engine.dispose()
