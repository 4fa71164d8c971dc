"""Which VAT a leg of the chain carries: decided by where the charger is, the contract's settlement model
and the parties' status, never by the customer's country alone (``settlement.md`` §3.4-§3.5).

Rules, in order, for one supply of electricity from ``supplier`` to ``customer``:

1. Place of supply: where the charger is (Art. 39; the VAT Committee's 2019 guideline), unless the customer
   is a *taxable dealer* (Art. 38: its main activity is reselling electricity; a contract attribute) with
   a valid VAT id, then where the customer is established.
2. A place outside the rate table's VAT area (EU, CH, NO, GB) is out of scope.
3. A supplier established in the place charges that country's VAT, at its electricity rate where it has
   one on the day, else at its standard rate (``VatRateTable.electricity_rate``).
4. A supplier not established there, selling to a business identified there, does not: the customer
   accounts for it (reverse charge: Art. 194-196; Swiss Bezugsteuer, Art. 45 MWSTG).
5. A supplier not established there but registered there charges the country's VAT under that registration.
6. Otherwise nobody could lawfully invoice the supply: refused (``VAT_REGISTRATION_MISSING``).

A service between businesses (the demand partner's service to the platform, paid by its revenue share;
``docs/revenue-share.md``) is supplied where the customer is established (Art. 44) and, under rules 2 to 6,
carries that country's standard rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from domain.errors import DomainError
from domain.invoicing.payment import DEFAULT_PAYMENT_TERMS_DAYS
from domain.payouts.bank import BankAccount
from domain.vat.parties import VatIdInvalid, validate_vat_id
from domain.vat.rates import VatRate, VatRateTable

if TYPE_CHECKING:  # domain.partners reads invoicing terms, which read this module
    from domain.partners import PostalAddress


class VatRegistrationMissing(DomainError):
    code = "VAT_REGISTRATION_MISSING"


class SettlementModel(StrEnum):
    CHAIN = "CHAIN"  # CPO -> platform -> demand partner, each leg with the charging country's VAT


class VatTreatment(StrEnum):
    DOMESTIC = "DOMESTIC"
    REVERSE_CHARGE = "REVERSE_CHARGE"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"


# What the invoice must say (Art. 226(11a); the Swiss and out-of-scope equivalents).
LEGAL_NOTES = {
    VatTreatment.REVERSE_CHARGE: "Reverse charge",
    VatTreatment.OUT_OF_SCOPE: "Outside the scope of VAT: the place of supply is outside the EU, CH, NO and GB",
}


@dataclass(frozen=True, slots=True)
class TaxParty:
    """A party as VAT sees it: where it is established and the VAT ids it holds, by country."""

    name: str
    address: str
    country: str
    vat_ids: dict[str, str] = field(default_factory=dict)
    taxable_dealer: bool = False  # Art. 38: reselling electricity is its main activity
    # Its structured address (``address`` is the line printed from it); None: only a line on file.
    postal_address: PostalAddress | None = None
    # As a customer: days from an invoice's issue to its due date (its contract's payment terms).
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
    # As a supplier: the accounts its customers pay into, by currency (the platform's).
    payment_accounts: Mapping[str, BankAccount] = field(default_factory=dict)

    def vat_id_in(self, country: str) -> str | None:
        """Its valid VAT id in ``country``; an id that fails validation counts as none."""
        raw = self.vat_ids.get(country.upper())
        if raw is None:
            return None
        try:
            return validate_vat_id(country, raw)
        except VatIdInvalid:
            return None


@dataclass(frozen=True, slots=True)
class VatDecision:
    treatment: VatTreatment
    place_of_supply: str
    rate: VatRate | None  # the rate applied (None when no VAT is charged)
    supplier_vat_id: str | None
    customer_vat_id: str | None

    @property
    def percent(self) -> Decimal:
        return Decimal(0) if self.rate is None else self.rate.percent

    @property
    def legal_note(self) -> str | None:
        return LEGAL_NOTES.get(self.treatment)


def decide_vat(
    supplier: TaxParty,
    customer: TaxParty,
    *,
    charger_country: str,
    supplied_on: date,
    rates: VatRateTable,
    model: SettlementModel = SettlementModel.CHAIN,
) -> VatDecision:
    assert model == SettlementModel.CHAIN, "the chain is the only settlement model so far"
    place = charger_country.upper()
    if customer.taxable_dealer and customer.vat_id_in(customer.country):
        place = customer.country
    return _decide_at(place, supplier, customer, supplied_on=supplied_on, rates=rates, service=False)


def decide_service_vat(
    supplier: TaxParty, customer: TaxParty, *, supplied_on: date, rates: VatRateTable
) -> VatDecision:
    """A service from one business to another (a demand partner's, paid by its revenue share): supplied where
    the customer is established (Art. 44), at that country's standard rate; then rules 2 to 6 as above."""
    return _decide_at(customer.country.upper(), supplier, customer, supplied_on=supplied_on, rates=rates, service=True)


def _decide_at(
    place: str, supplier: TaxParty, customer: TaxParty, *, supplied_on: date, rates: VatRateTable, service: bool
) -> VatDecision:
    """Rules 2 to 6 for a supply taxed in ``place``: electricity at its rate, else a service at the standard rate."""
    customer_id_here = customer.vat_id_in(place)
    if not rates.covers(place):
        return VatDecision(VatTreatment.OUT_OF_SCOPE, place, None, supplier.vat_id_in(supplier.country), None)
    supplier_id_here = supplier.vat_id_in(place)
    rate = rates.rate if service else rates.electricity_rate
    if supplier.country == place:
        if supplier_id_here is None:
            raise VatRegistrationMissing(f"{supplier.name} is established in {place} but has no valid VAT id there")
        customer_id = customer_id_here or customer.vat_id_in(customer.country)
        return VatDecision(VatTreatment.DOMESTIC, place, rate(place, supplied_on), supplier_id_here, customer_id)
    if customer_id_here is not None:
        return VatDecision(
            VatTreatment.REVERSE_CHARGE,
            place,
            None,
            supplier.vat_id_in(supplier.country) or supplier_id_here,
            customer_id_here,
        )
    if supplier_id_here is not None:
        return VatDecision(
            VatTreatment.DOMESTIC,
            place,
            rate(place, supplied_on),
            supplier_id_here,
            customer.vat_id_in(customer.country),
        )
    supply = "its services" if service else "electricity"
    raise VatRegistrationMissing(
        f"{supplier.name} supplies {supply} in {place} to {customer.name}, who is not VAT-registered there, "
        f"and {supplier.name} has no VAT registration in {place}: add the registration before invoicing"
    )
