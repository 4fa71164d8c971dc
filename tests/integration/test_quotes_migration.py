"""Migration 0022 on both databases: a table of quotes, and sessions that can name the quote they started on;
the tables as the models say, and the downgrade removes both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from persistence.db import make_engine
from persistence.migrate import alembic_config, upgrade
from persistence.tables import QuoteRow, SessionRow
from tests.integration.test_error_type_migration import database_at


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0021(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0021")


def test_quotes_come_and_go_with_the_migration(database_at_0021: str) -> None:
    url = database_at_0021
    engine = make_engine(url)
    assert "quotes" not in inspect(engine).get_table_names()

    upgrade(url, "0022")

    schema = inspect(engine)
    assert {c["name"] for c in schema.get_columns("quotes")} == set(QuoteRow.__table__.columns.keys())
    session_columns = {c["name"]: c for c in schema.get_columns("sessions")}
    assert set(session_columns) == set(SessionRow.__table__.columns.keys())
    assert session_columns["quote_id"]["nullable"]
    foreign = {(fk["constrained_columns"][0], fk["referred_table"]) for fk in schema.get_foreign_keys("quotes")}
    assert foreign == {("demand_partner_id", "demand_partners"), ("tariff_key", "tariffs")}

    engine.dispose()
    command.downgrade(alembic_config(url), "0021")

    schema = inspect(engine)
    assert "quotes" not in schema.get_table_names()
    assert "quote_id" not in {c["name"] for c in schema.get_columns("sessions")}
    engine.dispose()
