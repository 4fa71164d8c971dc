"""Issued documents for the e-invoice tests, made the way issuance makes them (``invoice_line``,
``credited``, ``invoice_payment``, ``InvoiceDocument.to_json``), one per document type and VAT case, with the
context (registrations, electronic addresses, contact, buyer reference) each party's e-invoice needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from adapters.einvoice.issue import validated_xml
from domain.einvoice.build import CreditTransfer, DirectDebit, EInvoiceContext, PartyDetails
from domain.einvoice.issuing import EInvoiceIssuing
from domain.einvoice.model import Contact, ElectronicAddress
from domain.fx.rates import FxRate
from domain.invoicing.documents import (
    PLATFORM_ISSUER,
    DocumentKind,
    InvoiceDocument,
    IssuedParty,
    cpo_issuer,
    invoice_number,
    invoice_payment,
    self_billing_series,
)
from domain.invoicing.lines import InvoiceLine, credited, invoice_line
from domain.partners import PostalAddress
from domain.payouts.bank import bank_account
from domain.vat.rates import VatCategory, VatRate
from domain.vat.treatment import TaxParty, VatDecision, VatTreatment

ISSUED = date(2026, 12, 1)
SUPPLIED = date(2026, 11, 28)
BERLIN = PostalAddress("Torstrasse", "10119", "Berlin", building_number="49")
MUNICH = PostalAddress("Leopoldstrasse", "80802", "München", building_number="7")
PARIS = PostalAddress("Rue de Rivoli", "75001", "Paris", building_number="12")
ZURICH = PostalAddress("Bahnhofstrasse", "8001", "Zürich", building_number="10a")
LONDON = PostalAddress("Wharf Road", "N1 7GR", "London", building_number="12")
HAMBURG = PostalAddress("Spaldingstrasse", "20097", "Hamburg", building_number="64")

PLATFORM_VAT_ID = "DE312987657"
PLATFORM = TaxParty(
    "NetworkCore GmbH",
    BERLIN.line("DE"),
    "DE",
    {"DE": PLATFORM_VAT_ID},
    postal_address=BERLIN,
    payment_accounts={
        "EUR": bank_account("NetworkCore GmbH", "DE", "DE02100500000054540402", "BELADEBEXXX", BERLIN),
        "CHF": bank_account("NetworkCore GmbH", "DE", "CH5604835012345678009", "UBSWCHZH80A", BERLIN),
    },
)
GERMAN_PARTNER = TaxParty("Ladefreunde GmbH", MUNICH.line("DE"), "DE", {"DE": "DE811907980"}, postal_address=MUNICH)
FRENCH_PARTNER = TaxParty("Recharge Express SAS", PARIS.line("FR"), "FR", {"FR": "FR40303265045"}, postal_address=PARIS)
SWISS_PARTNER = TaxParty(
    "Fahrgemeinschaft Zürich AG", ZURICH.line("CH"), "CH", {"CH": "CHE109322551MWST"}, postal_address=ZURICH
)
BRITISH_PARTNER = TaxParty("Chargeway Ltd", LONDON.line("GB"), "GB", {"GB": "GB980780684"}, postal_address=LONDON)
CPO = TaxParty("Stromtankstelle Nord GmbH", HAMBURG.line("DE"), "DE", {"DE": "DE136695976"}, postal_address=HAMBURG)

PLATFORM_DETAILS = PartyDetails(
    legal_registration_id="HRB 12345 B",
    electronic_address=ElectronicAddress("9930", PLATFORM_VAT_ID),
    contact=Contact("Billing team", "+49 30 1234567", "billing@networkcore.example"),
)
# Documents issued in the tests are issued as in production: each with its e-invoice, validated.
ISSUING = EInvoiceIssuing(PLATFORM_DETAILS, validated_xml)
CPO_DETAILS = PartyDetails(
    legal_registration_id="HRB 98765",
    electronic_address=ElectronicAddress("9930", "DE136695976"),
    contact=Contact("Accounts", "+49 40 7654321", "accounts@stromtankstelle.example"),
)
BUYER_ADDRESSES = {
    "DE": ElectronicAddress("9930", "DE811907980"),
    "FR": ElectronicAddress("9957", "FR40303265045"),
    "CH": ElectronicAddress("0183", "CHE109322551"),
    "GB": ElectronicAddress("9932", "GB980780684"),
}


def rate(country: str, percent: str) -> VatRate:
    return VatRate(country, VatCategory.STANDARD, Decimal(percent), date(2024, 1, 1), "test table", date(2024, 1, 1))


def domestic(place: str = "DE", percent: str = "19", customer_vat_id: str | None = None) -> VatDecision:
    return VatDecision(VatTreatment.DOMESTIC, place, rate(place, percent), PLATFORM_VAT_ID, customer_vat_id)


def sold(
    net_minor: int,
    decision: VatDecision,
    *,
    session: str = "s-1",
    kwh: str = "42.5",
    currency: str = "EUR",
    supplied_on: date = SUPPLIED,
    national_currency: str | None = None,
    fx: FxRate | None = None,
) -> InvoiceLine:
    return invoice_line(
        session_id=session,
        description=f"Electricity for EV charging, session {session}, Berlin Torstrasse",
        quantity=Decimal(kwh),
        supplied_on=supplied_on,
        currency=currency,
        net_minor=net_minor,
        decision=decision,
        national_currency=national_currency or currency,
        national_rate=fx,
    )


def issued(
    lines: Sequence[InvoiceLine],
    *,
    supplier: TaxParty = PLATFORM,
    customer: TaxParty = GERMAN_PARTNER,
    kind: DocumentKind = DocumentKind.INVOICE,
    issuer: str = PLATFORM_ISSUER,
    series: str = "NC",
    sequence: int = 123,
    period: str | None = None,
    corrects: str | None = None,
) -> dict[str, Any]:
    number = invoice_number(series, sequence)
    currency = lines[0].currency
    return InvoiceDocument(
        kind=kind,
        number=number,
        issuer=issuer,
        series=series,
        sequence=sequence,
        issue_date=ISSUED,
        supplier=IssuedParty.of(supplier, lines[0].vat.supplier_vat_id),
        customer=IssuedParty.of(customer, lines[0].vat.customer_vat_id),
        currency=currency,
        lines=tuple(lines),
        self_billing=issuer != PLATFORM_ISSUER,
        period=period,
        corrects=corrects,
        payment=invoice_payment(kind, issuer, number, ISSUED, supplier=supplier, customer=customer, currency=currency),
    ).to_json()


def context(buyer_country: str = "DE", **overrides: Any) -> EInvoiceContext:
    """What the platform's e-invoice to a partner in ``buyer_country`` needs besides the document."""
    values: dict[str, Any] = {
        "seller": PLATFORM_DETAILS,
        "buyer": PartyDetails(electronic_address=BUYER_ADDRESSES[buyer_country]),
        "buyer_reference": "PO-4711",
    }
    return EInvoiceContext(**(values | overrides))


