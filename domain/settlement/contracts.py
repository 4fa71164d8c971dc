"""The money terms of contracts, read from their JSON and checked (versions are frozen at session start).

CPO contract::

    {"commission": {"percent": "8", "minimum": "0.20", "maximum": "5.00"},    # in the tariff currency
     "clearing_tolerance": "0.01",                                            # the default; tariff currency
     "maximum_claim": "1000.00"}                          # the default; excl. VAT, tariff currency

Demand-partner contract::

    {"billing_currency": "EUR",
     "revenue_share": {"percent": "15", "basis": "COMMISSION"},             # or "PRICE" (net price)
     "credit": {"limit": "5000.00", "session_cap": "80.00", "hold_days": 7},  # in the billing currency
     "invoicing": {"model": "CHAIN", "cadence": "PER_SESSION", "taxable_dealer": false,  # the defaults
                   "payment_terms_days": 14},          # an invoice is due this many days after its issue
     "dunning": {"grace_days": 7, "late_interest_percent": "9.00"},  # see domain.collections.dunning
     "payout": {"schedule": "MONTHLY", "day": 1, "time": "06:00", "minimum": {"CHF": "20.00"}}}

Both kinds may carry a ``payout`` section (see ``domain.payouts.schedule``): CPOs are paid their payable,
demand partners their revenue share, each net of what it owes. A CPO contract may say how its payouts are
funded, ``"payout_funding": {"mode": "PAY_WHEN_PAID"}`` or ``{"mode": "GUARANTEED", "exposure_limit":
{"EUR": "20000.00"}}`` (``domain.payouts.funding``).

``cadence`` is PER_SESSION (an invoice per session) or MONTHLY (one statement per month and currency);
``taxable_dealer`` is the partner's status under Art. 38 of the VAT Directive (reselling electricity is its
main activity), which moves the place of supply to where it is established.

Both kinds may say how the party receives e-invoices (``party_einvoicing``; the defaults by country are
``domain.einvoice.recipients``')::

    {"einvoice": {"format": "XRECHNUNG_CII",         # FACTURX, XRECHNUNG_CII, XRECHNUNG_UBL, PEPPOL_UBL, CII, UBL
                  "buyer_reference": "04011000-12345-67",  # BT-10 its documents quote (a Leitweg-ID ...)
                  "electronic_address": {"scheme": "9930", "id": "DE281045677"},  # BT-34/BT-49, EAS scheme
                  "contact": {"name": "Accounts", "telephone": "+49 89 123456", "email": "ap@example.com"},
                  "legal_registration": "HRB 123456"}}   # BT-30 of documents issued in its name
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from moneyed import CurrencyDoesNotExist

from domain.collections.dunning import (
    DEFAULT_GRACE_DAYS,
    DEFAULT_LADDER,
    MAX_GRACE_DAYS,
    DunningTerms,
    LadderInvalid,
    LadderStep,
    Level,
    default_recovery_fee,
)
from domain.einvoice.model import Contact, EInvoiceFormat, ElectronicAddress, Profile
from domain.einvoice.recipients import EAS_CODES, default_format, electronic_address_from_vat_id
from domain.errors import DomainError
from domain.invoicing.documents import Cadence
from domain.invoicing.payment import DEFAULT_PAYMENT_TERMS_DAYS, MAX_PAYMENT_TERMS_DAYS
from domain.money import to_minor
from domain.payouts.funding import FundingMode, PayoutFunding
from domain.payouts.schedule import DEFAULT_RELEASE_TIME, LAST_SAFE_MONTH_DAY, PayoutFrequency, PayoutSchedule, Weekday
from domain.vat.treatment import SettlementModel

DEFAULT_HOLD_DAYS = 7
# Without a tolerance in the CPO's contract, a cent (or one minor unit) either way is tolerated.
DEFAULT_CLEARING_TOLERANCE = Decimal("0.01")
# Without a maximum claim in the CPO's contract, no session is settled above this price (excl. VAT, tariff
# currency): far above any charging session in the currencies we settle (EUR, CHF, GBP); a contract in a
# currency of smaller units states its own.
DEFAULT_MAXIMUM_CLAIM = Decimal("1000.00")
ChoiceT = TypeVar("ChoiceT", bound=StrEnum)


class ContractTermsInvalid(DomainError):
    code = "CONTRACT_TERMS_INVALID"


class ShareBasis(StrEnum):
    PRICE = "PRICE"  # a percentage of the session's net price
    COMMISSION = "COMMISSION"  # a percentage of the platform's commission


@dataclass(frozen=True, slots=True)
class CommissionTerms:
    percent: Decimal
    minimum: Decimal | None = None
    maximum: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RevenueShareTerms:
    percent: Decimal
    basis: ShareBasis


@dataclass(frozen=True, slots=True)
class CreditTerms:
    limit: Decimal
    session_cap: Decimal
    hold_days: int


def _decimal(terms: dict[str, Any], field: str, path: str) -> Decimal:
    raw = terms.get(field)
    if isinstance(raw, float) or raw is None:
        raise ContractTermsInvalid(f"{path}.{field} must be a decimal string")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as error:
        raise ContractTermsInvalid(f"{path}.{field} is not a number: {raw!r}") from error
    if not value.is_finite() or value < 0:
        raise ContractTermsInvalid(f"{path}.{field} must be a non-negative number, not {raw!r}")
    return value


def _optional_decimal(terms: dict[str, Any], field: str, path: str) -> Decimal | None:
    return None if terms.get(field) is None else _decimal(terms, field, path)


def _percent(terms: dict[str, Any], path: str) -> Decimal:
    percent = _decimal(terms, "percent", path)
    if percent > 100:
        raise ContractTermsInvalid(f"{path}.percent must be at most 100, not {percent}")
    return percent


def _choice(terms: dict[str, Any], field: str, default: ChoiceT, path: str) -> ChoiceT:
    """One of an enumeration's values, ``default`` when absent."""
    choices = type(default)
    try:
        return choices(terms.get(field, default))
    except ValueError as error:
        allowed = " or ".join(choices)
        raise ContractTermsInvalid(f"{path}.{field} must be {allowed}, not {terms[field]!r}") from error


