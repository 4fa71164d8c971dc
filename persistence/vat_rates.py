"""The VAT rate table, read from the data file shipped with the code (``data/vat_rates.csv``)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from domain.vat.rates import VatRate, VatRateTable, parse_rate_row


@cache
def vat_rate_rows() -> tuple[VatRate, ...]:
    with resources.files("persistence").joinpath("data/vat_rates.csv").open(encoding="utf-8") as data:
        return tuple(parse_rate_row(row) for row in csv.DictReader(data))


@cache
def vat_rate_table() -> VatRateTable:
    return VatRateTable(vat_rate_rows())
