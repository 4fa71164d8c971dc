"""Reference FX rates and conversion (stage 6), pure.

A rate says how many units of ``quote`` one unit of ``base`` buys (ECB style: base EUR). Rates are
looked up for a date: the latest publication on or before it (weekends and TARGET holidays have none),
cross rates go through EUR, and a rate older than the allowed age is refused as stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from domain.errors import DomainError
from domain.money import quantize

PIVOT = "EUR"
# Cross rates keep this many significant digits before the one rounding on the converted amount.
CROSS_PRECISION = Decimal("1e-10")


class FxRateMissing(DomainError):
    code = "FX_RATE_MISSING"


class FxRateStale(DomainError):
    code = "FX_RATE_STALE"


@dataclass(frozen=True, slots=True)
class FxRate:
    base: str
    quote: str
    rate: Decimal  # units of quote per unit of base
    as_of: date
    source: str

    def __post_init__(self) -> None:
        assert self.rate > 0, "a rate is positive"
        assert self.base != self.quote, "a rate converts between two currencies"


@dataclass(frozen=True, slots=True)
class Conversion:
    amount: Decimal
    currency: str
    rate: FxRate | None  # None: same currency, no conversion


class RateTable:
    """The EUR reference rates known, by quote currency and publication date."""

    def __init__(self, rates: Iterable[FxRate]) -> None:
        self._by_quote: dict[str, dict[date, FxRate]] = {}
        for rate in rates:
            assert rate.base == PIVOT, "reference rates are quoted against EUR"
            self._by_quote.setdefault(rate.quote, {})[rate.as_of] = rate

    def _eur_to(self, currency: str, on: date, max_age: timedelta) -> FxRate:
        published = self._by_quote.get(currency, {})
        candidates = [d for d in published if d <= on]
        if not candidates:
            raise FxRateMissing(f"no EUR/{currency} reference rate on or before {on.isoformat()}")
        latest = published[max(candidates)]
        if on - latest.as_of > max_age:
            raise FxRateStale(
                f"EUR/{currency} rate of {latest.as_of.isoformat()} is older than {max_age.days} days "
                f"on {on.isoformat()}"
            )
        return latest

    def rate(self, base: str, quote: str, on: date, max_age: timedelta = timedelta(days=5)) -> FxRate:
        """The reference rate ``base``→``quote`` for ``on``, through EUR when neither is EUR."""
        if base == quote:
            raise ValueError("no rate is needed within one currency")
        if base == PIVOT:
            return self._eur_to(quote, on, max_age)
        to_base = self._eur_to(base, on, max_age)
        if quote == PIVOT:
            return FxRate(
                base, PIVOT, (1 / to_base.rate).quantize(CROSS_PRECISION, ROUND_HALF_UP), to_base.as_of, to_base.source
            )
        to_quote = self._eur_to(quote, on, max_age)
        cross = (to_quote.rate / to_base.rate).quantize(CROSS_PRECISION, ROUND_HALF_UP)
        return FxRate(base, quote, cross, min(to_base.as_of, to_quote.as_of), f"{to_base.source} (cross via EUR)")


def convert(amount: Decimal, currency: str, into: str, rate: FxRate | None) -> Conversion:
    """``amount`` in ``currency`` expressed in ``into``, rounded once to ``into``'s minor unit."""
    if currency == into:
        return Conversion(amount, into, None)
    assert rate is not None
    assert (rate.base, rate.quote) == (currency, into), "the rate must convert from currency into target"
    return Conversion(quantize(amount * rate.rate, into), into, rate)