def _section(terms: dict[str, Any], name: str) -> dict[str, Any]:
    section = terms.get(name)
    if not isinstance(section, dict):
        raise ContractTermsInvalid(f"the contract has no {name} terms")
    return section


def commission_terms(terms: dict[str, Any]) -> CommissionTerms:
    section = _section(terms, "commission")
    commission = CommissionTerms(
        percent=_percent(section, "commission"),
        minimum=_optional_decimal(section, "minimum", "commission"),
        maximum=_optional_decimal(section, "maximum", "commission"),
    )
    if commission.minimum is not None and commission.maximum is not None and commission.minimum > commission.maximum:
        raise ContractTermsInvalid("commission.minimum is above commission.maximum")
    return commission


def revenue_share_terms(terms: dict[str, Any]) -> RevenueShareTerms:
    section = _section(terms, "revenue_share")
    basis = _choice(section, "basis", ShareBasis.COMMISSION, "revenue_share")
    return RevenueShareTerms(percent=_percent(section, "revenue_share"), basis=basis)


def credit_terms(terms: dict[str, Any]) -> CreditTerms:
    section = _section(terms, "credit")
    hold_days = section.get("hold_days", DEFAULT_HOLD_DAYS)
    if not isinstance(hold_days, int) or isinstance(hold_days, bool) or hold_days < 1:
        raise ContractTermsInvalid(f"credit.hold_days must be a whole number of days, at least 1, not {hold_days!r}")
    cap = _decimal(section, "session_cap", "credit")
    if cap == 0:
        raise ContractTermsInvalid("credit.session_cap must be above zero")
    return CreditTerms(limit=_decimal(section, "limit", "credit"), session_cap=cap, hold_days=hold_days)


