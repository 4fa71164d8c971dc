"""Migration 0015 on both databases: a superseded decision must point at its dispute; the downgrade drops
the table and the upgrade makes it again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from persistence.db import make_engine, make_session_factory
from persistence.migrate import alembic_config, upgrade
from persistence.tables import SupersededDecisionRow
from tests.conftest import _fresh_postgres

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own (this test downgrades it), per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'networkcore.db'}"
    else:
        yield from _fresh_postgres()


def superseded(dispute_key: int) -> SupersededDecisionRow:
    return SupersededDecisionRow(
        dispute_key=dispute_key,
        decision="ACCEPT",
        agreed_excl_vat=Decimal("12.50"),
        note=None,
        decided_by="ops-a",
        decided_at=NOW,
        superseded_by="ops-b",
        superseded_at=NOW,
    )


def test_a_superseded_decision_needs_its_dispute_and_the_downgrade_drops_the_table(empty_database: str) -> None:
    upgrade(empty_database)
    engine = make_engine(empty_database)
    writes = make_session_factory(engine)
    with pytest.raises(IntegrityError), writes.begin() as db:
        db.add(superseded(dispute_key=404))  # no such dispute
    engine.dispose()

    command.downgrade(alembic_config(empty_database), "0014")
    engine = make_engine(empty_database)
    assert "superseded_decisions" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(empty_database)
    engine = make_engine(empty_database)
    assert {c["name"] for c in inspect(engine).get_columns("superseded_decisions")} >= {"dispute_key", "superseded_by"}
    with make_session_factory(engine)() as db:
        assert db.scalars(select(SupersededDecisionRow)).all() == []
    engine.dispose()
