"""Onboarding a demand partner: who it is (legal entity, postal address, VAT id, bank account) and its
contract terms, each checked with the field named, so a typo is refused before any row is written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pycountry

from domain.collections.methods import CollectionMethod
from domain.errors import DomainError
from domain.invoicing.documents import Cadence
from domain.invoicing.payment import DEFAULT_PAYMENT_TERMS_DAYS
from domain.money import minor_unit_places
from domain.payouts.bank import BankDetailsInvalid, bank_account
from domain.settlement.contracts import (
    ContractTermsInvalid,
    EInvoiceParty,
    EInvoiceTerms,
    ShareBasis,
    credit_terms,
    invoicing_terms,
    party_einvoicing,
    revenue_share_terms,
)
from domain.vat.parties import CountryUnknown, VatIdInvalid, country_name, validate_vat_id

PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
# Where the postcode follows the city ("London N1 7GR"); elsewhere in Europe it precedes it.
POSTCODE_AFTER_CITY = frozenset({"GB", "IE"})
# Where the building number comes before the street name ("12 Wharf Road"); elsewhere it follows it.
NUMBER_BEFORE_STREET = frozenset({"GB", "IE", "FR", "LU", "US", "CA", "AU"})
# The longest each part may be: ISO 20022 PostalAddress24 (StrtNm, BldgNb, PstCd, TwnNm), which the EPC 2025
# rulebooks and the Swiss Payment Standards 2025 require in payment files, and QR-bills take as they are.
STREET_MAX = 70
BUILDING_NUMBER_MAX = 16
POSTCODE_MAX = 16
TOWN_MAX = 35
# No contract amount (a credit limit, a session cap) is a billion or more in any currency.
MAX_AMOUNT = Decimal("999999999.99")


class FieldInvalid(DomainError):
    """One field of a request is refused; ``field`` names it as the CLI option or the API body does."""

    code = "FIELD_INVALID"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """A structured postal address (ISO 20022 PostalAddress24: StrtNm, BldgNb, PstCd, TwnNm; the country is
    the party's own). ``city`` is the town (TwnNm). Payment files and QR-bills take the parts as they are;
    ``line`` prints them for people."""

    street: str
    postal_code: str
    city: str
    building_number: str | None = None

    def street_line(self, country: str) -> str:
        """Street and building number in the country's order ("Torstrasse 49", "12 Wharf Road")."""
        if not self.building_number:
            return self.street
        if country.upper() in NUMBER_BEFORE_STREET:
            return f"{self.building_number} {self.street}"
        return f"{self.street} {self.building_number}"

    def line(self, country: str) -> str:
        """The address as invoices print it, in the country's order (the country is printed on its own line)."""
        street = self.street_line(country)
        if country.upper() in POSTCODE_AFTER_CITY:
            return f"{street}, {self.city} {self.postal_code}"
        return f"{street}, {self.postal_code} {self.city}"


@dataclass(frozen=True, slots=True)
class DemandPartnerTerms:
    """The contract terms a partner is onboarded with, in its billing currency."""

    share_percent: Decimal
    share_basis: ShareBasis
    credit_limit: Decimal
    session_cap: Decimal
    cadence: Cadence
    taxable_dealer: bool = False
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
    collection_method: CollectionMethod = CollectionMethod.TRANSFER
    einvoice: EInvoiceTerms = field(default_factory=EInvoiceTerms)  # nothing stated: its country's defaults

    def contract(self, billing_currency: str) -> dict[str, Any]:
        """The contract's JSON (``domain.settlement.contracts``), amounts as strings."""
        einvoice = self.einvoice.to_json()
        return {
            "billing_currency": billing_currency,
            "revenue_share": {"percent": str(self.share_percent), "basis": self.share_basis.value},
            "credit": {"limit": str(self.credit_limit), "session_cap": str(self.session_cap)},
            "invoicing": {
                "model": "CHAIN",
                "cadence": self.cadence.value,
                "taxable_dealer": self.taxable_dealer,
                "payment_terms_days": self.payment_terms_days,
            },
            "collection": {"method": self.collection_method.value},
        } | ({"einvoice": einvoice} if einvoice else {})


@dataclass(frozen=True, slots=True)
class NewDemandPartner:
    """A checked partner, ready to store. The seed's test partners may lack an address; onboarding never."""

    id: str
    legal_entity: str
    country: str
    vat_id: str
    billing_currency: str
    address: PostalAddress | None = None
    iban: str | None = None
    bic: str | None = None
    active: bool = True


def checked_text(field: str, value: str, max_length: int) -> str:
    value = value.strip()
    if not value or len(value) > max_length or not value.isprintable():
        raise FieldInvalid(field, f"must be 1 to {max_length} printable characters")
    return value


def checked_vat_id(country: str, vat_id: str) -> str:
    """The VAT id, compact, if its check digits are right for the country (python-stdnum)."""
    try:
        return validate_vat_id(country, vat_id)
    except (VatIdInvalid, CountryUnknown) as error:
        raise FieldInvalid("vat_id", str(error)) from error


def checked_bank_details(holder: str, country: str, iban: str | None, bic: str | None) -> tuple[str | None, str | None]:
    """The IBAN (checksum) and BIC, normalised; a BIC needs an IBAN."""
    if bic and not iban:
        raise FieldInvalid("bic", "given without an iban")
    if not iban:
        return None, None
    try:
        account = bank_account(holder, country, iban, bic)
    except BankDetailsInvalid as error:
        raise FieldInvalid("iban", str(error)) from error
    return account.iban, account.bic


def checked_address(address: PostalAddress) -> PostalAddress:
    """Every part within its PostalAddress24 length, so payment files never cut it; the building number may
    be left out (or be part of the street, as the Swiss Payment Standards still tolerate)."""
    building_number = (address.building_number or "").strip()
    return PostalAddress(
        street=checked_text("street", address.street, STREET_MAX),
        postal_code=checked_text("postcode", address.postal_code, POSTCODE_MAX),
        city=checked_text("city", address.city, TOWN_MAX),
        building_number=checked_text("building_number", building_number, BUILDING_NUMBER_MAX)
        if building_number
        else None,
    )


def checked_country(country: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper case."""
    try:
        code = country.strip().upper()
        country_name(code)
    except CountryUnknown as error:
        raise FieldInvalid("country", str(error)) from error
    return code


def checked_currency(field: str, currency: str) -> str:
    """An ISO 4217 code, upper case."""
    code = currency.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise FieldInvalid(field, f"{currency!r} is not an ISO 4217 currency code")
    return code


def checked_amount(field: str, amount: Decimal, currency: str) -> Decimal:
    """Above zero, at most ``MAX_AMOUNT``, and no finer than the currency's minor unit (no 0.001 EUR)."""
    if not amount.is_finite() or not 0 < amount <= MAX_AMOUNT:
        raise FieldInvalid(field, f"must be above 0 and at most {MAX_AMOUNT}, not {amount}")
    places = minor_unit_places(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise FieldInvalid(field, f"{currency} amounts have at most {places} decimals, not {amount}")
    return amount


def checked_terms(terms: DemandPartnerTerms, partner: NewDemandPartner) -> DemandPartnerTerms:
    """The terms, if the contract readers accept them, the session cap fits in the credit limit and the
    partner has what its e-invoice format needs."""
    currency = partner.billing_currency
    checked_amount("credit_limit", terms.credit_limit, currency)
    checked_amount("session_cap", terms.session_cap, currency)
    if terms.session_cap > terms.credit_limit:
        raise FieldInvalid("session_cap", f"{terms.session_cap} is above the credit limit {terms.credit_limit}")
    if not 0 <= terms.share_percent <= 100:
        raise FieldInvalid("share_percent", f"must be between 0 and 100, not {terms.share_percent}")
    contract = terms.contract(currency)
    try:
        revenue_share_terms(contract)
        credit_terms(contract)
    except ContractTermsInvalid as error:
        raise FieldInvalid("terms", str(error)) from error
    try:
        invoicing_terms(contract)
    except ContractTermsInvalid as error:
        raise FieldInvalid("payment_terms_days", str(error)) from error
    try:
        party_einvoicing(contract, einvoice_party(partner, issues_in_its_name=terms.share_percent > 0))
    except ContractTermsInvalid as error:
        raise FieldInvalid("einvoice", str(error)) from error
    return terms


def einvoice_party(partner: NewDemandPartner, *, issues_in_its_name: bool) -> EInvoiceParty:
    """The partner as its e-invoicing terms are checked: documents are self-billed in its name when it is
    paid a revenue share."""
    return EInvoiceParty(
        id=partner.id,
        country=partner.country,
        vat_id=partner.vat_id,
        issues_in_its_name=issues_in_its_name,
        structured_address=partner.address is not None,
        payout_account=partner.iban is not None,
    )


def new_demand_partner(
    *,
    partner_id: str,
    legal_entity: str,
    address: PostalAddress,
    country: str,
    vat_id: str,
    billing_currency: str,
    iban: str | None = None,
    bic: str | None = None,
) -> NewDemandPartner:
    """The partner, every field checked: the VAT id's check digits for its country (python-stdnum), ISO 3166
    country, ISO 4217 currency, the IBAN's checksum."""
    if not PARTNER_ID.fullmatch(partner_id):
        raise FieldInvalid("id", "must be 2 to 64 lower-case letters, digits and '-' (e.g. dp-roamly)")
    legal_entity = checked_text("legal_entity", legal_entity, 200)
    address = checked_address(address)
    country = checked_country(country)
    compact_vat_id = checked_vat_id(country, vat_id)
    currency = checked_currency("billing_currency", billing_currency)
    iban, bic = checked_bank_details(legal_entity, country, iban, bic)
    return NewDemandPartner(
        id=partner_id,
        legal_entity=legal_entity,
        country=country,
        vat_id=compact_vat_id,
        billing_currency=currency,
        address=address,
        iban=iban,
        bic=bic,
    )
