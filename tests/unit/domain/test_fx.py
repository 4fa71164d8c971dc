"""Reference rates: previous publication on days without one, cross rates via EUR, staleness, and
conversion that round-trips within one minor unit per conversion."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.fx.rates import FxRate, FxRateMissing, FxRateStale, RateTable, convert
from domain.money import minor_unit_places

FRIDAY = date(2026, 11, 20)
ECB = "ECB euro foreign exchange reference rates"
TABLE = RateTable(
    [
        FxRate("EUR", "CHF", Decimal("0.9312"), FRIDAY, ECB),
        FxRate("EUR", "GBP", Decimal("0.8795"), FRIDAY, ECB),
        FxRate("EUR", "JPY", Decimal("178.42"), FRIDAY, ECB),
        FxRate("EUR", "CHF", Decimal("0.9301"), FRIDAY - timedelta(days=1), ECB),
    ]
)


def test_a_weekend_uses_the_previous_publication() -> None:
    sunday = FRIDAY + timedelta(days=2)
    rate = TABLE.rate("EUR", "CHF", sunday)
    assert (rate.rate, rate.as_of) == (Decimal("0.9312"), FRIDAY)
    assert TABLE.rate("EUR", "CHF", FRIDAY - timedelta(days=1)).rate == Decimal("0.9301")


def test_cross_rates_go_through_eur() -> None:
    rate = TABLE.rate("CHF", "GBP", FRIDAY)
    assert rate.rate == (Decimal("0.8795") / Decimal("0.9312")).quantize(Decimal("1e-10"))
    assert "cross via EUR" in rate.source
    assert TABLE.rate("GBP", "EUR", FRIDAY).rate == (1 / Decimal("0.8795")).quantize(Decimal("1e-10"))


def test_missing_and_stale_rates_are_refused() -> None:
    with pytest.raises(FxRateMissing, match="USD"):
        TABLE.rate("EUR", "USD", FRIDAY)
    with pytest.raises(FxRateStale, match="older than 5 days"):
        TABLE.rate("EUR", "CHF", FRIDAY + timedelta(days=10))


def test_same_currency_is_no_conversion() -> None:
    assert convert(Decimal("12.34"), "EUR", "EUR", None).rate is None


def test_conversion_rounds_once_to_the_target_minor_unit() -> None:
    result = convert(Decimal("100.00"), "CHF", "GBP", TABLE.rate("CHF", "GBP", FRIDAY))
    assert result.amount == Decimal("94.45")
    assert convert(Decimal("10.00"), "EUR", "JPY", TABLE.rate("EUR", "JPY", FRIDAY)).amount == Decimal("1784")


@given(
    st.decimals(min_value=1, max_value=10**7, places=2),
    st.sampled_from(["CHF", "GBP", "EUR"]),
    st.sampled_from(["CHF", "GBP", "EUR"]),
)
def test_converting_and_back_stays_within_one_minor_unit_per_conversion(amount: Decimal, a: str, b: str) -> None:
    if a == b:
        return
    there = convert(amount, a, b, TABLE.rate(a, b, FRIDAY))
    back = convert(there.amount, b, a, TABLE.rate(b, a, FRIDAY))
    # At most one minor unit lost per conversion.
    assert abs(back.amount - amount) <= 2 * Decimal(1).scaleb(-minor_unit_places(a))