def domestic_invoice() -> dict[str, Any]:
    """A German partner's per-session invoice: 19 % German VAT (S), paid by SEPA credit transfer."""
    return issued([sold(1999, domestic(customer_vat_id="DE811907980"))])


def reverse_charge_invoice() -> dict[str, Any]:
    """A French partner charging in France: the platform is not established there, the partner accounts for
    the VAT (AE)."""
    decision = VatDecision(VatTreatment.REVERSE_CHARGE, "FR", None, PLATFORM_VAT_ID, "FR40303265045")
    return issued([sold(2650, decision)], customer=FRENCH_PARTNER)


def out_of_scope_invoice() -> dict[str, Any]:
    """A British partner's session on a charger in the United States: outside the scope of VAT (O)."""
    decision = VatDecision(VatTreatment.OUT_OF_SCOPE, "US", None, PLATFORM_VAT_ID, None)
    usd = FxRate("EUR", "USD", Decimal("1.1543"), date(2026, 11, 27), "ECB reference rate")
    return issued([sold(3100, decision, national_currency="USD", fx=usd)], customer=BRITISH_PARTNER)


CHF_EUR = FxRate("CHF", "EUR", Decimal("1.0642"), date(2026, 11, 27), "ECB reference rate")


def chf_invoice_with_eur_vat() -> dict[str, Any]:
    """A Swiss partner billed in CHF for sessions in Germany: German VAT, stated in EUR too (Art. 230)."""
    decision = domestic(customer_vat_id="CHE109322551MWST")
    lines = [
        sold(4321, decision, session="s-1", currency="CHF", national_currency="EUR", fx=CHF_EUR),
        sold(1234, decision, session="s-2", kwh="11.2", currency="CHF", national_currency="EUR", fx=CHF_EUR),
    ]
    return issued(lines, customer=SWISS_PARTNER)


