"""`partners cpo-terms --payout-funding/--exposure-limit`: the contract's payout_funding as ops change it,
checked before anything is written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.partners import FieldInvalid
from services.cpo_onboarding import CpoTerms

CONTRACT = {"commission": {"percent": "8"}, "payout": {"schedule": "WEEKLY"}}


def test_funding_is_set_changed_and_limited_in_the_payout_currency() -> None:
    paid = CpoTerms(payout_funding="PAY_WHEN_PAID").applied_to(CONTRACT, "EUR")
    assert paid == CONTRACT | {"payout_funding": {"mode": "PAY_WHEN_PAID"}}
    limited = CpoTerms(payout_funding="GUARANTEED", exposure_limit=Decimal("20000.00")).applied_to(paid, "CHF")
    assert limited["payout_funding"] == {"mode": "GUARANTEED", "exposure_limit": {"CHF": "20000.00"}}
    # A new limit keeps the mode; a new mode drops the old limit; other terms are left alone.
    assert CpoTerms(exposure_limit=Decimal("5000")).applied_to(limited, "CHF")["payout_funding"] == {
        "mode": "GUARANTEED",
        "exposure_limit": {"CHF": "5000"},
    }
    back = CpoTerms(payout_funding="PAY_WHEN_PAID").applied_to(limited, "CHF")
    assert back["payout_funding"] == {"mode": "PAY_WHEN_PAID"}
    assert CpoTerms(commission_percent=Decimal(9)).applied_to(back, "CHF")["payout_funding"] == {
        "mode": "PAY_WHEN_PAID"
    }
    assert "payout_funding" not in CpoTerms(commission_percent=Decimal(9)).applied_to(CONTRACT, "EUR")


def test_a_limit_on_pay_when_paid_is_refused_with_the_field_named() -> None:
    with pytest.raises(FieldInvalid, match="bounds GUARANTEED payouts only") as refused:
        CpoTerms(payout_funding="PAY_WHEN_PAID", exposure_limit=Decimal(100)).applied_to(CONTRACT, "EUR")
    assert refused.value.field == "payout_funding"
