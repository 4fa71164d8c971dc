"""Stage 5, the decision: the official rated price is what the demand partner pays; the CPO's own
``total_cost`` is compared with it, and a difference beyond the contract's tolerance is a discrepancy."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.tariffs.rating import Amount


@dataclass(frozen=True, slots=True)
class Comparison:
    rated: Amount
    claimed: Amount
    difference_excl_vat: Decimal  # claimed - rated
    difference_incl_vat: Decimal
    discrepancy: bool

    def describe(self, currency: str) -> str:
        return (
            f"CPO claims {self.claimed.excl_vat} / {self.claimed.incl_vat} {currency} (excl./incl. VAT), "
            f"the tariff gives {self.rated.excl_vat} / {self.rated.incl_vat}"
        )


def compare(rated: Amount, claimed: Amount, tolerance: Decimal) -> Comparison:
    """``tolerance`` is the CPO contract's (``domain.settlement.contracts.clearing_terms``)."""
    assert tolerance >= 0, "a tolerance is a distance"
    excl = claimed.excl_vat - rated.excl_vat
    incl = claimed.incl_vat - rated.incl_vat
    return Comparison(rated, claimed, excl, incl, abs(excl) > tolerance or abs(incl) > tolerance)
