"""The price a dispute decision settles at (``domain.settlement.disputes``): what it may be, and that any
price it lets through is one the books can hold."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import minor_unit_places
from domain.settlement.contracts import DEFAULT_MAXIMUM_CLAIM, ContractTermsInvalid, clearing_terms
from domain.settlement.disputes import Decision, DisputedPriceRefused, agreed_price

OFFICIAL, CLAIMED, MAXIMUM = Decimal("10.0000"), Decimal("11.0000"), Decimal("100.00")


def price(
    decision: Decision, *, claimed: Decimal = CLAIMED, amount: Decimal | None = None, currency: str = "EUR"
) -> Decimal:
    return agreed_price(
        decision, official=OFFICIAL, claimed=claimed, amount=amount, currency=currency, maximum_claim=MAXIMUM
    )


def test_each_decision_settles_at_its_price() -> None:
    assert price(Decision.REJECT) == OFFICIAL
    assert price(Decision.ACCEPT) == CLAIMED
    assert price(Decision.ADJUST, amount=Decimal("10.50")) == Decimal("10.50")
    assert price(Decision.ADJUST, amount=MAXIMUM) == MAXIMUM
    assert price(Decision.ADJUST, amount=Decimal("50"), currency="JPY") == Decimal("50")
    assert price(Decision.ADJUST, amount=Decimal("10.125"), currency="KWD") == Decimal("10.125")


@pytest.mark.parametrize(
    ("decision", "claimed", "amount", "refusal"),
    [
        (Decision.ADJUST, CLAIMED, Decimal("0"), "amount must be a positive amount, not 0"),
        (Decision.ADJUST, CLAIMED, Decimal("-1"), "amount must be a positive amount, not -1"),
        (Decision.ADJUST, CLAIMED, Decimal("NaN"), "amount must be a positive amount, not NaN"),
        (Decision.ADJUST, CLAIMED, Decimal("Infinity"), "amount must be a positive amount, not Infinity"),
        (Decision.ADJUST, CLAIMED, Decimal("10.001"), "amount has more decimals than EUR allows (2): 10.001"),
        (
            Decision.ADJUST,
            CLAIMED,
            Decimal("100000000000000000000"),
            "amount 100000000000000000000 EUR is above the contract's maximum claim of 100.00 EUR",
        ),
        (Decision.ADJUST, CLAIMED, Decimal("1e30"), "amount 1E+30 EUR is above the contract's maximum claim"),
        (Decision.ACCEPT, Decimal("-0.01"), None, "claimed is negative (-0.01 EUR): it cannot be accepted"),
        (Decision.ACCEPT, Decimal("NaN"), None, "claimed is not a number (NaN EUR): it cannot be accepted"),
        (Decision.ACCEPT, Decimal("1e12"), None, "claimed 1E+12 EUR is above the contract's maximum claim"),
    ],
)
def test_a_price_out_of_bounds_is_refused_naming_its_field(
    decision: Decision, claimed: Decimal, amount: Decimal | None, refusal: str
) -> None:
    with pytest.raises(DisputedPriceRefused, match=re.escape(refusal)) as refused:
        price(decision, claimed=claimed, amount=amount)
    assert refused.value.field == refusal.split()[0]


def test_the_maximum_claim_comes_from_the_cpo_contract_or_the_default() -> None:
    assert clearing_terms({}).maximum_claim == DEFAULT_MAXIMUM_CLAIM == Decimal("1000.00")
    assert clearing_terms({"maximum_claim": "250.00"}).maximum_claim == Decimal("250.00")
    for bad in ("0", "-1", 12.5, "lots"):
        with pytest.raises(ContractTermsInvalid, match=r"maximum_claim"):
            clearing_terms({"maximum_claim": bad})


@given(
    decision=st.sampled_from(Decision),
    claimed=st.decimals(allow_nan=True, allow_infinity=True),
    amount=st.decimals(allow_nan=True, allow_infinity=True),
    currency=st.sampled_from(["EUR", "JPY", "KWD", "CHF"]),
)
def test_a_price_let_through_is_official_or_within_zero_and_the_maximum_at_the_minor_unit(
    decision: Decision, claimed: Decimal, amount: Decimal, currency: str
) -> None:
    refused_field = None
    try:
        agreed = agreed_price(
            decision,
            official=OFFICIAL,
            claimed=claimed,
            amount=amount if decision == Decision.ADJUST else None,
            currency=currency,
            maximum_claim=MAXIMUM,
        )
    except DisputedPriceRefused as refused:
        refused_field = refused.field
    if refused_field is not None:
        assert refused_field == ("amount" if decision == Decision.ADJUST else "claimed")
        return
    if decision == Decision.REJECT:
        assert agreed == OFFICIAL
        return
    assert agreed.is_finite()
    assert 0 <= agreed <= MAXIMUM
    if decision == Decision.ADJUST:
        assert agreed > 0
        assert agreed == round(agreed, minor_unit_places(currency))