class PriceImplausible(DomainError):
    """A session rated above the highest price its CPO contract lets a session be settled at: a tariff
    published with a wrong unit or decimal point, not a price to bill a driver."""

    code = "PRICE_IMPLAUSIBLE"


@dataclass(frozen=True, slots=True)
class ClearingTerms:
    tolerance: Decimal = DEFAULT_CLEARING_TOLERANCE  # how far the CPO's claim may be from our rating
    maximum_claim: Decimal = DEFAULT_MAXIMUM_CLAIM  # the highest price a session may be settled at

    def check_rated(self, price: Decimal, currency: str) -> None:
        """Raise ``PriceImplausible`` when the official price (excluding VAT) is above the maximum claim."""
        if price > self.maximum_claim:
            raise PriceImplausible(
                f"the session rates at {price} {currency} excl. VAT, above the contract's maximum claim of "
                f"{self.maximum_claim} {currency}: check the tariff"
            )


def clearing_terms(terms: dict[str, Any]) -> ClearingTerms:
    """What stage 5 and dispute decisions read from the CPO's contract (a session without a frozen contract
    passes ``{}``)."""
    maximum_claim = _optional_decimal(terms, "maximum_claim", "contract")
    if maximum_claim == 0:
        raise ContractTermsInvalid("contract.maximum_claim must be above zero")
    tolerance = _optional_decimal(terms, "clearing_tolerance", "contract")
    return ClearingTerms(
        tolerance=DEFAULT_CLEARING_TOLERANCE if tolerance is None else tolerance,
        maximum_claim=DEFAULT_MAXIMUM_CLAIM if maximum_claim is None else maximum_claim,
    )


@dataclass(frozen=True, slots=True)
class InvoicingTerms:
    model: SettlementModel = SettlementModel.CHAIN
    cadence: Cadence = Cadence.PER_SESSION
    taxable_dealer: bool = False
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS


def invoicing_terms(terms: dict[str, Any]) -> InvoicingTerms:
    """The partner's invoicing terms; a contract without them takes the defaults (chain, per session)."""
    section = terms.get("invoicing", {})
    if not isinstance(section, dict):
        raise ContractTermsInvalid("invoicing must be an object")
    model = _choice(section, "model", SettlementModel.CHAIN, "invoicing")
    cadence = _choice(section, "cadence", Cadence.PER_SESSION, "invoicing")
    dealer = section.get("taxable_dealer", False)
    if not isinstance(dealer, bool):
        raise ContractTermsInvalid(f"invoicing.taxable_dealer must be true or false, not {dealer!r}")
    days = section.get("payment_terms_days", DEFAULT_PAYMENT_TERMS_DAYS)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= MAX_PAYMENT_TERMS_DAYS:
        raise ContractTermsInvalid(
            f"invoicing.payment_terms_days must be a number of days from 0 to {MAX_PAYMENT_TERMS_DAYS}, not {days!r}"
        )
    return InvoicingTerms(model=model, cadence=cadence, taxable_dealer=dealer, payment_terms_days=days)


