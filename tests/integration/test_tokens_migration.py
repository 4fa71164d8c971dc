"""Migration 0023 on both databases: the token tables come, and ``ledger_holds.session_id`` loses its
foreign key to ``sessions`` (a real-time authorisation holds credit for a session still to come) while its
rows, their resolutions and their immutability stay; the downgrade puts the foreign key back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from persistence.db import make_engine
from persistence.migrate import alembic_config, upgrade
from tests.integration.test_error_type_migration import database_at, insert_partner, session_values, sessions

ACCOUNT = "INSERT INTO ledger_accounts (code, currency) VALUES ('dp-1:CREDIT_HOLD', 'EUR')"
HOLD = (
    "INSERT INTO ledger_holds (idempotency_key, session_id, account_key, currency, amount_minor, created_at,"
    " expires_at) VALUES ('session-{id}:hold', '{id}', (SELECT key FROM ledger_accounts), 'EUR', 8000,"
    " '2026-06-01 00:00:00+00:00', '2026-06-08 00:00:00+00:00')"
)
RESOLUTION = (
    "INSERT INTO ledger_hold_resolutions (hold_key, state, posted_minor, resolved_at)"
    " VALUES ((SELECT key FROM ledger_holds WHERE session_id = 's-1'), 'VOIDED', 0, '2026-06-02 00:00:00+00:00')"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0022(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0022")


def _session_foreign_keys(engine: Engine) -> list[str]:
    return [fk["referred_table"] for fk in inspect(engine).get_foreign_keys("ledger_holds")]


def test_holds_keep_their_rows_and_immutability_and_may_precede_their_session(database_at_0022: str) -> None:
    url = database_at_0022
    engine = make_engine(url)
    with engine.begin() as db:
        insert_partner(db)
        db.execute(sessions.insert().values(**session_values("s-1")))
        db.execute(text(ACCOUNT))
        db.execute(text(HOLD.format(id="s-1")))
        db.execute(text(RESOLUTION))
    with pytest.raises(IntegrityError), engine.begin() as db:
        db.execute(text(HOLD.format(id="no-session-yet")))
    engine.dispose()

    upgrade(url, "0023")

    engine = make_engine(url)
    assert "sessions" not in _session_foreign_keys(engine)
    assert {"tokens", "token_authorisations"} <= set(inspect(engine).get_table_names())
    with engine.begin() as db:
        kept = db.execute(
            text(
                "SELECT h.session_id, r.state FROM ledger_holds h JOIN ledger_hold_resolutions r ON r.hold_key = h.key"
            )
        ).all()
        assert [tuple(row) for row in kept] == [("s-1", "VOIDED")]
    with pytest.raises(DatabaseError), engine.begin() as db:
        db.execute(text("UPDATE ledger_holds SET amount_minor = 1"))
    with pytest.raises(DatabaseError), engine.begin() as db:
        db.execute(text("DELETE FROM ledger_holds"))
    engine.dispose()

    command.downgrade(alembic_config(url), "0022")

    engine = make_engine(url)
    assert "sessions" in _session_foreign_keys(engine)
    assert "tokens" not in inspect(engine).get_table_names()
    with engine.begin() as db:
        assert db.execute(text("SELECT count(*) FROM ledger_hold_resolutions")).scalar_one() == 1
    engine.dispose()

    upgrade(url, "0023")

    engine = make_engine(url)
    with engine.begin() as db:
        db.execute(text(HOLD.format(id="no-session-yet")))  # an authorisation's hold, before its session
    engine.dispose()
