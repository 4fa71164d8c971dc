"""``networkcore bench``'s e-invoice rows: documents built, rendered and validated per second, per format, as
issuing does it for every document (``adapters.einvoice.issue.validated_xml``), on one thread; and how long
compiling the rules once per process takes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from adapters.einvoice.issue import validated_xml
from adapters.einvoice.validation import warm_up
from domain.einvoice.build import CreditTransfer, EInvoiceContext, PartyDetails, einvoice_from_document
from domain.einvoice.model import Contact, EInvoiceFormat, ElectronicAddress
from domain.invoicing.documents import (
    PLATFORM_ISSUER,
    DocumentKind,
    InvoiceDocument,
    IssuedParty,
    cpo_issuer,
    invoice_number,
    invoice_payment,
)
from domain.invoicing.lines import InvoiceLine, invoice_line
from domain.partners import PostalAddress
from domain.payouts.bank import bank_account
from domain.vat.rates import VatCategory, VatRate
from domain.vat.treatment import TaxParty, VatDecision, VatTreatment

ROUNDS = 20
BATCHES = 3
STATEMENT_LINES = 40
ISSUED = date(2026, 12, 1)
BERLIN = PostalAddress("Torstrasse", "10119", "Berlin", building_number="49")
MUNICH = PostalAddress("Leopoldstrasse", "80802", "München", building_number="12")
PLATFORM = TaxParty(
    "NetworkCore GmbH",
    BERLIN.line("DE"),
    "DE",
    {"DE": "DE312987657"},
    postal_address=BERLIN,
    payment_accounts={"EUR": bank_account("NetworkCore GmbH", "DE", "DE02100500000054540402", "BELADEBEXXX", BERLIN)},
)
PARTNER = TaxParty("Fahrwerk Mobility GmbH", MUNICH.line("DE"), "DE", {"DE": "DE281045677"}, postal_address=MUNICH)
CPO = TaxParty("Stromnetz Laden GmbH", MUNICH.line("DE"), "DE", {"DE": "DE276543216"}, postal_address=MUNICH)
CONTACT = Contact("Billing", "+49 30 0000000", "billing@networkcore.example")
PLATFORM_DETAILS = PartyDetails("HRB 000000 B", None, ElectronicAddress("9930", "DE312987657"), CONTACT)
PARTNER_DETAILS = PartyDetails(None, None, ElectronicAddress("9930", "DE281045677"), CONTACT)
GERMAN_VAT = VatRate("DE", VatCategory.STANDARD, Decimal(19), date(2007, 1, 1), "bench", date(2007, 1, 1))


@dataclass(frozen=True, slots=True)
class EInvoiceRates:
    compile_s: float  # loading every XSD and compiling every stylesheet, once per process
    per_second: dict[str, float]  # "<document> as <format>" -> documents per second


def _line(n: int, supplier: TaxParty, customer: TaxParty) -> InvoiceLine:
    decision = VatDecision(VatTreatment.DOMESTIC, "DE", GERMAN_VAT, supplier.vat_id_in("DE"), customer.vat_id_in("DE"))
    return invoice_line(
        session_id=f"bench-{n:04d}",
        description=f"Electricity for EV charging, session bench-{n:04d}, München Leopoldstrasse",
        quantity=Decimal("12.5") + n,
        supplied_on=date(2026, 11, 1 + n % 30),
        currency="EUR",
        net_minor=499 + 137 * n,
        decision=decision,
        national_currency="EUR",
        national_rate=None,
    )


def _document(lines: list[InvoiceLine], supplier: TaxParty, customer: TaxParty, issuer: str) -> dict[str, Any]:
    series = "NC" if issuer == PLATFORM_ISSUER else "SB-DESTN"
    number = invoice_number(series, 4711)
    kind = DocumentKind.INVOICE
    return InvoiceDocument(
        kind=kind,
        number=number,
        issuer=issuer,
        series=series,
        sequence=4711,
        issue_date=ISSUED,
        supplier=IssuedParty.of(supplier, supplier.vat_id_in("DE")),
        customer=IssuedParty.of(customer, customer.vat_id_in("DE")),
        currency="EUR",
        lines=tuple(lines),
        self_billing=issuer != PLATFORM_ISSUER,
        period="2026-11" if len(lines) > 1 else None,
        corrects=None,
        payment=invoice_payment(kind, issuer, number, ISSUED, supplier=supplier, customer=customer, currency="EUR"),
    ).to_json()


def _rate(document: dict[str, Any], context: EInvoiceContext, fmt: EInvoiceFormat) -> float:
    """The best of ``BATCHES`` batches: the machine is shared, and the others' load is not ours."""
    validated_xml(einvoice_from_document(document, context), fmt)  # once before timing
    best = 0.0
    for _ in range(BATCHES):
        began = time.perf_counter()
        for _ in range(ROUNDS):
            validated_xml(einvoice_from_document(document, context), fmt)
        best = max(best, ROUNDS / (time.perf_counter() - began))
    return best


def einvoice_rates() -> EInvoiceRates:
    began = time.perf_counter()
    warm_up()
    compile_s = time.perf_counter() - began
    to_partner = EInvoiceContext(seller=PLATFORM_DETAILS, buyer=PARTNER_DETAILS, buyer_reference="FW-AP-2026")
    invoice = _document([_line(0, PLATFORM, PARTNER)], PLATFORM, PARTNER, PLATFORM_ISSUER)
    statement = _document(
        [_line(n, PLATFORM, PARTNER) for n in range(STATEMENT_LINES)], PLATFORM, PARTNER, PLATFORM_ISSUER
    )
    self_billed = _document([_line(0, CPO, PLATFORM)], CPO, PLATFORM, cpo_issuer("cpo-de-stn"))
    from_cpo = EInvoiceContext(
        seller=PARTNER_DETAILS,
        buyer=PLATFORM_DETAILS,
        buyer_reference="SB-DESTN",
        credit_transfer=CreditTransfer("DE89370400440532013000", "Stromnetz Laden GmbH"),
    )
    rates = {f"a session's invoice as {fmt}": _rate(invoice, to_partner, fmt) for fmt in EInvoiceFormat}
    rates["a CPO's self-billed invoice (389) as FACTURX"] = _rate(self_billed, from_cpo, EInvoiceFormat.FACTURX)
    for fmt in (EInvoiceFormat.FACTURX, EInvoiceFormat.UBL):
        rates[f"a {STATEMENT_LINES}-session statement as {fmt}"] = _rate(statement, to_partner, fmt)
    return EInvoiceRates(compile_s, rates)
