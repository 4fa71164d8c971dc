"""An issued document as an EN 16931 e-invoice (``einvoice.md`` §2, §7), pure.

Built from the stored JSON document, the source of truth of everything issued (``InvoiceDocument.to_json``;
an ``InvoiceDocument`` is turned into it first), so the XML says exactly what the PDF says. What the document
does not carry (legal registration, electronic addresses, the seller's contact, the buyer's reference, a
direct-debit mandate, the account a self-billed invoice is paid into) comes from the caller in an
``EInvoiceContext``.

Amounts are summed in minor units: BT-106 is the sum of the lines, each BG-23 the sum of its lines' net and VAT
(VAT was rounded once per line at issue and is never recomputed), BT-110 the sum of BG-23, BT-112 = BT-109 +
BT-110 and BT-115 = BT-112 - BT-113. Credit notes state their amounts positive (381/261), as receivers expect.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from domain.einvoice.model import (
    Address,
    Contact,
    EInvoice,
    ElectronicAddress,
    Line,
    Party,
    PaymentInstructions,
    PaymentMeans,
    Period,
    PrecedingInvoice,
    Totals,
    TypeCode,
    Unit,
    VatBreakdown,
    VatCategory,
)
from domain.errors import DomainError
from domain.invoicing.creditor_reference import printed
from domain.invoicing.documents import DocumentKind, InvoiceDocument
from domain.invoicing.lines import InvoiceLine
from domain.money import from_minor, minor_unit_places, to_minor
from domain.partners import PostalAddress
from domain.vat.treatment import LEGAL_NOTES, VatTreatment

# PEPPOL-EN16931-R120 allows quantity x price to miss the line net by 0.02; we keep half of that.
PRICE_TOLERANCE = Decimal("0.01")
# BR-DEC: EN 16931 amounts have at most two decimals.
MAX_AMOUNT_PLACES = 2
REVERSE_CHARGE_CODE = "VATEX-EU-AE"
NOT_SUBJECT_CODE = "VATEX-EU-O"
# BT-20 of documents without payment instructions (BR-CO-25 asks for BT-9 or BT-20 whenever an amount is due).
NO_PAYMENT_INSTRUCTIONS = {
    TypeCode.INVOICE: "Payable under the contract's payment terms, quoting the invoice number.",
    TypeCode.CREDIT_NOTE: "This credit note is not a request for payment: there is nothing to pay.",
    TypeCode.SELF_BILLED_INVOICE: (
        "Self-billed invoice: the customer pays the amount to the supplier's account under the self-billing "
        "agreement; there is nothing to pay."
    ),
    TypeCode.SELF_BILLED_CREDIT_NOTE: (
        "This self-billed credit note is not a request for payment: it is settled under the self-billing agreement."
    ),
}


class EInvoiceNotPossible(DomainError):
    """The document cannot be stated as one EN 16931 e-invoice (the message says which rule stands in the way)."""

    code = "EINVOICE_NOT_POSSIBLE"


class EInvoiceDataMissing(DomainError):
    """The e-invoice needs a datum the caller did not give; ``field`` names it in ``EInvoiceContext``."""

    code = "EINVOICE_DATA_MISSING"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class PartyDetails:
    """What an e-invoice states about a party beyond the issued document."""

    legal_registration_id: str | None = None  # BT-30 / BT-47, e.g. "HRB 12345 B"
    tax_registration_id: str | None = None  # BT-32 (seller only)
    electronic_address: ElectronicAddress | None = None  # BT-34 / BT-49
    contact: Contact | None = None  # BG-6 (seller)


@dataclass(frozen=True, slots=True)
class DirectDebit:
    """BG-19: how an invoice of ours is collected by SEPA Direct Debit."""

    mandate_reference: str  # BT-89, the UMR
    creditor_id: str  # BT-90, our SEPA creditor identifier
    debited_iban: str  # BT-91, the partner's account


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """BG-17: the account a document without payment instructions of its own is settled into (a CPO's payout
    account on a self-billed invoice, the account a credit note is refunded to)."""

    iban: str  # BT-84
    account_name: str | None = None  # BT-85
    bic: str | None = None  # BT-86
    reference: str | None = None  # BT-83 (e.g. the payout's end-to-end id)


@dataclass(frozen=True, slots=True)
class EInvoiceContext:
    seller: PartyDetails = field(default_factory=PartyDetails)
    buyer: PartyDetails = field(default_factory=PartyDetails)
    buyer_reference: str | None = None  # BT-10 (XRechnung: mandatory; Leitweg-ID for public buyers)
    direct_debit: DirectDebit | None = None  # our invoice is collected under this mandate
    credit_transfer: CreditTransfer | None = None  # a document asking for no payment is settled into this
    preceding_invoice_date: date | None = None  # BT-26 of a credit note's corrected invoice


def einvoice_from_document(
    document: Mapping[str, Any] | InvoiceDocument, context: EInvoiceContext | None = None
) -> EInvoice:
    """The EN 16931 model of an issued document; refuses one that EN 16931 cannot state."""
    issued = document.to_json() if isinstance(document, InvoiceDocument) else document
    context = context or EInvoiceContext()
    currency = issued["currency"]
    _check_amount_places(currency)
    type_code = type_code_of(issued)
    sign = -1 if type_code.is_credit_note else 1
    items: Sequence[Mapping[str, Any]] = issued["lines"]
    not_subject = _not_subject(items)
    if not_subject and context.seller.legal_registration_id is None:
        raise EInvoiceDataMissing(
            "seller.legal_registration_id",
            "an invoice outside the scope of VAT states no VAT id (BR-O-02), so the seller is identified by its "
            "legal registration (BR-CO-26)",
        )
    lines = tuple(_line(number, item, sign) for number, item in enumerate(items, start=1))
    breakdown = _vat_breakdown(items, sign)
    accounting_currency, accounting_vat = _vat_in_accounting_currency(items, currency, sign)
    totals = _totals(lines, breakdown, currency, accounting_vat)
    _check_against_document(issued, totals, sign)
    due_date, payment, terms = _payment(issued, type_code, context)
    corrects = issued.get("corrects")
    return EInvoice(
        number=issued["number"],
        issue_date=date.fromisoformat(issued["issue_date"]),
        type_code=type_code,
        currency=currency,
        vat_accounting_currency=accounting_currency,
        seller=_party(issued["supplier"], context.seller, state_vat_id=not not_subject),
        buyer=_party(issued["customer"], context.buyer, state_vat_id=not not_subject),
        period=_period(issued),
        lines=lines,
        vat_breakdown=breakdown,
        totals=totals,
        notes=tuple(issued["notes"]) + _fx_notes(items),
        buyer_reference=context.buyer_reference,
        preceding_invoice=None if corrects is None else PrecedingInvoice(corrects, context.preceding_invoice_date),
        due_date=due_date,
        payment_terms=terms,
        payment=payment,
    )


def type_code_of(issued: Mapping[str, Any]) -> TypeCode:
    """BT-3: 380/381, or 389/261 for what the platform issues in a CPO's name."""
    credit = DocumentKind(issued["kind"]) == DocumentKind.CREDIT_NOTE
    if issued["self_billing"]:
        return TypeCode.SELF_BILLED_CREDIT_NOTE if credit else TypeCode.SELF_BILLED_INVOICE
    return TypeCode.CREDIT_NOTE if credit else TypeCode.INVOICE


