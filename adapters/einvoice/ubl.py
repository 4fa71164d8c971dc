"""An e-invoice as OASIS UBL 2.1 (Peppol BIS Billing 3.0, XRechnung UBL), with lxml, elements in the order the
UBL 2.1 XSDs fix: an ``Invoice`` for 380/389, a ``CreditNote`` (``CreditNoteTypeCode``, ``CreditNoteLine``,
``CreditedQuantity``, BT-9 in the payment means) for 381/261 (``einvoice.md`` §3.1-§3.4)."""

from __future__ import annotations

from datetime import date

from lxml import etree

from adapters.einvoice.xmltext import INVOICED_OBJECT, VAT, child, in_namespace, number, serialised
from adapters.iso20022 import default_namespace
from domain.einvoice.model import (
    EInvoice,
    Line,
    Party,
    PaymentInstructions,
    Period,
    Profile,
    specification_ids,
)

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
# BT-32's tax scheme: anything but VAT (XRechnung's examples use FC, the German Steuernummer).
TAX_NUMBER_SCHEME = "FC"
# BT-90 is the seller's (or payee's) identifier with this scheme (UBL-SR-29).
SEPA_SCHEME = "SEPA"


cac = in_namespace(CAC_NS)
cbc = in_namespace(CBC_NS)


def _iso(day: date) -> str:
    return day.isoformat()


def to_ubl(einvoice: EInvoice, profile: Profile = Profile.EN16931) -> bytes:
    credit = einvoice.type_code.is_credit_note
    namespace = CREDIT_NOTE_NS if credit else INVOICE_NS
    namespaces = {**default_namespace(namespace), "cac": CAC_NS, "cbc": CBC_NS}
    root = etree.Element(f"{{{namespace}}}{'CreditNote' if credit else 'Invoice'}", nsmap=namespaces)
    specification, process = specification_ids(profile, einvoice.type_code)
    child(root, cbc("CustomizationID"), specification)
    if process is not None:
        child(root, cbc("ProfileID"), process)
    child(root, cbc("ID"), einvoice.number)
    child(root, cbc("IssueDate"), _iso(einvoice.issue_date))
    if not credit and einvoice.due_date is not None:
        child(root, cbc("DueDate"), _iso(einvoice.due_date))
    child(root, cbc("CreditNoteTypeCode" if credit else "InvoiceTypeCode"), einvoice.type_code.value)
    for note in _notes(einvoice, profile):
        child(root, cbc("Note"), note)
    child(root, cbc("DocumentCurrencyCode"), einvoice.currency)
    if einvoice.vat_accounting_currency is not None:
        child(root, cbc("TaxCurrencyCode"), einvoice.vat_accounting_currency)
    if einvoice.buyer_reference is not None:
        child(root, cbc("BuyerReference"), einvoice.buyer_reference)
    _period(root, einvoice.period)
    preceding = einvoice.preceding_invoice
    if preceding is not None:
        reference = child(child(root, cac("BillingReference")), cac("InvoiceDocumentReference"))
        child(reference, cbc("ID"), preceding.number)
        if preceding.issue_date is not None:
            child(reference, cbc("IssueDate"), _iso(preceding.issue_date))
    creditor_id = None if einvoice.payment is None else einvoice.payment.creditor_id
    _party(child(root, cac("AccountingSupplierParty")), einvoice.seller, creditor_id)
    _party(child(root, cac("AccountingCustomerParty")), einvoice.buyer, None)
    if einvoice.payment is not None:
        _payment_means(root, einvoice.payment, einvoice.due_date if credit else None)
    if einvoice.payment_terms is not None:
        child(child(root, cac("PaymentTerms")), cbc("Note"), einvoice.payment_terms)
    _tax_totals(root, einvoice)
    _monetary_total(root, einvoice)
    for line in einvoice.lines:
        _line(root, line, einvoice.currency, credit)
    return serialised(root)


def _notes(einvoice: EInvoice, profile: Profile) -> tuple[str, ...]:
    """BT-22. Peppol allows one note unless both parties are German (PEPPOL-EN16931-R002): ours go in one."""
    if profile == Profile.PEPPOL and len(einvoice.notes) > 1:
        return ("\n".join(einvoice.notes),)
    return einvoice.notes


def _period(parent: etree._Element, period: Period) -> None:
    element = child(parent, cac("InvoicePeriod"))
    child(element, cbc("StartDate"), _iso(period.start))
    child(element, cbc("EndDate"), _iso(period.end))


def _party(role: etree._Element, party: Party, creditor_id: str | None) -> None:
    element = child(role, cac("Party"))
    if party.electronic_address is not None:
        address = party.electronic_address
        child(element, cbc("EndpointID"), address.value, schemeID=address.scheme)
    if creditor_id is not None:
        child(child(element, cac("PartyIdentification")), cbc("ID"), creditor_id, schemeID=SEPA_SCHEME)
    postal = child(element, cac("PostalAddress"))
    if party.address.line_one is not None:
        child(postal, cbc("StreetName"), party.address.line_one)
    if party.address.city is not None:
        child(postal, cbc("CityName"), party.address.city)
    if party.address.postcode is not None:
        child(postal, cbc("PostalZone"), party.address.postcode)
    child(child(postal, cac("Country")), cbc("IdentificationCode"), party.address.country)
    for tax_id, scheme in ((party.vat_id, VAT), (party.tax_registration_id, TAX_NUMBER_SCHEME)):
        if tax_id is not None:
            tax_scheme = child(element, cac("PartyTaxScheme"))
            child(tax_scheme, cbc("CompanyID"), tax_id)
            child(child(tax_scheme, cac("TaxScheme")), cbc("ID"), scheme)
    legal = child(element, cac("PartyLegalEntity"))
    child(legal, cbc("RegistrationName"), party.name)
    if party.legal_registration_id is not None:
        child(legal, cbc("CompanyID"), party.legal_registration_id)
    if party.contact is not None:
        contact = child(element, cac("Contact"))
        child(contact, cbc("Name"), party.contact.name)
        child(contact, cbc("Telephone"), party.contact.telephone)
        child(contact, cbc("ElectronicMail"), party.contact.email)


