"""Migration 0024 on both databases: CPOs' printed address lines become structured columns where they parse
("street, postcode town"; "street, town postcode" in GB), and stay null where they do not; partners' streets
give up a plain building number; invoices get a due date and a unique payment reference. The downgrade
puts the building numbers back into the streets and removes the new columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from persistence.db import make_engine
from persistence.migrate import alembic_config, upgrade
from persistence.tables import CpoRow, DemandPartnerRow, InvoiceRow
from tests.integration.test_error_type_migration import database_at

CPO = (
    "INSERT INTO cpos (id, name, legal_entity, country_code, party_id, country, address, payout_currency, active,"
    " commands_url, outbound_token) VALUES ('{id}', 'C', 'C', '{cc}', '{party}', '{cc}', {address}, 'EUR', true,"
    " '', '')"
)
PARTNER = (
    "INSERT INTO demand_partners (id, name, legal_entity, country, street, postal_code, city, billing_currency,"
    " active, created_at) VALUES ('{id}', 'P', 'P', 'NL', {street}, '1015 CW', 'Amsterdam', 'EUR', true,"
    " '2026-06-01 00:00:00+00:00')"
)
INVOICE = (
    "INSERT INTO invoices (issuer, series, kind, status, recipient, currency, created_at, payment_reference)"
    " VALUES ('platform', 'NC', 'INVOICE', 'DRAFT', 'dp:dp-1', 'EUR', '2026-06-01 00:00:00+00:00', 'RF05NC000123')"
)
LINES = {
    "cpo-ch-vsw": ("CH", "VSW", "'Route de Meyrin 12, 1202 Genève'"),
    "cpo-gb-whf": ("GB", "WHF", "'12 Wharf Road, London N1 7GR'"),
    "cpo-de-odd": ("DE", "ODD", "'Hinterhof beim Bahnhof'"),
    "cpo-de-nul": ("DE", "NUL", "NULL"),
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0023(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0023")


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_addresses_are_parsed_once_and_invoices_get_their_payment_columns(database_at_0023: str) -> None:
    url = database_at_0023
    engine = make_engine(url)
    with engine.begin() as db:
        for cpo_id, (country, party, address) in LINES.items():
            db.execute(text(CPO.format(id=cpo_id, cc=country, party=party, address=address)))
        db.execute(text(PARTNER.format(id="dp-number", street="'Keizersgracht 100'")))
        db.execute(text(PARTNER.format(id="dp-plain", street="'Damrak'")))
    engine.dispose()

    upgrade(url, "0024")

    engine = make_engine(url)
    assert _columns(engine, "cpos") == set(CpoRow.__table__.columns.keys())
    assert _columns(engine, "demand_partners") == set(DemandPartnerRow.__table__.columns.keys())
    # 0024 adds the invoice's payment columns; later revisions add others (e-invoices, 0031).
    invoice_columns = _columns(engine, "invoices")
    assert {"due_date", "payment_reference"} <= invoice_columns <= set(InvoiceRow.__table__.columns.keys())
    with engine.begin() as db:
        cpos = {
            row.id: (row.street, row.building_number, row.postal_code, row.city, row.address)
            for row in db.execute(text("SELECT id, street, building_number, postal_code, city, address FROM cpos"))
        }
        partners = {
            street: number
            for street, number in db.execute(text("SELECT street, building_number FROM demand_partners ORDER BY id"))
        }
    assert cpos == {
        "cpo-ch-vsw": ("Route de Meyrin", "12", "1202", "Genève", "Route de Meyrin 12, 1202 Genève"),
        "cpo-gb-whf": ("Wharf Road", "12", "N1 7GR", "London", "12 Wharf Road, London N1 7GR"),
        # Not parsed: no structured address, so its payouts are refused until ops give one.
        "cpo-de-odd": (None, None, None, None, "Hinterhof beim Bahnhof"),
        "cpo-de-nul": (None, None, None, None, None),
    }
    assert partners == {"Keizersgracht": "100", "Damrak": None}
    with engine.begin() as db:
        db.execute(text(INVOICE))
    with pytest.raises(IntegrityError), engine.begin() as db:
        db.execute(text(INVOICE))  # one reference, one open item
    engine.dispose()

    command.downgrade(alembic_config(url), "0023")

    engine = make_engine(url)
    assert "building_number" not in _columns(engine, "cpos") | _columns(engine, "demand_partners")
    assert not {"due_date", "payment_reference"} & _columns(engine, "invoices")
    with engine.begin() as db:
        streets = set(db.scalars(text("SELECT street FROM demand_partners")))
    assert streets == {"Keizersgracht 100", "Damrak"}
    engine.dispose()
