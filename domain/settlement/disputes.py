"""The price a dispute decision settles a session at, checked before anything is reversed.

* REJECT: the official price stands (it was rated by us, so it needs no bound).
* ACCEPT: the CPO's claim; refused when it is negative or above the contract's maximum claim.
* ADJUST: an agreed amount; positive, at most the currency's minor unit, at most the maximum claim.

A refusal names the field it is about (``amount`` as asked for, or the ``claimed`` price on record), so an
operator knows what to change; nothing has been booked when it is raised.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from domain.errors import DomainError
from domain.money import minor_unit_places


class Decision(StrEnum):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    ADJUST = "ADJUST"


class DisputedPriceRefused(DomainError):
    code = "DISPUTED_PRICE_REFUSED"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field} {detail}")
        self.field = field


def agreed_price(
    decision: Decision,
    *,
    official: Decimal,
    claimed: Decimal,
    amount: Decimal | None,
    currency: str,
    maximum_claim: Decimal,
) -> Decimal:
    """The price (excluding VAT, tariff currency) the decision settles the session at."""
    if decision == Decision.REJECT:
        return official
    if decision == Decision.ACCEPT:
        if not claimed.is_finite():
            raise DisputedPriceRefused("claimed", f"is not a number ({claimed} {currency}): it cannot be accepted")
        if claimed < 0:
            raise DisputedPriceRefused("claimed", f"is negative ({claimed} {currency}): it cannot be accepted")
        _within_maximum("claimed", claimed, currency, maximum_claim)
        return claimed
    assert amount is not None, "ADJUST carries its amount"
    if not amount.is_finite() or amount <= 0:
        raise DisputedPriceRefused("amount", f"must be a positive amount, not {amount}")
    _within_maximum("amount", amount, currency, maximum_claim)
    places = minor_unit_places(currency)
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int), "a finite amount has a numeric exponent"
    if exponent < -places:
        raise DisputedPriceRefused("amount", f"has more decimals than {currency} allows ({places}): {amount}")
    return amount


def _within_maximum(field: str, price: Decimal, currency: str, maximum_claim: Decimal) -> None:
    if price > maximum_claim:
        raise DisputedPriceRefused(
            field, f"{price} {currency} is above the contract's maximum claim of {maximum_claim} {currency}"
        )
