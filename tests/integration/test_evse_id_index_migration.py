"""Migration 0021 on both databases: the EVSE-id lookup of every authorisation is served by a unique index
on upper(evse_id), which also refuses one id in two spellings; the downgrade removes only that index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from persistence.db import make_engine
from persistence.migrate import alembic_config, upgrade
from tests.integration.test_error_type_migration import database_at

ROWS = (
    "INSERT INTO cpos (id, name, legal_entity, country_code, party_id, country, payout_currency, active,"
    " commands_url, outbound_token) VALUES ('cpo-1', 'C', 'C', 'DE', 'STN', 'DE', 'EUR', true, '', '')",
    "INSERT INTO locations (cpo_id, location_id, country_code, party_id, name, address, city, postal_code,"
    " country, latitude, longitude, time_zone, publish, last_updated, body) VALUES ('cpo-1', 'BER', 'DE',"
    " 'STN', 'Alex', 'Street 1', 'Berlin', '10178', 'DE', '52.52', '13.41', 'Europe/Berlin', true,"
    " '2026-01-01 00:00:00+00:00', '{}')",
    "INSERT INTO evses (location_key, evse_uid, evse_id, status, last_updated, body)"
    " VALUES ((SELECT key FROM locations), 'BER-1', 'DE*STN*E1', 'AVAILABLE', '2026-01-01 00:00:00+00:00', '{}')",
)
SAME_ID_LOWER_CASE = (
    "INSERT INTO evses (location_key, evse_uid, evse_id, status, last_updated, body)"
    " VALUES ((SELECT key FROM locations), 'BER-2', 'de*stn*e1', 'AVAILABLE', '2026-01-01 00:00:00+00:00', '{}')"
)
LOOKUP = "SELECT key FROM evses WHERE upper(evse_id) = 'DE*STN*E1'"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0020(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0020")


def _plan(db: Connection) -> str:
    if db.dialect.name == "sqlite":
        return " ".join(str(row[-1]) for row in db.execute(text(f"EXPLAIN QUERY PLAN {LOOKUP}")))
    db.execute(text("SET LOCAL enable_seqscan = off"))  # three rows: make the planner show what it can use
    return " ".join(str(row[0]) for row in db.execute(text(f"EXPLAIN {LOOKUP}")))


def test_the_evse_id_lookup_uses_the_index_and_one_id_has_one_spelling(database_at_0020: str) -> None:
    url = database_at_0020
    engine = make_engine(url)
    with engine.begin() as db:
        for statement in ROWS:
            db.execute(text(statement))
        assert "uq_evses_ci_evse_id" not in _plan(db)
    engine.dispose()  # a pooled SQLite connection keeps the plans it made before the index

    upgrade(url, "0021")

    with engine.begin() as db:
        assert "uq_evses_ci_evse_id" in _plan(db)
    with pytest.raises(IntegrityError), engine.begin() as db:
        db.execute(text(SAME_ID_LOWER_CASE))

    engine.dispose()
    command.downgrade(alembic_config(url), "0020")

    with engine.begin() as db:
        assert "uq_evses_ci_evse_id" not in _plan(db)
        db.execute(text(SAME_ID_LOWER_CASE))
    engine.dispose()
