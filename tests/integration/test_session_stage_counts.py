"""The session counts per stage the metrics read are kept by the database (migration 0032), on SQLite and
PostgreSQL: they follow inserts, stage moves, needs-attention flags and deletes, ORM or plain SQL; sessions
moving at once from many connections lose no count and deadlock nowhere; the migration backfills them and
goes down and up; ``ledger check`` names a count that is wrong."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, delete, insert, inspect, update
from sqlalchemy.orm import Session, sessionmaker

from persistence.db import make_engine, make_session_factory
from persistence.ledger_check import check_ledger
from persistence.migrate import alembic_config, upgrade
from persistence.session_counts import session_count_problems, sessions_by_stage
from persistence.tables import SessionRow, SessionStageCountRow
from tests.integration.test_error_type_migration import database_at, insert_partner, schema_differences, session_values
from tests.integration.test_holds import new_session, partner_id  # noqa: F401 (a fixture)


def counts(writes: sessionmaker[Session]) -> dict[tuple[str, bool], int]:
    with writes() as db:
        return sessions_by_stage(db)


def changed(before: dict[tuple[str, bool], int], after: dict[tuple[str, bool], int]) -> dict[tuple[str, bool], int]:
    return {
        pair: after.get(pair, 0) - before.get(pair, 0)
        for pair in before.keys() | after.keys()
        if after.get(pair, 0) != before.get(pair, 0)
    }


def move(writes: sessionmaker[Session], session_id: str, **values: object) -> None:
    with writes.begin() as db:
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(**values))


def test_counts_follow_inserts_moves_flags_and_deletes(
    writes: sessionmaker[Session],
    partner_id: str,  # noqa: F811
) -> None:
    before = counts(writes)
    first, second, third = (new_session(writes, partner_id) for _ in range(3))
    assert changed(before, counts(writes)) == {("STARTING", False): 3}

    move(writes, first, stage="CHARGING")
    move(writes, second, stage="CHARGING")
    move(writes, second, stage="CHARGING")  # not a move: counted once
    move(writes, third, reason="a note")  # neither stage nor flag: nothing moves
    assert changed(before, counts(writes)) == {("STARTING", False): 1, ("CHARGING", False): 2}

    move(writes, first, needs_attention=True)
    move(writes, second, stage="CLEARED", needs_attention=True)
    assert changed(before, counts(writes)) == {
        ("STARTING", False): 1,
        ("CHARGING", True): 1,
        ("CLEARED", True): 1,
    }

    with writes.begin() as db:
        db.get_one(SessionRow, first).needs_attention = False  # through the ORM as the activities do
        db.execute(delete(SessionRow).where(SessionRow.id == third))
    assert changed(before, counts(writes)) == {("CHARGING", False): 1, ("CLEARED", True): 1}
    with writes() as db:
        assert session_count_problems(db) == []


def test_a_transaction_that_rolls_back_leaves_the_counts_as_they_were(
    writes: sessionmaker[Session],
    partner_id: str,  # noqa: F811
) -> None:
    session_id = new_session(writes, partner_id)
    before = counts(writes)
    with writes() as db:
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(stage="SETTLED"))
        db.rollback()  # the activity died before its commit
    assert counts(writes) == before


def test_sessions_moving_at_once_from_many_connections_lose_no_count(
    database_url: str,
    writes: sessionmaker[Session],
    partner_id: str,  # noqa: F811
) -> None:
    stages = ["STARTING", "CHARGING", "STOPPED", "CDR_RECEIVED", "CLEARED", "SETTLED"]
    sessions = [new_session(writes, partner_id) for _ in range(60)]
    before = counts(writes)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        engine = make_engine(database_url)
        factory = make_session_factory(engine)
        owned = sessions[seed::4]  # each session moved by one worker, each worker in its own order
        order = random.Random(seed).sample(owned, len(owned))
        try:
            for stage in stages[1:]:
                for session_id in order:
                    attention = random.Random(f"{seed}{stage}{session_id}").random() < 0.3
                    move(factory, session_id, stage=stage, needs_attention=attention)
        except BaseException as error:
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    moved = changed(before, counts(writes))
    assert moved.pop(("STARTING", False)) == -60
    assert sum(moved.values()) == 60
    assert set(moved) <= {("SETTLED", False), ("SETTLED", True)}
    with writes() as db:
        assert session_count_problems(db) == []


def test_the_counts_table_is_as_the_migration_made_it(engine: Engine) -> None:
    assert [d for d in schema_differences(engine) if "session_stage_counts" in d] == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0031(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0031")


def test_migration_0032_backfills_the_counts_and_goes_down_and_up(database_at_0031: str) -> None:
    url = database_at_0031
    engine = make_engine(url)
    with engine.begin() as db:
        insert_partner(db)
        pairs = [("SETTLED", False)] * 3 + [("CLEARED", True), ("CHARGING", False)]
        for n, (stage, attention) in enumerate(pairs):
            db.execute(insert(SessionRow).values(session_values(f"s-{n}", stage=stage, needs_attention=attention)))
    engine.dispose()

    upgrade(url, "0032")

    engine = make_engine(url)
    writes = make_session_factory(engine)
    assert counts(writes) == {("SETTLED", False): 3, ("CLEARED", True): 1, ("CHARGING", False): 1}
    move(writes, "s-4", stage="SETTLED")
    assert counts(writes) == {("SETTLED", False): 4, ("CLEARED", True): 1}
    engine.dispose()
    command.downgrade(alembic_config(url), "0031")
    engine = make_engine(url)
    assert "session_stage_counts" not in inspect(engine).get_table_names()
    with engine.begin() as db:  # no trigger is left behind to write into a table that is gone
        db.execute(update(SessionRow).where(SessionRow.id == "s-3").values(stage="SETTLED"))
    engine.dispose()
    upgrade(url, "0032")
    engine = make_engine(url)
    assert counts(make_session_factory(engine)) == {("SETTLED", False): 4, ("SETTLED", True): 1}
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A database of its own: the test corrupts it."""
    for url in database_at(request.param, tmp_path, "head"):
        engine = make_engine(url)
        yield make_session_factory(engine)
        engine.dispose()


def test_ledger_check_names_a_count_that_is_wrong(own_database: sessionmaker[Session]) -> None:
    with own_database.begin() as db:
        insert_partner(db.connection())
        db.execute(insert(SessionRow).values(session_values("s-1", stage="SETTLED")))
        db.execute(update(SessionStageCountRow).values(sessions=SessionStageCountRow.sessions + 1))
    with own_database() as db:
        problems = check_ledger(db).problems
    assert "SETTLED: 2 sessions counted as kept, 1 in the sessions" in problems
