"""Migration 0017 and ``persistence.tables.Amount`` for rates, on both databases: FX rates kept as REAL on
SQLite before are exact after, to the tenth decimal; the downgrade gives them back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Numeric, column, select, table, text, update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from persistence.db import make_engine
from persistence.migrate import alembic_config, upgrade
from persistence.tables import FxRateRow
from tests.integration.test_error_type_migration import database_at

RATES = {  # quote -> rate, against EUR
    "CHF": Decimal("0.9315"),
    "JPY": Decimal("156.42"),
    "GBP": Decimal("0.8594300000"),
    "HUF": Decimal("2"),  # a whole rate is stored as an INTEGER even as REAL
}
# 16 significant digits, the tenth decimal included: a REAL keeps 15 of them.
INVERSE_OF_A_PUBLISHED_RATE = Decimal("123456.1234567891")

# fx_rates as the revision before 0017 has it, with the rate typed as it was then.
fx_rates = table(
    "fx_rates", column("base"), column("quote"), column("as_of"), column("rate", Numeric(24, 10)), column("source")
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0016(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0016")


def test_rates_are_exact_after_0017_with_the_data_kept(database_at_0016: str) -> None:
    url = database_at_0016
    engine = make_engine(url)
    with engine.begin() as connection:
        for quote, rate in RATES.items():
            connection.execute(
                fx_rates.insert().values(base="EUR", quote=quote, as_of=date(2026, 12, 1), rate=rate, source="t")
            )
    engine.dispose()

    upgrade(url)

    engine = make_engine(url)
    with Session(engine) as db, db.begin():
        assert {row.quote: row.rate for row in db.scalars(select(FxRateRow))} == RATES
        if engine.dialect.name == "sqlite":
            stored = db.execute(text("SELECT DISTINCT typeof(rate) FROM fx_rates")).scalars().all()
            assert stored == ["integer"], "no REAL left"
        db.execute(update(FxRateRow).where(FxRateRow.quote == "JPY").values(rate=INVERSE_OF_A_PUBLISHED_RATE))
    with Session(engine) as db:
        assert db.scalars(select(FxRateRow.rate).where(FxRateRow.quote == "JPY")).one() == INVERSE_OF_A_PUBLISHED_RATE
        if engine.dialect.name == "sqlite":
            with pytest.raises(StatementError, match=r"does not fit SQLite's 64-bit count of 10\^-10"):
                db.execute(update(FxRateRow).where(FxRateRow.quote == "JPY").values(rate=Decimal("1e9")))
    engine.dispose()

    command.downgrade(alembic_config(url), "0016")

    engine = make_engine(url)
    with engine.connect() as connection:
        rates = {row.quote: row.rate for row in connection.execute(select(fx_rates.c.quote, fx_rates.c.rate))}
    engine.dispose()
    del rates["JPY"]  # beyond what a REAL keeps on SQLite
    assert rates == {quote: rate for quote, rate in RATES.items() if quote != "JPY"}
