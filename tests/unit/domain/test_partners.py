"""A new partner's amounts: accepted exactly when positive, bounded and no finer than the currency's
minor unit, whatever the currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import minor_unit_places
from domain.partners import MAX_AMOUNT, FieldInvalid, PostalAddress, checked_amount, checked_currency

CURRENCIES = ("EUR", "GBP", "CHF", "JPY", "KWD")


@given(
    currency=st.sampled_from(CURRENCIES),
    amount=st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=4, allow_nan=False),
)
def test_an_amount_is_accepted_exactly_when_it_fits_the_currency(currency: str, amount: Decimal) -> None:
    fits = 0 < amount <= MAX_AMOUNT and amount == round(amount, minor_unit_places(currency))
    if fits:
        assert checked_amount("credit_limit", amount, currency) == amount
    else:
        with pytest.raises(FieldInvalid, match=r"^credit_limit: "):
            checked_amount("credit_limit", amount, currency)


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), Decimal("1e30"), Decimal("0.001")])
def test_what_is_no_amount_is_refused_with_the_field(amount: Decimal) -> None:
    with pytest.raises(FieldInvalid, match=r"^session_cap: "):
        checked_amount("session_cap", amount, "EUR")


def test_currencies_are_iso_4217_and_addresses_print_on_one_line() -> None:
    assert checked_currency("billing_currency", " chf ") == "CHF"
    with pytest.raises(FieldInvalid, match=r"^billing_currency: 'ABC' is not an ISO 4217"):
        checked_currency("billing_currency", "ABC")
    assert PostalAddress("Damrak 1", "1012 LG", "Amsterdam").line("NL") == "Damrak 1, 1012 LG Amsterdam"
    assert PostalAddress("12 Wharf Road", "N1 7GR", "London").line("GB") == "12 Wharf Road, London N1 7GR"
