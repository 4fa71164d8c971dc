"""Storing reference rates (idempotent: a publication is stored once) and reading them back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.fx.rates import FxRate, RateTable
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


def rate_table(db: Session, quotes: Iterable[str], on: date, max_age: timedelta) -> RateTable:
    """The rates that can answer for ``on`` (with a month more, so stale is told apart from missing)."""
    rows = db.scalars(
        select(FxRateRow).where(
            FxRateRow.quote.in_(list(quotes)),
            FxRateRow.as_of <= on,
            FxRateRow.as_of >= on - max_age - timedelta(days=31),
        )
    ).all()
    return RateTable(FxRate(r.base, r.quote, r.rate, r.as_of, r.source) for r in rows)


def latest_publication(db: Session) -> date | None:
    return db.scalar(select(func.max(FxRateRow.as_of)))
