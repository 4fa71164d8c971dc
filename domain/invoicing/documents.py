"""Invoice documents as issued: every field EU VAT Directive Art. 226 asks for, as plain JSON that is
stored once (never edited) and served as is. Amounts are decimal strings with their currency.

Numbers are ``<series>-<sequence>``, gap-free per issuer and series: the platform's own invoices are
``NC-000001``…; the self-billed invoices the platform issues in a CPO's name are per CPO
(``SB-DESTR-000001``…), so each CPO's series is its own and continuous, and so are those it issues in a
demand partner's name for its revenue share (``RS-DP-ROAMLY-000001``…; ``docs/revenue-share.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from domain.fx.rates import FxRate
from domain.invoicing.lines import InvoiceLine, InvoiceTotals, NationalVat, invoice_totals
from domain.invoicing.payment import PaymentInstructions, payment_instructions
from domain.money import from_minor, to_minor
from domain.vat.parties import country_name
from domain.vat.rates import VatCategory, VatRate
from domain.vat.treatment import LEGAL_NOTES, TaxParty, VatDecision, VatTreatment

if TYPE_CHECKING:  # domain.partners reads this module's Cadence
    from domain.partners import PostalAddress

PLATFORM_ISSUER = "platform"
PLATFORM_SERIES = "NC"
SELF_BILLING_NOTE = "Self-billing"


class DocumentKind(StrEnum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


class Cadence(StrEnum):
    PER_SESSION = "PER_SESSION"
    MONTHLY = "MONTHLY"


def cpo_issuer(cpo_id: str) -> str:
    return f"cpo:{cpo_id}"


def self_billing_series(ocpi_country_code: str, ocpi_party_id: str) -> str:
    return f"SB-{ocpi_country_code}{ocpi_party_id}".upper()


def demand_partner_issuer(partner_id: str) -> str:
    """The issuer of the self-billed invoices for a demand partner's revenue share."""
    return f"dp:{partner_id}"


def revenue_share_series(partner_id: str) -> str:
    return f"RS-{partner_id}".upper()


def revenue_share_partner(issuer: str) -> str | None:
    """The demand partner in whose name ``issuer`` issues (its revenue-share documents); None for others."""
    prefix = demand_partner_issuer("")
    return issuer.removeprefix(prefix) if issuer.startswith(prefix) else None


def statement_period(on: date) -> str:
    """The month a monthly statement covers, as its lines' supply dates fall."""
    return f"{on.year:04d}-{on.month:02d}"


def invoice_number(series: str, sequence: int) -> str:
    assert sequence >= 1
    return f"{series}-{sequence:06d}"


@dataclass(frozen=True, slots=True)
class IssuedParty:
    name: str
    address: str
    country: str
    vat_id: str | None
    postal_address: PostalAddress | None = None

    @classmethod
    def of(cls, party: TaxParty, vat_id: str | None) -> IssuedParty:
        return cls(party.name, party.address, party.country, vat_id, party.postal_address)


def invoice_payment(
    kind: DocumentKind,
    issuer: str,
    number: str,
    issue_date: date,
    *,
    supplier: TaxParty,
    customer: TaxParty,
    currency: str,
) -> PaymentInstructions | None:
    """What the platform's invoices and statements to a demand partner say about paying them: due after the
    partner's payment terms, into our account in the invoice's currency, quoting the RF of the number. Credit
    notes (nothing to collect) and self-billed invoices (settled by our payout) carry none."""
    if kind != DocumentKind.INVOICE or issuer != PLATFORM_ISSUER:
        return None
    return payment_instructions(number, issue_date, customer.payment_terms_days, currency, supplier.payment_accounts)


def _amount(minor: int, currency: str) -> str:
    return str(from_minor(minor, currency))


def line_to_json(line: InvoiceLine) -> dict[str, Any]:
    decision = line.vat
    national = line.national
    return {
        "session_id": line.session_id,
        "description": line.description,
        "quantity": str(line.quantity),
        "unit": "kWh",
        "unit_price": str(line.unit_price),
        "supplied_on": line.supplied_on.isoformat(),
        "currency": line.currency,
        "net": _amount(line.net_minor, line.currency),
        "vat": _amount(line.vat_minor, line.currency),
        "gross": _amount(line.gross_minor, line.currency),
        "vat_treatment": decision.treatment.value,
        "place_of_supply": decision.place_of_supply,
        "vat_rate": None if decision.rate is None else _rate_to_json(decision.rate),
        "supplier_vat_id": decision.supplier_vat_id,
        "customer_vat_id": decision.customer_vat_id,
        "national_vat": {
            "currency": national.currency,
            "vat": _amount(national.vat_minor, national.currency),
            "fx_rate": None if national.rate is None else _fx_to_json(national.rate),
        },
    }


