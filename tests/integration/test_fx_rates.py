"""ECB reference rates: both file formats, the embedded history, stored once, looked up by date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from adapters.fx_ecb import EMBEDDED_SOURCE, embedded_history, parse_csv, parse_xml
from domain.fx.rates import FxRateStale
from persistence.fx import rate_table, store_rates

DAILY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <Cube><Cube time="2026-11-20"><Cube currency="USD" rate="1.0841"/><Cube currency="CHF" rate="0.9312"/>
  <Cube currency="GBP" rate="0.8795"/></Cube></Cube>
</gesmes:Envelope>"""
DAILY_CSV = "Date, USD, JPY, GBP, CHF, \n20 November 2026, 1.0841, 178.42, 0.8795, 0.9312, \n"


def test_the_daily_xml_and_csv_read_alike() -> None:
    from_xml = {(r.quote, r.as_of, r.rate) for r in parse_xml(DAILY_XML)}
    from_csv = {(r.quote, r.as_of, r.rate) for r in parse_csv(DAILY_CSV)}
    assert ("CHF", date(2026, 11, 20), Decimal("0.9312")) in from_xml
    assert from_xml <= from_csv
    assert all(r.base == "EUR" for r in parse_xml(DAILY_XML))


def test_the_embedded_history_needs_no_network() -> None:
    rates = {(r.quote, r.as_of): r for r in embedded_history()}
    assert rates[("CHF", date(2026, 10, 30))].rate == Decimal("0.9194")
    assert rates[("GBP", date(2026, 10, 30))].source == EMBEDDED_SOURCE
    assert ("CYP", date(2026, 10, 30)) not in rates  # "N/A": no longer quoted


def test_rates_are_stored_once_and_answer_by_date(writes: sessionmaker[Session]) -> None:
    with writes.begin() as db:
        assert store_rates(db, parse_xml(DAILY_XML)) == 3
    with writes.begin() as db:
        assert store_rates(db, parse_xml(DAILY_XML)) == 0
    sunday = date(2026, 11, 22)
    with writes() as db:
        table = rate_table(db, ["CHF", "GBP"], sunday)
    rate = table.rate("CHF", "GBP", sunday)
    assert rate.as_of == date(2026, 11, 20)
    assert rate.rate == (Decimal("0.8795") / Decimal("0.9312")).quantize(Decimal("1e-10"))
    with writes() as db:
        late = rate_table(db, ["CHF"], sunday + timedelta(days=20))
    with pytest.raises(FxRateStale):
        late.rate("EUR", "CHF", sunday + timedelta(days=20))
