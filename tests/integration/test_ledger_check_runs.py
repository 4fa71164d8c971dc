"""The periodic ledger check the worker runs records each run, which ``/metrics`` reads: the latest run, OK or
with its problems counted and the first of them kept, on SQLite and PostgreSQL; migration 0033 up and down."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from activities.ledger_check import LedgerCheckActivities
from messages.ledger_check import LedgerCheck, LedgerCheckResult
from persistence.db import make_engine, make_session_factory
from persistence.ledger_check_runs import latest_run
from persistence.migrate import alembic_config, upgrade
from persistence.tables import LedgerCheckRunRow, SessionRow, SessionStageCountRow
from tests.integration.test_error_type_migration import database_at, insert_partner, session_values


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """A database of its own: the test breaks its books."""
    for url in database_at(request.param, tmp_path, "head"):
        engine = make_engine(url)
        yield url, make_session_factory(engine)
        engine.dispose()


def test_each_run_is_recorded_and_the_latest_is_what_metrics_show(
    own_database: tuple[str, sessionmaker[Session]], caplog: pytest.LogCaptureFixture
) -> None:
    url, writes = own_database
    books = LedgerCheckActivities(writes)
    with writes() as db:
        assert latest_run(db) is None  # no gauge before the first run

    assert books.check_books(LedgerCheck()) == LedgerCheckResult(ok=True, problems=0)
    with writes() as db:
        first = latest_run(db)
    assert first is not None
    assert (first.ok, first.problems) == (True, 0)

    with writes.begin() as db:  # a session the kept counts miss: one problem
        insert_partner(db.connection())
        db.execute(insert(SessionRow).values(session_values("s-1", stage="CHARGING")))
        db.execute(update(SessionStageCountRow).values(sessions=0))
    with caplog.at_level(logging.ERROR, logger="activities.ledger_check"):
        assert books.check_books(LedgerCheck()) == LedgerCheckResult(ok=False, problems=1)
    assert "ledger check: FAILED (1 problems)" in caplog.text
    with writes() as db:
        last = latest_run(db)
        kept = db.scalars(select(LedgerCheckRunRow).order_by(LedgerCheckRunRow.key)).all()
    assert last is not None
    assert (last.ok, last.problems) == (False, 1)
    assert last.checked_at >= first.checked_at
    assert [run.first_problems for run in kept] == [[], ["CHARGING: 0 sessions counted as kept, 1 in the sessions"]]

    command.downgrade(alembic_config(url), "0032")
    engine = make_engine(url)
    assert "ledger_check_runs" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(url)