def line_from_json(data: dict[str, Any]) -> InvoiceLine:
    currency = data["currency"]
    national = data["national_vat"]
    rate = data["vat_rate"]
    fx = national["fx_rate"]
    return InvoiceLine(
        session_id=data["session_id"],
        description=data["description"],
        quantity=Decimal(data["quantity"]),
        supplied_on=date.fromisoformat(data["supplied_on"]),
        currency=currency,
        net_minor=_minor(data["net"], currency),
        vat=VatDecision(
            treatment=VatTreatment(data["vat_treatment"]),
            place_of_supply=data["place_of_supply"],
            rate=None if rate is None else _rate_from_json(rate),
            supplier_vat_id=data["supplier_vat_id"],
            customer_vat_id=data["customer_vat_id"],
        ),
        vat_minor=_minor(data["vat"], currency),
        national=NationalVat(
            currency=national["currency"],
            vat_minor=_minor(national["vat"], national["currency"]),
            rate=None if fx is None else _fx_from_json(fx),
        ),
    )


def _minor(amount: str, currency: str) -> int:
    return to_minor(Decimal(amount), currency)


def _rate_to_json(rate: VatRate) -> dict[str, str]:
    return {
        "country": rate.country,
        "category": rate.category.value,
        "percent": str(rate.percent),
        "valid_from": rate.valid_from.isoformat(),
        "source": rate.source,
        "source_date": rate.source_date.isoformat(),
    }


def _rate_from_json(data: dict[str, str]) -> VatRate:
    return VatRate(
        country=data["country"],
        category=VatCategory(data["category"]),
        percent=Decimal(data["percent"]),
        valid_from=date.fromisoformat(data["valid_from"]),
        source=data["source"],
        source_date=date.fromisoformat(data["source_date"]),
    )


def _fx_to_json(rate: FxRate) -> dict[str, str]:
    return {
        "base": rate.base,
        "quote": rate.quote,
        "rate": str(rate.rate),
        "as_of": rate.as_of.isoformat(),
        "source": rate.source,
    }


def _fx_from_json(data: dict[str, str]) -> FxRate:
    return FxRate(data["base"], data["quote"], Decimal(data["rate"]), date.fromisoformat(data["as_of"]), data["source"])


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    kind: DocumentKind
    number: str
    issuer: str
    series: str
    sequence: int
    issue_date: date
    supplier: IssuedParty
    customer: IssuedParty
    currency: str
    lines: tuple[InvoiceLine, ...]
    self_billing: bool
    period: str | None = None  # "YYYY-MM" for a monthly statement
    corrects: str | None = None  # a credit note: the number of the invoice (or statement) it cancels
    payment: PaymentInstructions | None = None  # an open item to collect: its due date, account and reference

    @property
    def totals(self) -> InvoiceTotals:
        return invoice_totals(self.currency, self.lines)

    @property
    def notes(self) -> list[str]:
        """The mentions Art. 226(10a)/(11a) require, once each."""
        notes = [SELF_BILLING_NOTE] if self.self_billing else []
        for treatment in dict.fromkeys(line.vat.treatment for line in self.lines):
            if treatment in LEGAL_NOTES:
                notes.append(LEGAL_NOTES[treatment])
        return notes

    def to_json(self) -> dict[str, Any]:
        totals = self.totals
        currency = self.currency
        supply_days = sorted(line.supplied_on for line in self.lines)
        return {
            "kind": self.kind.value,
            "number": self.number,
            "issuer": self.issuer,
            "series": self.series,
            "sequence": self.sequence,
            "issue_date": self.issue_date.isoformat(),
            "supply_period": {"from": supply_days[0].isoformat(), "to": supply_days[-1].isoformat()},
            "statement_period": self.period,
            "corrects": self.corrects,
            "self_billing": self.self_billing,
            "supplier": _party_json(self.supplier),
            "customer": _party_json(self.customer),
            "currency": currency,
            "lines": [line_to_json(line) for line in self.lines],
            "vat_summary": [
                {
                    "place_of_supply": group.place_of_supply,
                    "vat_treatment": group.treatment.value,
                    "vat_percent": str(group.percent),
                    "net": _amount(group.net_minor, currency),
                    "vat": _amount(group.vat_minor, currency),
                    "gross": _amount(group.gross_minor, currency),
                    "national_currency": group.national_currency,
                    "national_vat": _amount(group.national_vat_minor, group.national_currency),
                }
                for group in totals.groups
            ],
            "totals": {
                "net": _amount(totals.net_minor, currency),
                "vat": _amount(totals.vat_minor, currency),
                "gross": _amount(totals.gross_minor, currency),
            },
            "notes": self.notes,
            "payment": None if self.payment is None else self.payment.to_json(),
        }


def _party_json(party: IssuedParty) -> dict[str, Any]:
    address = party.postal_address
    return {
        "name": party.name,
        "address": party.address,
        "postal_address": None
        if address is None
        else {
            "street": address.street,
            "building_number": address.building_number,
            "postcode": address.postal_code,
            "town": address.city,
            "country": party.country,
        },
        "country": party.country,
        "country_name": country_name(party.country),
        "vat_id": party.vat_id,
    }