def payout_schedule(terms: dict[str, Any]) -> PayoutSchedule:
    """The payee's payout schedule (``domain.payouts.schedule``); without a payout section, the default."""
    section = terms.get("payout", {})
    if not isinstance(section, dict):
        raise ContractTermsInvalid("payout must be an object")
    frequency = _choice(section, "schedule", PayoutFrequency.DAILY, "payout")
    raw_time = section.get("time", DEFAULT_RELEASE_TIME.strftime("%H:%M"))
    try:
        at = time.fromisoformat(raw_time) if isinstance(raw_time, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is not None:
        raise ContractTermsInvalid(f"payout.time must be HH:MM (UTC), not {raw_time!r}")
    weekday = section.get("weekday", Weekday.MONDAY.name)
    if weekday not in Weekday.__members__:
        raise ContractTermsInvalid(f"payout.weekday must be one of {', '.join(Weekday.__members__)}, not {weekday!r}")
    day = section.get("day", 1)
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= LAST_SAFE_MONTH_DAY:
        raise ContractTermsInvalid(f"payout.day must be a day of the month from 1 to 28, not {day!r}")
    minimum = section.get("minimum", {})
    if not isinstance(minimum, dict):
        raise ContractTermsInvalid('payout.minimum must map currencies to amounts, e.g. {"EUR": "50.00"}')
    return PayoutSchedule(
        frequency=frequency,
        at=at,
        weekday=Weekday[weekday],
        day=day,
        minimum={currency: _decimal(minimum, currency, "payout.minimum") for currency in minimum},
    )


def funding_terms(terms: dict[str, Any]) -> PayoutFunding:
    """How the CPO's payouts are funded (``domain.payouts.funding``); without a ``payout_funding`` section,
    guaranteed without a limit."""
    section = terms.get("payout_funding", {})
    if isinstance(section, str):
        section = {"mode": section}
    if not isinstance(section, dict):
        raise ContractTermsInvalid('payout_funding must be "PAY_WHEN_PAID", "GUARANTEED" or an object with a mode')
    mode = _choice(section, "mode", FundingMode.GUARANTEED, "payout_funding")
    limit = section.get("exposure_limit", {})
    if not isinstance(limit, dict):
        raise ContractTermsInvalid(
            'payout_funding.exposure_limit must map currencies to amounts, e.g. {"EUR": "20000.00"}'
        )
    if limit and mode == FundingMode.PAY_WHEN_PAID:
        raise ContractTermsInvalid("payout_funding.exposure_limit bounds GUARANTEED payouts only")
    amounts = {currency: _decimal(limit, currency, "payout_funding.exposure_limit") for currency in limit}
    for currency, amount in amounts.items():
        try:
            to_minor(amount, currency)
        except (ValueError, CurrencyDoesNotExist) as error:
            raise ContractTermsInvalid(
                f"payout_funding.exposure_limit.{currency} is not an amount in {currency}: {amount}"
            ) from error
    return PayoutFunding(mode, amounts)


def dunning_terms(terms: dict[str, Any], country: str) -> DunningTerms:
    """The partner's dunning terms (``domain.collections.dunning``); what a contract leaves out takes the
    defaults: 7 days' grace, no interest, the recovery fee of the partner's ``country``, the standard ladder."""
    section = terms.get("dunning", {})
    if not isinstance(section, dict):
        raise ContractTermsInvalid("dunning must be an object")
    grace = section.get("grace_days", DEFAULT_GRACE_DAYS)
    if not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= MAX_GRACE_DAYS:
        raise ContractTermsInvalid(
            f"dunning.grace_days must be a number of days from 0 to {MAX_GRACE_DAYS}, not {grace!r}"
        )
    fees = section.get("recovery_fee")
    if fees is not None and not isinstance(fees, dict):
        raise ContractTermsInvalid('dunning.recovery_fee must map currencies to amounts, e.g. {"EUR": "40.00"}')
    try:
        return DunningTerms(
            grace_days=grace,
            late_interest_percent=_optional_decimal(section, "late_interest_percent", "dunning"),
            recovery_fee=default_recovery_fee(country)
            if fees is None
            else {currency: _decimal(fees, currency, "dunning.recovery_fee") for currency in fees},
            ladder=_ladder(section),
        )
    except LadderInvalid as invalid:
        raise ContractTermsInvalid(str(invalid)) from invalid


def _ladder(section: dict[str, Any]) -> tuple[LadderStep, ...]:
    raw = section.get("ladder")
    if raw is None:
        return DEFAULT_LADDER
    if not isinstance(raw, list):
        raise ContractTermsInvalid('dunning.ladder must be a list of {"days": N, "level": ...}')
    steps = []
    for step in raw:
        days = step.get("days") if isinstance(step, dict) else None
        if not isinstance(days, int) or isinstance(days, bool) or "level" not in step:
            raise ContractTermsInvalid(f"dunning.ladder: each step needs whole days and a level, not {step!r}")
        steps.append(LadderStep(days, _choice(step, "level", Level.FRIENDLY, "dunning.ladder")))
    return tuple(steps)


# Free-text e-invoice terms (a buyer reference, a contact's name): what EN 16931 receivers are sure to keep.
EINVOICE_TEXT_MAX = 200
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class EInvoiceTerms:
    """A contract's ``einvoice`` section as written; None: not stated (the defaults apply)."""

    format: EInvoiceFormat | None = None
    buyer_reference: str | None = None  # BT-10 of the party's documents
    electronic_address: ElectronicAddress | None = None  # BT-34/BT-49
    contact: Contact | None = None  # BG-6 of documents issued in the party's name (XRechnung: required)
    legal_registration: str | None = None  # BT-30 of documents issued in its name (e.g. "HRB 12345")

    def to_json(self) -> dict[str, Any]:
        """The section's JSON, leaving out what is not stated."""
        section: dict[str, Any] = {}
        if self.format is not None:
            section["format"] = self.format.value
        if self.buyer_reference is not None:
            section["buyer_reference"] = self.buyer_reference
        if self.electronic_address is not None:
            section["electronic_address"] = {
                "scheme": self.electronic_address.scheme,
                "id": self.electronic_address.value,
            }
        if self.contact is not None:
            section["contact"] = {
                "name": self.contact.name,
                "telephone": self.contact.telephone,
                "email": self.contact.email,
            }
        if self.legal_registration is not None:
            section["legal_registration"] = self.legal_registration
        return section


def _text(section: dict[str, Any], field: str, path: str) -> str | None:
    raw = section.get(field)
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip() or len(raw) > EINVOICE_TEXT_MAX or not raw.isprintable():
        raise ContractTermsInvalid(f"{path}.{field} must be 1 to {EINVOICE_TEXT_MAX} printable characters")
    return raw.strip()


def _object(section: dict[str, Any], field: str, path: str, example: str) -> dict[str, Any] | None:
    raw = section.get(field)
    if raw is not None and not isinstance(raw, dict):
        raise ContractTermsInvalid(f"{path}.{field} must be an object, e.g. {example}")
    return raw


def einvoice_terms(terms: dict[str, Any]) -> EInvoiceTerms:
    """The contract's ``einvoice`` section, each field checked; without one, nothing stated."""
    section = terms.get("einvoice", {})
    if not isinstance(section, dict):
        raise ContractTermsInvalid("einvoice must be an object")
    unknown = set(section) - {"format", "buyer_reference", "electronic_address", "contact", "legal_registration"}
    if unknown:
        raise ContractTermsInvalid(f"einvoice has no field {', '.join(sorted(unknown))}")
    fmt = None
    if section.get("format") is not None:
        fmt = _choice(section, "format", EInvoiceFormat.FACTURX, "einvoice")
    address = None
    raw_address = _object(section, "electronic_address", "einvoice", '{"scheme": "9930", "id": "DE123456789"}')
    if raw_address is not None:
        scheme = raw_address.get("scheme")
        if scheme not in EAS_CODES:
            raise ContractTermsInvalid(
                f"einvoice.electronic_address.scheme must be a code of the CEF EAS list (BR-CL-25), e.g. 9930 for a "
                f"German VAT id or EM for an e-mail address, not {scheme!r}"
            )
        value = _text(raw_address, "id", "einvoice.electronic_address")
        if value is None:
            raise ContractTermsInvalid("einvoice.electronic_address.id is required")
        address = ElectronicAddress(scheme, value)
    contact = None
    raw_contact = _object(section, "contact", "einvoice", '{"name": ..., "telephone": ..., "email": ...}')
    if raw_contact is not None:
        name, telephone, email = (
            _text(raw_contact, field, "einvoice.contact") for field in ("name", "telephone", "email")
        )
        if name is None or telephone is None or email is None:
            raise ContractTermsInvalid("einvoice.contact needs a name, a telephone and an email (BR-DE-5/6/7)")
        if not EMAIL.fullmatch(email):
            raise ContractTermsInvalid(f"einvoice.contact.email is not an e-mail address: {email!r}")
        contact = Contact(name, telephone, email)
    return EInvoiceTerms(
        format=fmt,
        buyer_reference=_text(section, "buyer_reference", "einvoice"),
        electronic_address=address,
        contact=contact,
        legal_registration=_text(section, "legal_registration", "einvoice"),
    )


@dataclass(frozen=True, slots=True)
class EInvoiceParty:
    """What the e-invoice checks know of the party a contract is with."""

    id: str
    country: str  # where it is established
    vat_id: str | None  # compact, prefix included
    issues_in_its_name: bool  # documents are self-billed in its name (a CPO; a partner paid a revenue share)
    structured_address: bool = True  # its city and postcode are on file
    payout_account: bool = True  # an IBAN its self-billed documents can say they are paid into


@dataclass(frozen=True, slots=True)
class PartyEInvoicing:
    """How the party's e-invoices are made: its format and what they state about it."""

    format: EInvoiceFormat
    buyer_reference: str | None
    electronic_address: ElectronicAddress | None
    contact: Contact | None
    legal_registration: str | None


def party_einvoicing(terms: dict[str, Any], party: EInvoiceParty) -> PartyEInvoicing:
    """The party's e-invoicing under its contract, the defaults filled in (format by country, electronic
    address from the VAT id); refuses a contract whose format needs data the party lacks, naming the field."""
    stated = einvoice_terms(terms)
    address = stated.electronic_address or electronic_address_from_vat_id(party.vat_id)
    fmt = stated.format or default_format(party.country, has_electronic_address=address is not None)
    without_address = (
        f"einvoice.electronic_address is required for {fmt}: both parties' electronic addresses are (PEPPOL-"
        f"EN16931-R010/R020), and no EAS scheme derives one from {party.id}'s VAT id {party.vat_id or '(none)'}"
    )
    reference = stated.buyer_reference
    if fmt.profile == Profile.XRECHNUNG:
        if reference is None:
            raise ContractTermsInvalid(
                f"einvoice.buyer_reference is required for {fmt} (BR-DE-15: the Leitweg-ID of a public buyer, "
                "otherwise the reference agreed with the party)"
            )
        if address is None:
            raise ContractTermsInvalid(without_address)
        if not party.structured_address:
            raise ContractTermsInvalid(f"{fmt} needs {party.id}'s city and postcode (BR-DE-3/4/8/9): set its address")
        if party.issues_in_its_name and stated.contact is None:
            raise ContractTermsInvalid(
                f"einvoice.contact (name, telephone, email) is required for {fmt}: the documents issued in "
                f"{party.id}'s name state it as the seller's contact (BR-DE-2)"
            )
        if party.issues_in_its_name and not party.payout_account:
            raise ContractTermsInvalid(
                f"{fmt} needs {party.id}'s IBAN: the documents issued in its name say the account they are paid "
                "into (BR-DE-1)"
            )
    if fmt == EInvoiceFormat.PEPPOL_UBL:
        if address is None:
            raise ContractTermsInvalid(without_address)
        # PEPPOL-EN16931-R003 wants a buyer or order reference: without one, the party's account with us.
        reference = reference or party.id
    return PartyEInvoicing(fmt, reference, address, stated.contact, stated.legal_registration)
