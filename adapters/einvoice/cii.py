"""An e-invoice as UN/CEFACT Cross Industry Invoice D16B (Factur-X / ZUGFeRD EN 16931, XRechnung CII), with
lxml, elements in the order the D16B XSD fixes (``einvoice.md`` §3.1-§3.2). Credit notes keep the root: BT-3
tells them apart."""

from __future__ import annotations

from datetime import date

from lxml import etree

from adapters.einvoice.xmltext import INVOICED_OBJECT, VAT, child, in_namespace, number, serialised
from domain.einvoice.model import (
    EInvoice,
    Line,
    Party,
    PaymentInstructions,
    Period,
    Profile,
    VatBreakdown,
    specification_ids,
)

RSM_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM_NS = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT_NS = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT_NS = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NAMESPACES = {"rsm": RSM_NS, "ram": RAM_NS, "udt": UDT_NS, "qdt": QDT_NS}
rsm = in_namespace(RSM_NS)
ram = in_namespace(RAM_NS)


def _date(parent: etree._Element, tag: str, day: date, namespace: str = UDT_NS) -> None:
    """A date as CII writes it: format 102 (YYYYMMDD)."""
    holder = child(parent, tag)
    child(holder, f"{{{namespace}}}DateTimeString", day.strftime("%Y%m%d"), format="102")


def to_cii(einvoice: EInvoice, profile: Profile = Profile.EN16931) -> bytes:
    root = etree.Element(rsm("CrossIndustryInvoice"), nsmap=NAMESPACES)
    specification, process = specification_ids(profile, einvoice.type_code)
    context = child(root, rsm("ExchangedDocumentContext"))
    if process is not None:
        child(child(context, ram("BusinessProcessSpecifiedDocumentContextParameter")), ram("ID"), process)
    child(child(context, ram("GuidelineSpecifiedDocumentContextParameter")), ram("ID"), specification)

    document = child(root, rsm("ExchangedDocument"))
    child(document, ram("ID"), einvoice.number)
    child(document, ram("TypeCode"), einvoice.type_code.value)
    _date(document, ram("IssueDateTime"), einvoice.issue_date)
    for note in einvoice.notes:
        child(child(document, ram("IncludedNote")), ram("Content"), note)

    transaction = child(root, rsm("SupplyChainTradeTransaction"))
    for line in einvoice.lines:
        _line(transaction, line)
    agreement = child(transaction, ram("ApplicableHeaderTradeAgreement"))
    if einvoice.buyer_reference is not None:
        child(agreement, ram("BuyerReference"), einvoice.buyer_reference)
    _party(agreement, ram("SellerTradeParty"), einvoice.seller)
    _party(agreement, ram("BuyerTradeParty"), einvoice.buyer)
    child(transaction, ram("ApplicableHeaderTradeDelivery"))
    _settlement(transaction, einvoice)
    return serialised(root)


def _line(transaction: etree._Element, line: Line) -> None:
    item = child(transaction, ram("IncludedSupplyChainTradeLineItem"))
    child(child(item, ram("AssociatedDocumentLineDocument")), ram("LineID"), line.id)
    child(child(item, ram("SpecifiedTradeProduct")), ram("Name"), line.item_name)
    price = child(child(item, ram("SpecifiedLineTradeAgreement")), ram("NetPriceProductTradePrice"))
    child(price, ram("ChargeAmount"), number(line.net_price))
    delivery = child(item, ram("SpecifiedLineTradeDelivery"))
    child(delivery, ram("BilledQuantity"), number(line.quantity), unitCode=line.unit.value)
    settlement = child(item, ram("SpecifiedLineTradeSettlement"))
    tax = child(settlement, ram("ApplicableTradeTax"))
    child(tax, ram("TypeCode"), VAT)
    child(tax, ram("CategoryCode"), line.vat_category.value)
    if line.vat_rate is not None:
        child(tax, ram("RateApplicablePercent"), number(line.vat_rate))
    _period(settlement, line.period)
    summation = child(settlement, ram("SpecifiedTradeSettlementLineMonetarySummation"))
    child(summation, ram("LineTotalAmount"), number(line.net_amount))
    reference = child(settlement, ram("AdditionalReferencedDocument"))
    child(reference, ram("IssuerAssignedID"), line.object_id)
    child(reference, ram("TypeCode"), INVOICED_OBJECT)


def _period(parent: etree._Element, period: Period) -> None:
    billing = child(parent, ram("BillingSpecifiedPeriod"))
    _date(billing, ram("StartDateTime"), period.start)
    _date(billing, ram("EndDateTime"), period.end)


