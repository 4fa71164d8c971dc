"""Migration 0019 on both databases: the seeded locations and EVSEs of before become Locations held as OCPI
objects, each EVSE with one connector carrying its tariff id, so sessions on them are rated as before; the
downgrade gives the old shape back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from persistence import repositories as repo
from persistence.db import make_engine
from persistence.locations import status_history
from persistence.migrate import alembic_config, upgrade
from persistence.tables import ConnectorRow, LocationRow
from tests.integration.test_error_type_migration import database_at

OLD_ROWS = (
    "INSERT INTO cpos (id, name, legal_entity, country_code, party_id, country, payout_currency, active,"
    " commands_url, outbound_token) VALUES ('cpo-1', 'C', 'C', 'DE', 'STN', 'DE', 'EUR', true, 'http://c', 't')",
    "INSERT INTO locations (cpo_id, location_id, name, address, city, postal_code, country, latitude, longitude,"
    " time_zone) VALUES ('cpo-1', 'BER', 'Alex', 'Street 1', 'Berlin', '10178', 'DE', '52.521918', '13.413215',"
    " 'Europe/Berlin')",
    "INSERT INTO evses (location_key, evse_uid, evse_id, connector_id, connector_standard, connector_format,"
    " power_type, max_power_kw, status, tariff_id) VALUES ((SELECT key FROM locations), 'BER-1', 'DE*STN*E1', '1',"
    " 'IEC_62196_T2_COMBO', 'CABLE', 'DC', 300, 'OUTOFORDER', 'T-1')",
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0018(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0018")


def test_each_evse_becomes_a_connector_with_its_tariff_and_back(database_at_0018: str) -> None:
    url = database_at_0018
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement))
    engine.dispose()

    # Read through today's code, so up to the head (later migrations add columns the ORM selects); the
    # downgrade below then passes through every later migration's downgrade too.
    upgrade(url)

    engine = make_engine(url)
    with Session(engine) as db, db.begin():
        charger = repo.charger_by_evse_id(db, "DE*STN*E1")
        assert charger is not None
        assert (charger.location.country_code, charger.location.party_id) == ("DE", "STN")
        # A Charger carries no OCPI bodies (repositories.charger_by_evse_id): read the stored objects.
        assert (
            db.scalars(select(LocationRow.body).where(LocationRow.key == charger.location.key)).one()["country"]
            == "DEU"
        )
        assert charger.location.time_zone == "Europe/Berlin"
        assert charger.evse.status == "OUTOFORDER"
        [connector] = charger.connectors
        assert (connector.connector_id, connector.tariff_ids, connector.max_electric_power) == ("1", ["T-1"], 300000)
        assert db.scalars(select(ConnectorRow.body).where(ConnectorRow.key == connector.key)).one()["tariff_ids"] == [
            "T-1"
        ]
        assert [row.status for row in status_history(db, charger.evse)] == ["OUTOFORDER"]
    engine.dispose()

    command.downgrade(alembic_config(url), "0018")

    engine = make_engine(url)
    with engine.connect() as connection:
        old = connection.execute(text("SELECT evse_id, tariff_id, max_power_kw, status FROM evses")).one()
        assert (old.evse_id, old.tariff_id, int(old.max_power_kw), old.status) == (
            "DE*STN*E1",
            "T-1",
            300,
            "OUTOFORDER",
        )
    engine.dispose()
