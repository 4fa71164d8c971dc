"""Money rules in one place: the one rounding door, ISO 4217 minor units, and splits that add up.

Amounts are ``Decimal`` with their currency beside them; the ledger books integers in each currency's
minor units (JPY 0, EUR 2, KWD 3, from py-moneyed's ISO 4217 data). Never ``Money.round()`` (ambient
context, banker's rounding) nor ``get_amount_in_sub_unit()`` (truncates): use ``round_to``/``quantize``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from moneyed import get_currency

_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(9)}


def minor_unit_places(currency: str) -> int:
    """Decimal places of the currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    return round(math.log10(get_currency(currency.upper()).sub_unit))


def round_to(value: Decimal, places: int, mode: str = ROUND_HALF_UP) -> Decimal:
    """The rounding door: ``value`` to ``places`` decimals with ``mode`` (half-up unless a contract says)."""
    return value.quantize(_QUANTA[places], mode)  # mode positional: a keyword argument costs a third more here


def quantize(value: Decimal, currency: str, mode: str = ROUND_HALF_UP) -> Decimal:
    """``value`` rounded to the currency's minor unit."""
    return round_to(value, minor_unit_places(currency), mode)


def to_minor(value: Decimal, currency: str) -> int:
    """An amount already at minor-unit precision as an integer of minor units; refuses to round."""
    scaled = value.scaleb(minor_unit_places(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} {currency} has more precision than the currency: round it first")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_unit_places(currency))


def allocate(total_minor: int, weights: Sequence[Decimal | int]) -> list[int]:
    """Split ``total_minor`` in proportion to ``weights`` so the parts sum exactly to the whole
    (largest remainder; ties go to the earlier part, so the split is deterministic)."""
    assert weights, "allocate needs at least one weight"
    assert all(w >= 0 for w in weights), "weights are shares, never negative"
    weight_sum = sum(Decimal(w) for w in weights)
    if weight_sum == 0:
        raise ValueError("cannot allocate by weights that sum to zero")
    sign, magnitude = (-1 if total_minor < 0 else 1), abs(total_minor)
    exact = [Decimal(magnitude) * Decimal(w) / weight_sum for w in weights]
    parts = [int(share) for share in exact]  # floor: shares are non-negative
    leftover = magnitude - sum(parts)
    by_remainder = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    return [sign * part for part in parts]