def _payment_means(root: etree._Element, payment: PaymentInstructions, due_date: date | None) -> None:
    """BG-16; a credit note states its due date (BT-9) here, having no header element for it."""
    means = child(root, cac("PaymentMeans"))
    child(means, cbc("PaymentMeansCode"), payment.means.value)
    if due_date is not None:
        child(means, cbc("PaymentDueDate"), _iso(due_date))
    if payment.remittance_information is not None:
        child(means, cbc("PaymentID"), payment.remittance_information)
    if payment.payee_iban is not None:
        account = child(means, cac("PayeeFinancialAccount"))
        child(account, cbc("ID"), payment.payee_iban)
        if payment.payee_account_name is not None:
            child(account, cbc("Name"), payment.payee_account_name)
        if payment.payee_bic is not None:
            child(child(account, cac("FinancialInstitutionBranch")), cbc("ID"), payment.payee_bic)
    if payment.mandate_reference is not None or payment.debited_iban is not None:
        mandate = child(means, cac("PaymentMandate"))
        if payment.mandate_reference is not None:
            child(mandate, cbc("ID"), payment.mandate_reference)
        if payment.debited_iban is not None:
            child(child(mandate, cac("PayerFinancialAccount")), cbc("ID"), payment.debited_iban)


def _tax_totals(root: etree._Element, einvoice: EInvoice) -> None:
    """The BT-110 total with its BG-23 subtotals; BT-111 in a second total without subtotals (R053-R055)."""
    currency = einvoice.currency
    total = child(root, cac("TaxTotal"))
    child(total, cbc("TaxAmount"), number(einvoice.totals.vat), currencyID=currency)
    for group in einvoice.vat_breakdown:
        subtotal = child(total, cac("TaxSubtotal"))
        child(subtotal, cbc("TaxableAmount"), number(group.taxable_amount), currencyID=currency)
        child(subtotal, cbc("TaxAmount"), number(group.tax_amount), currencyID=currency)
        category = child(subtotal, cac("TaxCategory"))
        child(category, cbc("ID"), group.category.value)
        child(category, cbc("Percent"), number(group.rate))
        if group.exemption_reason_code is not None:
            child(category, cbc("TaxExemptionReasonCode"), group.exemption_reason_code)
        if group.exemption_reason is not None:
            child(category, cbc("TaxExemptionReason"), group.exemption_reason)
        child(child(category, cac("TaxScheme")), cbc("ID"), VAT)
    accounting_currency = einvoice.vat_accounting_currency
    accounting_vat = einvoice.totals.vat_in_accounting_currency
    if accounting_currency is not None and accounting_vat is not None:
        child(child(root, cac("TaxTotal")), cbc("TaxAmount"), number(accounting_vat), currencyID=accounting_currency)


def _monetary_total(root: etree._Element, einvoice: EInvoice) -> None:
    totals, currency = einvoice.totals, einvoice.currency
    element = child(root, cac("LegalMonetaryTotal"))
    child(element, cbc("LineExtensionAmount"), number(totals.line_net), currencyID=currency)
    child(element, cbc("TaxExclusiveAmount"), number(totals.tax_exclusive), currencyID=currency)
    child(element, cbc("TaxInclusiveAmount"), number(totals.tax_inclusive), currencyID=currency)
    child(element, cbc("PrepaidAmount"), number(totals.prepaid), currencyID=currency)
    child(element, cbc("PayableAmount"), number(totals.payable), currencyID=currency)


def _line(root: etree._Element, line: Line, currency: str, credit: bool) -> None:
    element = child(root, cac("CreditNoteLine" if credit else "InvoiceLine"))
    child(element, cbc("ID"), line.id)
    child(
        element,
        cbc("CreditedQuantity" if credit else "InvoicedQuantity"),
        number(line.quantity),
        unitCode=line.unit.value,
    )
    child(element, cbc("LineExtensionAmount"), number(line.net_amount), currencyID=currency)
    _period(element, line.period)
    reference = child(element, cac("DocumentReference"))
    child(reference, cbc("ID"), line.object_id)
    child(reference, cbc("DocumentTypeCode"), INVOICED_OBJECT)
    item = child(element, cac("Item"))
    child(item, cbc("Name"), line.item_name)
    category = child(item, cac("ClassifiedTaxCategory"))
    child(category, cbc("ID"), line.vat_category.value)
    if line.vat_rate is not None:
        child(category, cbc("Percent"), number(line.vat_rate))
    child(child(category, cac("TaxScheme")), cbc("ID"), VAT)
    child(child(element, cac("Price")), cbc("PriceAmount"), number(line.net_price), currencyID=currency)