def _check_amount_places(currency: str) -> None:
    if minor_unit_places(currency) > MAX_AMOUNT_PLACES:
        raise EInvoiceNotPossible(f"{currency} amounts have more than two decimals, which EN 16931 cannot state")


def _not_subject(items: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the document is out of scope of VAT; BR-O-11..14 forbid mixing that with any other category."""
    treatments = {VatTreatment(item["vat_treatment"]) for item in items}
    if VatTreatment.OUT_OF_SCOPE not in treatments:
        return False
    if len(treatments) > 1:
        raise EInvoiceNotPossible(
            "BR-O-11: supplies outside the scope of VAT cannot share an EN 16931 invoice with taxed or "
            "reverse-charged ones: issue them on documents of their own"
        )
    return True


NOT_SUBJECT_GROUP = "O"


def einvoice_group(line: InvoiceLine) -> str:
    """What a line shares with every other line one EN 16931 document can state: lines outside the scope of
    VAT stand apart (BR-O-11), lines taxed in a currency other than the document's name it (one BT-6 per
    document); all other lines (VAT in the document's currency, reverse charge) are ``""``. A monthly
    statement collects the lines of one group, so that it is one e-invoice."""
    if line.vat.treatment == VatTreatment.OUT_OF_SCOPE:
        return NOT_SUBJECT_GROUP
    if line.vat.treatment == VatTreatment.DOMESTIC and line.national.currency != line.currency:
        return line.national.currency
    return ""


def vat_category(treatment: VatTreatment, percent: Decimal) -> tuple[VatCategory, Decimal | None]:
    """BT-151/BT-152 of a line's VAT treatment (no rate when not subject to VAT, BR-O-05)."""
    if treatment == VatTreatment.REVERSE_CHARGE:
        return VatCategory.REVERSE_CHARGE, Decimal(0)
    if treatment == VatTreatment.OUT_OF_SCOPE:
        return VatCategory.NOT_SUBJECT, None
    return (VatCategory.STANDARD if percent > 0 else VatCategory.ZERO_RATED), percent


def _line_category(item: Mapping[str, Any]) -> tuple[VatCategory, Decimal | None]:
    rate = item["vat_rate"]
    return vat_category(VatTreatment(item["vat_treatment"]), Decimal(0) if rate is None else Decimal(rate["percent"]))


def _minor(item: Mapping[str, Any], key: str, sign: int) -> int:
    return sign * to_minor(Decimal(item[key]), item["currency"])


def _line(number: int, item: Mapping[str, Any], sign: int) -> Line:
    """One line per session: its kWh at the average price when that gives the line net within R120's slack,
    otherwise one unit (C62) at the line net."""
    currency = item["currency"]
    net = from_minor(_minor(item, "net", sign), currency)
    quantity = Decimal(item["quantity"])
    price = abs(Decimal(item["unit_price"]))
    unit = Unit.KILOWATT_HOUR
    if quantity <= 0 or abs(quantity * price - net) > PRICE_TOLERANCE:
        quantity, price, unit = Decimal(1), net, Unit.ONE
    category, rate = _line_category(item)
    supplied = date.fromisoformat(item["supplied_on"])
    return Line(
        id=str(number),
        object_id=item["session_id"],
        quantity=quantity,
        unit=unit,
        net_amount=net,
        period=Period(supplied, supplied),
        net_price=price,
        item_name=item["description"],
        vat_category=category,
        vat_rate=rate,
    )


def _vat_breakdown(items: Sequence[Mapping[str, Any]], sign: int) -> tuple[VatBreakdown, ...]:
    """BG-23 per category and rate, in order of first appearance: the sums of its lines' net and VAT."""
    sums: dict[tuple[VatCategory, Decimal], tuple[int, int]] = {}
    for item in items:
        category, rate = _line_category(item)
        key = (category, Decimal(0) if rate is None else rate)
        net, vat = sums.get(key, (0, 0))
        sums[key] = (net + _minor(item, "net", sign), vat + _minor(item, "vat", sign))
    currency = items[0]["currency"]
    return tuple(
        VatBreakdown(category, rate, from_minor(net, currency), from_minor(vat, currency), *_exemption(category))
        for (category, rate), (net, vat) in sums.items()
    )


def _exemption(category: VatCategory) -> tuple[str | None, str | None]:
    """BT-120/BT-121: the reason no VAT is charged (BR-AE-10, BR-O-10); none for S and Z."""
    if category == VatCategory.REVERSE_CHARGE:
        return LEGAL_NOTES[VatTreatment.REVERSE_CHARGE], REVERSE_CHARGE_CODE
    if category == VatCategory.NOT_SUBJECT:
        return LEGAL_NOTES[VatTreatment.OUT_OF_SCOPE], NOT_SUBJECT_CODE
    return None, None


def _vat_in_accounting_currency(
    items: Sequence[Mapping[str, Any]], currency: str, sign: int
) -> tuple[str | None, Decimal | None]:
    """BT-6 and BT-111: the national currency the VAT is due in, when it is not the invoice's
    (Art. 230). EN 16931 has one such currency per document."""
    taxed = [item for item in items if VatTreatment(item["vat_treatment"]) == VatTreatment.DOMESTIC]
    national = {item["national_vat"]["currency"] for item in taxed}
    if not national - {currency}:
        return None, None
    if len(national) > 1:
        raise EInvoiceNotPossible(
            f"VAT is due in {', '.join(sorted(national))}: an EN 16931 invoice states VAT in one accounting "
            "currency (BT-6) besides its own; issue the supplies on separate documents"
        )
    (accounting,) = national
    _check_amount_places(accounting)
    vat = sum(sign * to_minor(Decimal(item["national_vat"]["vat"]), accounting) for item in taxed)
    return accounting, from_minor(vat, accounting)


def _totals(
    lines: Sequence[Line], breakdown: Sequence[VatBreakdown], currency: str, accounting_vat: Decimal | None
) -> Totals:
    line_net = sum(to_minor(line.net_amount, currency) for line in lines)
    vat = sum(to_minor(group.tax_amount, currency) for group in breakdown)
    prepaid = 0
    return Totals(
        line_net=from_minor(line_net, currency),
        tax_exclusive=from_minor(line_net, currency),
        vat=from_minor(vat, currency),
        vat_in_accounting_currency=accounting_vat,
        tax_inclusive=from_minor(line_net + vat, currency),
        prepaid=from_minor(prepaid, currency),
        payable=from_minor(line_net + vat - prepaid, currency),
    )


def _check_against_document(issued: Mapping[str, Any], totals: Totals, sign: int) -> None:
    """The e-invoice's totals are the document's (for a credit note, its amounts made positive)."""
    stated = issued["totals"]
    assert (sign * Decimal(stated["net"]), sign * Decimal(stated["vat"]), sign * Decimal(stated["gross"])) == (
        totals.tax_exclusive,
        totals.vat,
        totals.tax_inclusive,
    ), f"{issued['number']}: the lines do not add up to the document's totals"


def _party(issued: Mapping[str, Any], details: PartyDetails, *, state_vat_id: bool) -> Party:
    """BG-4/BG-7 from the document's party; a document outside the scope of VAT states no VAT id (BR-O-02..04)."""
    country = issued["country"]
    postal = issued.get("postal_address")
    if postal is None:
        address = Address(country=country, line_one=issued["address"] or None)
    else:
        street = PostalAddress(postal["street"], postal["postcode"], postal["town"], postal["building_number"])
        address = Address(
            country=country, line_one=street.street_line(country), city=postal["town"], postcode=postal["postcode"]
        )
    return Party(
        name=issued["name"],
        address=address,
        vat_id=issued["vat_id"] if state_vat_id else None,
        legal_registration_id=details.legal_registration_id,
        tax_registration_id=details.tax_registration_id,
        electronic_address=details.electronic_address,
        contact=details.contact,
    )


def _period(issued: Mapping[str, Any]) -> Period:
    """BG-14: a statement's month, otherwise the days the lines were supplied on."""
    month = issued.get("statement_period")
    if month:
        year, number = (int(part) for part in month.split("-"))
        return Period(date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1]))
    supply = issued["supply_period"]
    return Period(date.fromisoformat(supply["from"]), date.fromisoformat(supply["to"]))


