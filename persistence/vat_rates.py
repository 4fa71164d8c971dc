"""The VAT rate table, read from the data file shipped with the code (``data/vat_rates.csv``)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from domain.vat.rates import VatRateTable, parse_rate_row


@cache
def vat_rate_table() -> VatRateTable:
    with resources.files("persistence").joinpath("data/vat_rates.csv").open(encoding="utf-8") as data:
        return VatRateTable(parse_rate_row(row) for row in csv.DictReader(data))