def credit_note() -> dict[str, Any]:
    """The credit note cancelling the domestic invoice's line (381, BG-3 = the invoice)."""
    original = sold(1999, domestic(customer_vat_id="DE811907980"))
    return issued([credited(original)], kind=DocumentKind.CREDIT_NOTE, sequence=124, corrects="NC-000123")


def _cpo_line(net_minor: int = 1611, session: str = "s-1", kwh: str = "42.5") -> InvoiceLine:
    decision = VatDecision(VatTreatment.DOMESTIC, "DE", rate("DE", "19"), "DE136695976", PLATFORM_VAT_ID)
    return sold(net_minor, decision, session=session, kwh=kwh)


CPO_SERIES = self_billing_series("DE", "STN")


def self_billed_invoice() -> dict[str, Any]:
    """The CPO's invoice to the platform, issued by the platform in the CPO's name (389)."""
    return issued(
        [_cpo_line()], supplier=CPO, customer=PLATFORM, issuer=cpo_issuer("cpo-de-stn"), series=CPO_SERIES, sequence=1
    )


def self_billed_credit_note() -> dict[str, Any]:
    """The credit note cancelling the self-billed invoice's line (261)."""
    return issued(
        [credited(_cpo_line())],
        supplier=CPO,
        customer=PLATFORM,
        kind=DocumentKind.CREDIT_NOTE,
        issuer=cpo_issuer("cpo-de-stn"),
        series=CPO_SERIES,
        sequence=2,
        corrects=invoice_number(CPO_SERIES, 1),
    )


def self_billed_context(**overrides: Any) -> EInvoiceContext:
    """The CPO is the seller, the platform the buyer; the CPO is paid into its payout account."""
    values: dict[str, Any] = {
        "seller": CPO_DETAILS,
        "buyer": PLATFORM_DETAILS,
        "buyer_reference": "CPO-STN",
        "credit_transfer": CreditTransfer(
            "DE89370400440532013000", "Stromtankstelle Nord GmbH", "COBADEFFXXX", "PAYOUT-2026-12-STN"
        ),
    }
    return EInvoiceContext(**(values | overrides))


def monthly_statement(sessions: int = 40) -> dict[str, Any]:
    """A German partner's statement for November: one line per session, every few with no kWh recorded."""
    decision = domestic(customer_vat_id="DE811907980")
    lines = [
        sold(
            net_minor=137 + 391 * n % 5000,
            decision=decision,
            session=f"s-{n:03d}",
            kwh="0" if n % 7 == 0 else str(3 + Decimal("1.37") * n),
            supplied_on=date(2026, 11, 1 + n % 30),
        )
        for n in range(sessions)
    ]
    return issued(lines, period="2026-11", sequence=200)


DIRECT_DEBIT = DirectDebit("NC-MANDATE-0042", "DE98ZZZ09999999999", "DE89370400440532013000")
