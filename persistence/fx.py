"""Storing reference rates (idempotent: a publication is stored once) and reading them back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.fx.rates import PIVOT, FxRate, RateTable
from persistence.tables import FxRateRow

BATCH = 5000


def store_rates(db: Session, rates: Iterable[FxRate]) -> int:
    """Store rates not yet held; returns how many were new. A published rate is never overwritten."""
    held = {(r.base, r.quote, r.as_of) for r in db.execute(select(FxRateRow.base, FxRateRow.quote, FxRateRow.as_of))}
    new = [
        FxRateRow(base=r.base, quote=r.quote, as_of=r.as_of, rate=r.rate, source=r.source)
        for r in rates
        if (r.base, r.quote, r.as_of) not in held
    ]
    for start in range(0, len(new), BATCH):
        db.add_all(new[start : start + BATCH])
        db.flush()
    return len(new)


def rate_table(db: Session, quotes: Iterable[str], on: date) -> RateTable:
    """The rates that answer for ``on``: each currency's latest publication on or before it, however old
    (whether it is too old is the domain's call: stale is told apart from missing)."""
    latest = []
    for quote in set(quotes):
        row = db.scalars(
            select(FxRateRow)
            .where(FxRateRow.base == PIVOT, FxRateRow.quote == quote, FxRateRow.as_of <= on)
            .order_by(FxRateRow.as_of.desc())
            .limit(1)
        ).first()
        if row is not None:
            latest.append(FxRate(row.base, row.quote, row.rate, row.as_of, row.source))
    return RateTable(latest)


def latest_publication(db: Session) -> date | None:
    return db.scalar(select(func.max(FxRateRow.as_of)))