def _fx_notes(items: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """BT-22: the reference rate VAT was converted at (EN 16931 has no element for it, ``einvoice.md`` §3.6)."""
    notes = []
    for item in items:
        fx = item["national_vat"]["fx_rate"]
        if fx is not None and VatTreatment(item["vat_treatment"]) == VatTreatment.DOMESTIC:
            notes.append(
                f"VAT stated in {fx['quote']} at 1 {fx['base']} = {fx['rate']} {fx['quote']}, {fx['source']}, "
                f"{fx['as_of']} (Art. 230 VAT Directive)."
            )
    return tuple(dict.fromkeys(notes))


def _payment(
    issued: Mapping[str, Any], type_code: TypeCode, context: EInvoiceContext
) -> tuple[date | None, PaymentInstructions | None, str]:
    """BT-9, BG-16 and BT-20. Our invoices to a partner are collected by direct debit under its mandate or paid
    by transfer into our account, quoting the RF. Documents without payment instructions (credit notes,
    self-billed invoices, invoices issued before there were any) say how they are settled, with the account
    they are settled into when the caller gives one; a credit note without one is set off (97), which also
    gives it the payment instructions XRechnung asks of every document (BR-DE-1)."""
    instructions = issued.get("payment")
    if instructions is None:
        if context.direct_debit is not None:
            raise EInvoiceNotPossible(f"{issued['number']} asks for no payment: there is nothing to collect")
        transfer = context.credit_transfer
        payment = None
        if transfer is not None:
            payment = PaymentInstructions(
                means=PaymentMeans.SEPA_CREDIT_TRANSFER,
                remittance_information=transfer.reference,
                payee_iban=transfer.iban,
                payee_account_name=transfer.account_name,
                payee_bic=transfer.bic,
            )
        elif type_code.is_credit_note:
            payment = PaymentInstructions(means=PaymentMeans.CLEARING_BETWEEN_PARTNERS)
        return None, payment, NO_PAYMENT_INSTRUCTIONS[type_code]
    due = date.fromisoformat(instructions["due_date"])
    reference = instructions["reference"]
    debit = context.direct_debit
    if debit is not None:
        return (
            due,
            PaymentInstructions(
                means=PaymentMeans.SEPA_DIRECT_DEBIT,
                remittance_information=reference,
                mandate_reference=debit.mandate_reference,
                creditor_id=debit.creditor_id,
                debited_iban=debit.debited_iban,
            ),
            f"Collected by SEPA direct debit under mandate {debit.mandate_reference} on or after {due.isoformat()}.",
        )
    account = instructions["account"]
    if account is None:
        return due, None, f"Due {due.isoformat()}: ask us for our account and quote {printed(reference)}."
    return (
        due,
        PaymentInstructions(
            means=PaymentMeans.SEPA_CREDIT_TRANSFER,
            remittance_information=reference,
            payee_iban=account["iban"],
            payee_account_name=account["holder"],
            payee_bic=account["bic"],
        ),
        f"Due {due.isoformat()} by credit transfer quoting {printed(reference)}.",
    )
