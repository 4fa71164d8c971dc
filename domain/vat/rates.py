"""Effective-dated VAT rates, kept as data (``persistence/data/vat_rates.csv``) with their source and date.

A rate change is a new row with a later ``valid_from``; the rate in force on a day is the row with the
latest ``valid_from`` on or before it. Categories are the standard rate, the reduced rate (the highest
reduced rate the source lists) and the electricity rate. EV charging is a supply of electricity (CJEU
C-282/22), and some countries tax electricity below the standard rate (Ireland, Greece, ...): their
electricity rows start on the day the national source applies that rate to EV charging, and
``VatRateTable.electricity_rate`` falls back to the standard rate where a country has no electricity rate
on the day. Rows a tax adviser has yet to confirm say so in their source.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from domain.errors import DomainError
from domain.vat.parties import country_name


class VatRateMissing(DomainError):
    code = "VAT_RATE_MISSING"


class VatRateTableInvalid(DomainError):
    code = "VAT_RATE_TABLE_INVALID"


class VatCategory(StrEnum):
    STANDARD = "STANDARD"
    REDUCED = "REDUCED"
    ELECTRICITY = "ELECTRICITY"  # the supply of electricity, EV charging included


@dataclass(frozen=True, slots=True)
class VatRate:
    country: str
    category: VatCategory
    percent: Decimal
    valid_from: date
    source: str
    source_date: date


def parse_rate_row(row: Mapping[str, str]) -> VatRate:
    """One row of the rate table, checked: a known country, a category, a percentage in [0, 100)."""
    where = f"VAT rate row {dict(row)}"
    try:
        country = row["country"].strip().upper()
        country_name(country)
        percent = Decimal(row["rate"])
        rate = VatRate(
            country=country,
            category=VatCategory(row["category"].strip()),
            percent=percent,
            valid_from=date.fromisoformat(row["valid_from"]),
            source=row["source"].strip(),
            source_date=date.fromisoformat(row["source_date"]),
        )
    except (KeyError, ValueError, InvalidOperation, DomainError) as error:
        raise VatRateTableInvalid(f"{where}: {error}") from error
    if not percent.is_finite() or not Decimal(0) <= percent < 100 or not rate.source:
        raise VatRateTableInvalid(f"{where}: a rate is a percentage in [0, 100) with a source")
    return rate


class VatRateTable:
    """The rates in force by country, category and day."""

    def __init__(self, rates: Iterable[VatRate]) -> None:
        by_key: dict[tuple[str, VatCategory], list[VatRate]] = {}
        for rate in rates:
            by_key.setdefault((rate.country, rate.category), []).append(rate)
        for key, rows in by_key.items():
            rows.sort(key=lambda r: r.valid_from)
            days = [r.valid_from for r in rows]
            if len(set(days)) != len(days):
                raise VatRateTableInvalid(f"two {key[1]} rates for {key[0]} start on the same day")
        self._rates = by_key
        self._days = {key: [r.valid_from for r in rows] for key, rows in by_key.items()}

    def covers(self, country: str) -> bool:
        """Whether the country is in our VAT area (EU, CH, NO, GB) at all."""
        return (country.upper(), VatCategory.STANDARD) in self._rates

    def rate(self, country: str, on: date, category: VatCategory = VatCategory.STANDARD) -> VatRate:
        key = (country.upper(), category)
        rows = self._rates.get(key)
        if rows is None:
            raise VatRateMissing(f"no {category} VAT rate for {country} in the rate table")
        rate = self._in_force(key, on)
        if rate is None:
            raise VatRateMissing(f"no {category} VAT rate for {country} on {on}: the table starts {rows[0].valid_from}")
        return rate

    def electricity_rate(self, country: str, on: date) -> VatRate:
        """The rate of a supply of electricity (EV charging): the country's electricity rate in force on the
        day, else its standard rate."""
        electricity = self._in_force((country.upper(), VatCategory.ELECTRICITY), on)
        return electricity or self.rate(country, on, VatCategory.STANDARD)

    def _in_force(self, key: tuple[str, VatCategory], on: date) -> VatRate | None:
        index = bisect.bisect_right(self._days.get(key, []), on) - 1
        return self._rates[key][index] if index >= 0 else None