def _party(agreement: etree._Element, tag: str, party: Party) -> None:
    element = child(agreement, tag)
    child(element, ram("Name"), party.name)
    if party.legal_registration_id is not None:
        child(child(element, ram("SpecifiedLegalOrganization")), ram("ID"), party.legal_registration_id)
    if party.contact is not None:
        contact = child(element, ram("DefinedTradeContact"))
        child(contact, ram("PersonName"), party.contact.name)
        child(child(contact, ram("TelephoneUniversalCommunication")), ram("CompleteNumber"), party.contact.telephone)
        child(child(contact, ram("EmailURIUniversalCommunication")), ram("URIID"), party.contact.email)
    address = child(element, ram("PostalTradeAddress"))
    if party.address.postcode is not None:
        child(address, ram("PostcodeCode"), party.address.postcode)
    if party.address.line_one is not None:
        child(address, ram("LineOne"), party.address.line_one)
    if party.address.city is not None:
        child(address, ram("CityName"), party.address.city)
    child(address, ram("CountryID"), party.address.country)
    if party.electronic_address is not None:
        communication = child(element, ram("URIUniversalCommunication"))
        child(communication, ram("URIID"), party.electronic_address.value, schemeID=party.electronic_address.scheme)
    if party.vat_id is not None:
        child(child(element, ram("SpecifiedTaxRegistration")), ram("ID"), party.vat_id, schemeID="VA")
    if party.tax_registration_id is not None:
        child(child(element, ram("SpecifiedTaxRegistration")), ram("ID"), party.tax_registration_id, schemeID="FC")


def _settlement(transaction: etree._Element, einvoice: EInvoice) -> None:
    settlement = child(transaction, ram("ApplicableHeaderTradeSettlement"))
    payment = einvoice.payment
    if payment is not None and payment.creditor_id is not None:
        child(settlement, ram("CreditorReferenceID"), payment.creditor_id)
    if payment is not None and payment.remittance_information is not None:
        child(settlement, ram("PaymentReference"), payment.remittance_information)
    if einvoice.vat_accounting_currency is not None:
        child(settlement, ram("TaxCurrencyCode"), einvoice.vat_accounting_currency)
    child(settlement, ram("InvoiceCurrencyCode"), einvoice.currency)
    if payment is not None:
        _payment_means(settlement, payment)
    for group in einvoice.vat_breakdown:
        _vat(settlement, group)
    _period(settlement, einvoice.period)
    if einvoice.payment_terms is not None or einvoice.due_date is not None or _mandate(payment) is not None:
        terms = child(settlement, ram("SpecifiedTradePaymentTerms"))
        if einvoice.payment_terms is not None:
            child(terms, ram("Description"), einvoice.payment_terms)
        if einvoice.due_date is not None:
            _date(terms, ram("DueDateDateTime"), einvoice.due_date)
        mandate = _mandate(payment)
        if mandate is not None:
            child(terms, ram("DirectDebitMandateID"), mandate)
    _totals(settlement, einvoice)
    preceding = einvoice.preceding_invoice
    if preceding is not None:
        reference = child(settlement, ram("InvoiceReferencedDocument"))
        child(reference, ram("IssuerAssignedID"), preceding.number)
        if preceding.issue_date is not None:
            _date(reference, ram("FormattedIssueDateTime"), preceding.issue_date, QDT_NS)


def _mandate(payment: PaymentInstructions | None) -> str | None:
    return None if payment is None else payment.mandate_reference


def _payment_means(settlement: etree._Element, payment: PaymentInstructions) -> None:
    means = child(settlement, ram("SpecifiedTradeSettlementPaymentMeans"))
    child(means, ram("TypeCode"), payment.means.value)
    if payment.debited_iban is not None:
        child(child(means, ram("PayerPartyDebtorFinancialAccount")), ram("IBANID"), payment.debited_iban)
    if payment.payee_iban is not None:
        account = child(means, ram("PayeePartyCreditorFinancialAccount"))
        child(account, ram("IBANID"), payment.payee_iban)
        if payment.payee_account_name is not None:
            child(account, ram("AccountName"), payment.payee_account_name)
    if payment.payee_bic is not None:
        child(child(means, ram("PayeeSpecifiedCreditorFinancialInstitution")), ram("BICID"), payment.payee_bic)


def _vat(settlement: etree._Element, group: VatBreakdown) -> None:
    tax = child(settlement, ram("ApplicableTradeTax"))
    child(tax, ram("CalculatedAmount"), number(group.tax_amount))
    child(tax, ram("TypeCode"), VAT)
    if group.exemption_reason is not None:
        child(tax, ram("ExemptionReason"), group.exemption_reason)
    child(tax, ram("BasisAmount"), number(group.taxable_amount))
    child(tax, ram("CategoryCode"), group.category.value)
    if group.exemption_reason_code is not None:
        child(tax, ram("ExemptionReasonCode"), group.exemption_reason_code)
    child(tax, ram("RateApplicablePercent"), number(group.rate))


def _totals(settlement: etree._Element, einvoice: EInvoice) -> None:
    totals = einvoice.totals
    summation = child(settlement, ram("SpecifiedTradeSettlementHeaderMonetarySummation"))
    child(summation, ram("LineTotalAmount"), number(totals.line_net))
    child(summation, ram("TaxBasisTotalAmount"), number(totals.tax_exclusive))
    child(summation, ram("TaxTotalAmount"), number(totals.vat), currencyID=einvoice.currency)
    accounting_currency, accounting_vat = einvoice.vat_accounting_currency, totals.vat_in_accounting_currency
    if accounting_currency is not None and accounting_vat is not None:
        child(summation, ram("TaxTotalAmount"), number(accounting_vat), currencyID=accounting_currency)
    child(summation, ram("GrandTotalAmount"), number(totals.tax_inclusive))
    child(summation, ram("TotalPrepaidAmount"), number(totals.prepaid))
    child(summation, ram("DuePayableAmount"), number(totals.payable))
