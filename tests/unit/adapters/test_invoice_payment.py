"""What an invoice says about paying it, rendered from the stored document: due date, our account in the
invoice's currency and the RF reference; credit notes ask for nothing; CHF invoices carry a Swiss QR-bill
whose payload is exactly what ``qrbill`` makes for the invoice, with structured addresses (type S) and an
SCOR reference."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from qrbill import QRBill

from adapters.invoice_documents import how_to_pay, render_html, render_pdf
from adapters.swiss_qr_bill import qr_bill
from domain.invoicing.creditor_reference import creditor_reference
from domain.invoicing.documents import (
    PLATFORM_ISSUER,
    DocumentKind,
    InvoiceDocument,
    IssuedParty,
    invoice_number,
    invoice_payment,
)
from domain.invoicing.lines import InvoiceLine, invoice_line
from domain.partners import PostalAddress
from domain.payouts.bank import bank_account
from domain.vat.rates import VatCategory, VatRate
from domain.vat.treatment import TaxParty, VatDecision, VatTreatment

ISSUED = date(2026, 11, 30)
BERLIN = PostalAddress("Torstrasse", "10119", "Berlin", building_number="49")
ZURICH = PostalAddress("Bahnhofstrasse", "8001", "Zürich", building_number="10a")
ACCOUNTS = {
    "EUR": bank_account("NetworkCore GmbH", "DE", "DE02100500000054540402", "BELADEBEXXX", BERLIN),
    "CHF": bank_account("NetworkCore GmbH", "DE", "CH5604835012345678009", "UBSWCHZH80A", BERLIN),
}
PLATFORM = TaxParty(
    "NetworkCore GmbH",
    BERLIN.line("DE"),
    "DE",
    {"DE": "DE312987657", "CH": "CHE-301.845.272 MWST"},
    postal_address=BERLIN,
    payment_accounts=ACCOUNTS,
)
PARTNER = TaxParty(
    "Fahrgemeinschaft Zürich AG",
    ZURICH.line("CH"),
    "CH",
    {"CH": "CHE-109.322.551 MWST"},
    postal_address=ZURICH,
    payment_terms_days=30,
)


def line(currency: str, net_minor: int = 10_000) -> InvoiceLine:
    rate = VatRate("CH", VatCategory.STANDARD, Decimal("8.1"), date(2024, 1, 1), "test", date(2024, 1, 1))
    return invoice_line(
        session_id="s-1",
        description="Electricity for EV charging",
        quantity=Decimal(40),
        supplied_on=ISSUED,
        currency=currency,
        net_minor=net_minor,
        decision=VatDecision(VatTreatment.DOMESTIC, "CH", rate, "CHE301845272MWST", None),
        national_currency=currency,  # VAT stated in the invoice's currency: no conversion to test here
        national_rate=None,
    )


def document(currency: str, kind: DocumentKind = DocumentKind.INVOICE, issuer: str = PLATFORM_ISSUER) -> dict[str, Any]:
    number = invoice_number("NC", 123)
    return InvoiceDocument(
        kind=kind,
        number=number,
        issuer=issuer,
        series="NC",
        sequence=123,
        issue_date=ISSUED,
        supplier=IssuedParty.of(PLATFORM, "CHE301845272MWST"),
        customer=IssuedParty.of(PARTNER, "CHE109322551MWST"),
        currency=currency,
        lines=(line(currency),),
        self_billing=issuer != PLATFORM_ISSUER,
        payment=invoice_payment(kind, issuer, number, ISSUED, supplier=PLATFORM, customer=PARTNER, currency=currency),
    ).to_json()


def test_an_invoice_states_its_due_date_our_account_and_its_reference() -> None:
    issued = document("EUR")
    reference = creditor_reference("NC-000123")
    assert issued["payment"] == {
        "due_date": "2026-12-30",  # 30 days: the partner's payment terms
        "reference": reference,
        "account": {"holder": "NetworkCore GmbH", "iban": "DE02100500000054540402", "bic": "BELADEBEXXX"},
    }
    assert issued["supplier"]["postal_address"] == {
        "street": "Torstrasse",
        "building_number": "49",
        "postcode": "10119",
        "town": "Berlin",
        "country": "DE",
    }
    assert how_to_pay(issued) == [
        ("Due date", "2026-12-30"),
        ("Amount due", "108.10 EUR"),
        ("Payment reference", "RF05 NC00 0123"),
        ("Account holder", "NetworkCore GmbH"),
        ("IBAN", "DE02 1005 0000 0054 5404 02"),
        ("BIC", "BELADEBEXXX"),
    ]
    assert reference == "RF05NC000123"
    html = render_html(issued)
    for text in ("How to pay", "2026-12-30", "RF05 NC00 0123", "DE02 1005 0000 0054 5404 02", "BELADEBEXXX"):
        assert text in html
    assert "Torstrasse 49, 10119 Berlin" in html
    assert "Bahnhofstrasse 10a, 8001 Zürich" in html


def test_an_invoice_in_a_currency_we_hold_no_account_in_still_states_its_due_date_and_reference() -> None:
    issued = document("GBP")
    assert issued["payment"]["account"] is None
    assert how_to_pay(issued)[:3] == [
        ("Due date", "2026-12-30"),
        ("Amount due", "108.10 GBP"),
        ("Payment reference", "RF05 NC00 0123"),
    ]
    assert how_to_pay(issued)[3][0] == "Pay to"


def test_credit_notes_and_self_billed_invoices_are_no_open_items() -> None:
    credit = document("EUR", DocumentKind.CREDIT_NOTE)
    assert credit["payment"] is None
    assert how_to_pay(credit) == [
        ("Payment", "This credit note is not a request for payment: there is nothing to pay.")
    ]
    assert "nothing to pay" in render_html(credit)
    self_billed = document("EUR", issuer="cpo:cpo-de-stn")
    assert self_billed["payment"] is None
    assert how_to_pay(self_billed) == []
    assert "How to pay" not in render_html(self_billed)
    assert qr_bill(document("CHF", DocumentKind.CREDIT_NOTE)) is None


def structured(*parts: str) -> dict[str, str]:
    """A structured (type S) address as ``qrbill`` takes it."""
    return dict(zip(("name", "street", "house_num", "pcode", "city", "country"), parts, strict=True))


def test_a_chf_invoice_carries_the_qr_bill_qrbill_makes_for_it() -> None:
    issued = document("CHF")
    bill = qr_bill(issued)
    assert bill is not None
    expected = QRBill(
        account="CH5604835012345678009",
        creditor=structured("NetworkCore GmbH", "Torstrasse", "49", "10119", "Berlin", "DE"),
        amount="108.10",
        currency="CHF",
        debtor=structured("Fahrgemeinschaft Zürich AG", "Bahnhofstrasse", "10a", "8001", "Zürich", "CH"),
        reference_number="RF05NC000123",
        additional_information="Invoice NC-000123",
    )
    payload = bill.qr_data()
    assert payload == expected.qr_data()
    fields = payload.split("\r\n")
    assert fields[:4] == ["SPC", "0200", "1", "CH5604835012345678009"]
    assert fields[4:11] == ["S", "NetworkCore GmbH", "Torstrasse", "49", "10119", "Berlin", "DE"]  # creditor
    assert fields[18:20] == ["108.10", "CHF"]
    assert fields[20:27] == ["S", "Fahrgemeinschaft Zürich AG", "Bahnhofstrasse", "10a", "8001", "Zürich", "CH"]
    assert fields[27:30] == ["SCOR", "RF05NC000123", "Invoice NC-000123"]
    assert fields[30] == "EPD"
    pdf = render_pdf(issued)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > len(render_pdf(document("EUR")))  # the payment part's page and its QR code


@pytest.mark.parametrize("currency", ["EUR", "GBP"])
def test_only_chf_invoices_carry_a_qr_bill(currency: str) -> None:
    assert qr_bill(document(currency)) is None


def test_a_qr_bill_leaves_out_a_debtor_without_a_structured_address() -> None:
    issued = document("CHF")
    issued["customer"]["postal_address"] = None
    bill = qr_bill(issued)
    assert bill is not None
    assert bill.qr_data().split("\r\n")[20:27] == [""] * 7
