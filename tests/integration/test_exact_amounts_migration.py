"""Migration 0013 and ``persistence.tables.Amount`` on both databases: money kept as REAL on SQLite before
it is exact after, to the last of its 18 digits; the downgrade gives the amounts back."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Numeric, column, select, table, text, update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from persistence.db import make_engine
from persistence.migrate import alembic_config, upgrade
from persistence.tables import SessionRow
from tests.integration.test_error_type_migration import database_at, insert_partner, session_values
from tests.integration.test_error_type_migration import sessions as sessions_before

CAPS = {
    "cents": Decimal("12.3456"),
    "whole": Decimal("80"),
    "fifteen-digits": Decimal("99999999999.9999"),
    "none": None,
}
# 17 significant digits: a REAL keeps 15 of them.
INVOICED_BY_THE_PROBE = Decimal("1190000000000.0001")

# The tables as the revision before 0013 has them, with the money column typed as it was then.
sessions = table("sessions", *(column(c.name) for c in sessions_before.c), column("max_amount", Numeric(18, 4)))


def _revision_before_0013(url: str) -> str:
    before = ScriptDirectory.from_config(alembic_config(url)).get_revision("0013").down_revision
    assert isinstance(before, str)
    return before


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_before_0013(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'networkcore.db'}"  # where the revisions are read, whatever the backend
    yield from database_at(request.param, tmp_path, _revision_before_0013(url))


def _capped_sessions(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as db:
        insert_partner(db)
        for session_id, cap in CAPS.items():
            db.execute(sessions.insert().values(**session_values(session_id, error_type=None, max_amount=cap)))
    engine.dispose()


def test_money_columns_are_exact_after_0013_with_the_data_kept(database_before_0013: str) -> None:
    url = database_before_0013
    _capped_sessions(url)

    upgrade(url)

    engine = make_engine(url)
    with Session(engine) as db, db.begin():
        assert {row.id: row.max_amount for row in db.execute(select(SessionRow.id, SessionRow.max_amount))} == CAPS
        if engine.dialect.name == "sqlite":
            stored = db.execute(text("SELECT DISTINCT typeof(max_amount) FROM sessions")).scalars().all()
            assert set(stored) == {"integer", "null"}, "no REAL left"
        db.execute(update(SessionRow).where(SessionRow.id == "whole").values(max_amount=INVOICED_BY_THE_PROBE))
    with Session(engine) as db:
        assert db.get_one(SessionRow, "whole").max_amount == INVOICED_BY_THE_PROBE
        with pytest.raises(StatementError, match=r"1E\+14 does not fit NUMERIC\(18, 4\)"):
            db.execute(update(SessionRow).where(SessionRow.id == "whole").values(max_amount=Decimal("1e14")))
    engine.dispose()

    command.downgrade(alembic_config(url), _revision_before_0013(url))

    engine = make_engine(url)
    with engine.connect() as connection:
        caps = {row.id: row.max_amount for row in connection.execute(select(sessions.c.id, sessions.c.max_amount))}
    engine.dispose()
    del caps["whole"]  # beyond what a REAL keeps on SQLite
    assert caps == {session_id: cap for session_id, cap in CAPS.items() if session_id != "whole"}
