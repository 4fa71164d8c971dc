"""Migration 0035 on both databases: at commit an entry that does not balance, or (PostgreSQL) has other than
the postings it declares, is refused before, after (by the one-query check) and after the downgrade; a
balanced one is booked throughout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError

from persistence.db import make_engine
from persistence.migrate import alembic_config, upgrade
from tests.integration.test_error_type_migration import database_at

ACCOUNTS = "INSERT INTO ledger_accounts (code, currency) VALUES ('platform:BANK', 'EUR'), ('dp-1:RECEIVABLE', 'EUR')"
ENTRY = (
    "INSERT INTO ledger_entries (idempotency_key, posting_count, created_at)"
    " VALUES (:key, :count, '2026-10-30 00:00:00+00:00')"
)
POSTING = (
    "INSERT INTO ledger_postings (entry_key, account_key, currency, amount_minor) VALUES ("
    "(SELECT key FROM ledger_entries WHERE idempotency_key = :key),"
    " (SELECT key FROM ledger_accounts WHERE code = :account), 'EUR', :amount)"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0034(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0034")


def _book(engine: Engine, key: str, declared: int, debit: int, credit: int) -> None:
    with engine.begin() as db:
        db.execute(text(ENTRY), {"key": key, "count": declared})
        db.execute(text(POSTING), {"key": key, "account": "platform:BANK", "amount": debit})
        db.execute(text(POSTING), {"key": key, "account": "dp-1:RECEIVABLE", "amount": -credit})


def _checked(engine: Engine, stage: str) -> None:
    _book(engine, f"{stage}-balanced", 2, 1000, 1000)
    with pytest.raises(DatabaseError):
        _book(engine, f"{stage}-unbalanced", 2, 1000, 999)
    if engine.dialect.name == "postgresql":  # SQLite checks an entry when its last declared posting arrives
        with pytest.raises(DatabaseError):
            _book(engine, f"{stage}-one-posting-short", 3, 1000, 1000)
    with engine.connect() as db:
        booked = db.execute(text("SELECT idempotency_key FROM ledger_entries ORDER BY key")).scalars().all()
    assert booked[-1] == f"{stage}-balanced"


def test_unbalanced_or_miscounted_entries_are_refused_before_after_and_downgraded(database_at_0034: str) -> None:
    url = database_at_0034
    engine = make_engine(url)
    with engine.begin() as db:
        db.execute(text(ACCOUNTS))
    _checked(engine, "before")
    engine.dispose()

    upgrade(url, "0035")
    engine = make_engine(url)
    _checked(engine, "after")
    engine.dispose()

    command.downgrade(alembic_config(url), "0034")
    engine = make_engine(url)
    _checked(engine, "downgraded")
    engine.dispose()
