"""The shipped VAT table checked against ``eu-vat-rates-data``, a dated package of the European Commission's
current rates (TEDB; CH, NO and GB kept by hand): a change the table misses fails here, not on an invoice.

The package holds the rates in force on its ``data_version`` day only, so that is the day compared; a new
package version moves it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import eu_vat_rates_data
from stdnum.eu.vat import MEMBER_STATES

from domain.vat.rates import VatCategory, VatRateMissing
from persistence.vat_rates import vat_rate_rows, vat_rate_table

PACKAGE_DAY = date.fromisoformat(eu_vat_rates_data.data_version)
PACKAGE = {
    country: rates
    for country, rates in eu_vat_rates_data.get_all_rates().items()
    if rates["eu_member"] or country in {"CH", "NO", "GB"}
}


def percents(values: list[float]) -> set[Decimal]:
    return {Decimal(str(value)) for value in values}


def test_the_package_covers_the_eu_switzerland_norway_and_the_uk() -> None:
    eu = {"GR" if cc == "el" else cc.upper() for cc in MEMBER_STATES if cc != "xi"}
    assert set(PACKAGE) == eu | {"CH", "NO", "GB"}


def test_every_standard_rate_is_the_package_s() -> None:
    table = vat_rate_table()
    disagreeing = {
        country: (table.rate(country, PACKAGE_DAY).percent, rates["standard"])
        for country, rates in PACKAGE.items()
        if table.rate(country, PACKAGE_DAY).percent != Decimal(str(rates["standard"]))
    }
    assert disagreeing == {}, f"standard rates on {PACKAGE_DAY} (table, package): {disagreeing}"


def test_every_reduced_rate_is_one_the_package_lists() -> None:
    """Our reduced rate is one rate (the highest the national source lists for the mainland), the package
    lists all of them, regional ones included; a country has one exactly when the package lists any."""
    table = vat_rate_table()
    disagreeing = {}
    for country, rates in PACKAGE.items():
        try:
            ours: Decimal | None = table.rate(country, PACKAGE_DAY, VatCategory.REDUCED).percent
        except VatRateMissing:
            ours = None
        listed = percents(rates["reduced"])
        if (ours is None and listed) or (ours is not None and ours not in listed):
            disagreeing[country] = (ours, sorted(listed))
    assert disagreeing == {}, f"reduced rates on {PACKAGE_DAY} (table, package): {disagreeing}"


def test_every_electricity_rate_is_a_reduced_rate_the_package_lists() -> None:
    table = vat_rate_table()
    countries = {r.country for r in vat_rate_rows() if r.category == VatCategory.ELECTRICITY}
    assert countries <= set(PACKAGE)
    for country in countries:
        rates = PACKAGE[country]
        reduced = percents(rates["reduced"]) | percents(
            [] if rates["super_reduced"] is None else [rates["super_reduced"]]
        )
        rate = table.electricity_rate(country, PACKAGE_DAY)
        assert rate.category == VatCategory.ELECTRICITY
        assert rate.percent in reduced, f"{country}: electricity {rate.percent} % is not among {sorted(reduced)}"
