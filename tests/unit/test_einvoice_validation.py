"""Every document type and VAT case, in every format, passes its XSD and the official rules with no fatal
assert (EN 16931 v1.3.16; the Factur-X EN 16931 profile; XRechnung 3.0 and Peppol BIS Billing 3.0); a document
whose sums are broken fails with the rule that says so, and is rejected naming it. Each stylesheet is compiled
once for the whole run."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from adapters.einvoice import validation
from adapters.einvoice.cii import NAMESPACES as CII
from adapters.einvoice.render import render
from adapters.einvoice.validation import (
    EN16931_CII_XSLT,
    EN16931_UBL_XSLT,
    FACTURX_CODE_LISTS,
    FACTURX_EN16931_XSLT,
    PEPPOL_UBL_XSLT,
    XRECHNUNG_CII_XSLT,
    XRECHNUNG_UBL_XSLT,
    XSD_RULE,
    EInvoiceRejected,
    Flag,
    RuleFailure,
    Schematron,
    ValidationRulesMissing,
    contexts_selected,
    ensure_valid,
    validate,
    without_idle_walks,
    without_progress,
)
from domain.einvoice.build import CreditTransfer, EInvoiceContext, einvoice_from_document
from domain.einvoice.model import EInvoice, EInvoiceFormat, TypeCode
from tests.einvoice_documents import (
    DIRECT_DEBIT,
    chf_invoice_with_eur_vat,
    context,
    credit_note,
    domestic_invoice,
    monthly_statement,
    out_of_scope_invoice,
    reverse_charge_invoice,
    self_billed_context,
    self_billed_credit_note,
    self_billed_invoice,
)
from tests.unit.test_einvoice_build import documents

D = Decimal
UBL = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
# A partner's refund account: XRechnung and Peppol between German parties want payment instructions (BR-DE-1,
# DE-R-001) on a credit note too; without one it is set off (97), which they accept as well.
REFUND = CreditTransfer("DE75512108001245126199", "Ladefreunde GmbH", None, "NC-000124")

CASES: dict[str, tuple[Callable[[], dict[str, Any]], EInvoiceContext]] = {
    "domestic S": (domestic_invoice, context()),
    "domestic S, direct debit": (domestic_invoice, context(direct_debit=DIRECT_DEBIT)),
    "reverse charge AE": (reverse_charge_invoice, context("FR")),
    "out of scope O": (out_of_scope_invoice, context("GB")),
    "CHF invoice, VAT in EUR": (chf_invoice_with_eur_vat, context("CH")),
    "credit note 381": (credit_note, context()),
    "credit note 381, refunded": (credit_note, context(credit_transfer=REFUND)),
    "self-billed 389": (self_billed_invoice, self_billed_context()),
    "self-billed credit note 261": (self_billed_credit_note, self_billed_context()),
    "monthly statement": (lambda: monthly_statement(60), context()),
}
EN16931_FORMATS = [EInvoiceFormat.CII, EInvoiceFormat.UBL, EInvoiceFormat.FACTURX]
CIUS_FORMATS = [EInvoiceFormat.XRECHNUNG_CII, EInvoiceFormat.XRECHNUNG_UBL, EInvoiceFormat.PEPPOL_UBL]


def einvoice(case: str) -> EInvoice:
    make, extra = CASES[case]
    return einvoice_from_document(make(), extra)


def fatal(failures: list[RuleFailure]) -> list[str]:
    return [f"{failure.rule}: {failure.text}" for failure in failures if failure.fatal]


@pytest.mark.parametrize("fmt", EN16931_FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_every_document_passes_en16931_and_its_profile(case: str, fmt: EInvoiceFormat) -> None:
    assert fatal(validate(render(einvoice(case), fmt), fmt)) == []


@pytest.mark.parametrize("fmt", CIUS_FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_every_document_passes_xrechnung_and_peppol(case: str, fmt: EInvoiceFormat) -> None:
    document = einvoice(case)
    if fmt == EInvoiceFormat.PEPPOL_UBL and document.type_code.is_self_billed:
        with pytest.raises(ValidationRulesMissing, match="Self-Billing"):
            validate(render(document, fmt), fmt)
        return
    warnings = ensure_valid(render(document, fmt), fmt)
    if document.type_code == TypeCode.SELF_BILLED_CREDIT_NOTE and fmt != EInvoiceFormat.PEPPOL_UBL:
        assert [failure.rule for failure in warnings] == ["BR-DE-17"]  # 261 is not on XRechnung's short list


def test_xrechnung_refuses_a_document_without_a_buyer_reference() -> None:
    document = replace(einvoice("domestic S"), buyer_reference=None)
    with pytest.raises(EInvoiceRejected) as rejected:
        ensure_valid(render(document, EInvoiceFormat.XRECHNUNG_CII), EInvoiceFormat.XRECHNUNG_CII)
    assert rejected.value.rules == ["BR-DE-15"]


def test_peppol_refuses_a_party_without_an_electronic_address() -> None:
    document = einvoice("reverse charge AE")
    document = replace(document, buyer=replace(document.buyer, electronic_address=None))
    with pytest.raises(EInvoiceRejected) as rejected:
        ensure_valid(render(document, EInvoiceFormat.PEPPOL_UBL), EInvoiceFormat.PEPPOL_UBL)
    assert "PEPPOL-EN16931-R010" in rejected.value.rules


def test_peppol_self_billing_cannot_be_declared_valid_without_its_rules() -> None:
    xml = render(einvoice("self-billed 389"), EInvoiceFormat.PEPPOL_UBL)
    assert b"urn:fdc:peppol.eu:2017:poacc:selfbilling:01:1.0" in xml
    with pytest.raises(ValidationRulesMissing):
        validate(xml, EInvoiceFormat.PEPPOL_UBL)


def with_a_line_amount_changed(document: EInvoice) -> EInvoice:
    """Five more on one line: the sums no longer agree (UBL's BR-S-08 tolerates one unit either way)."""
    line = document.lines[3]
    return replace(
        document, lines=(*document.lines[:3], replace(line, net_amount=line.net_amount + 5), *document.lines[4:])
    )


@pytest.mark.parametrize("fmt", [EInvoiceFormat.CII, EInvoiceFormat.UBL])
def test_a_line_amount_changed_breaks_the_sums_and_is_rejected_naming_the_rules(fmt: EInvoiceFormat) -> None:
    broken = with_a_line_amount_changed(einvoice("monthly statement"))
    with pytest.raises(EInvoiceRejected) as rejected:
        ensure_valid(render(broken, fmt), fmt)
    assert set(rejected.value.rules) >= {"BR-CO-10", "BR-S-08"}
    assert "BR-CO-10" in str(rejected.value)


@pytest.mark.parametrize("fmt", [EInvoiceFormat.CII, EInvoiceFormat.UBL])
def test_a_vat_amount_off_by_more_than_a_unit_fails_br_s_09(fmt: EInvoiceFormat) -> None:
    document = einvoice("domestic S")
    (group,) = document.vat_breakdown
    off = D("1.50")
    broken = replace(
        document,
        vat_breakdown=(replace(group, tax_amount=group.tax_amount + off),),
        totals=replace(
            document.totals,
            vat=document.totals.vat + off,
            tax_inclusive=document.totals.tax_inclusive + off,
            payable=document.totals.payable + off,
        ),
    )
    rules = {failure.rule for failure in validate(render(broken, fmt), fmt) if failure.fatal}
    assert rules == {"BR-S-09", "BR-CO-17"}


def test_a_document_against_its_xsd_is_checked_no_further() -> None:
    xml = render(einvoice("domestic S"), EInvoiceFormat.CII)
    root = etree.fromstring(xml)
    context = root.find("rsm:ExchangedDocumentContext", CII)
    assert context is not None
    root.append(context)  # now after the transaction: out of the XSD's order
    failures = validate(etree.tostring(root), EInvoiceFormat.CII)
    assert [(failure.rule, failure.flag) for failure in failures] == [(XSD_RULE, Flag.FATAL)]
    assert "ExchangedDocumentContext" in failures[0].text
    assert validate(b"<Invoice", EInvoiceFormat.UBL)[0].rule == XSD_RULE
    with_dtd = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + xml.split(b"?>", 1)[1]
    assert [failure.rule for failure in validate(with_dtd, EInvoiceFormat.CII)] == [XSD_RULE]


def test_validation_runs_from_several_threads_at_once() -> None:
    xml = render(einvoice("monthly statement"), EInvoiceFormat.UBL)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: validate(xml, EInvoiceFormat.UBL), range(8)))
    assert results == [[]] * 8


def test_a_ubl_credit_note_is_a_creditnote_with_its_due_date_in_the_payment_means() -> None:
    xml = render(einvoice("credit note 381, refunded"), EInvoiceFormat.UBL)
    root = etree.fromstring(xml)
    assert etree.QName(root).localname == "CreditNote"
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=UBL) == "381"
    assert root.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=UBL) == "NC-000123"
    assert root.findtext("cac:CreditNoteLine/cbc:CreditedQuantity", namespaces=UBL) == "42.5"
    assert root.findtext("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", namespaces=UBL) == REFUND.iban


def test_vat_in_eur_is_a_second_total_in_both_syntaxes() -> None:
    document = einvoice("CHF invoice, VAT in EUR")
    cii = etree.fromstring(render(document, EInvoiceFormat.CII))
    summation = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
    assert cii.findtext(summation + "ram:TaxCurrencyCode", namespaces=CII) == "EUR"
    totals = cii.findall(summation + "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount", CII)
    assert [(total.get("currencyID"), total.text) for total in totals] == [("CHF", "10.55"), ("EUR", "11.23")]
    ubl = etree.fromstring(render(document, EInvoiceFormat.UBL))
    assert ubl.findtext("cbc:TaxCurrencyCode", namespaces=UBL) == "EUR"
    assert ubl.xpath("cac:TaxTotal/cbc:TaxAmount/@currencyID", namespaces=UBL) == ["CHF", "EUR"]
    subtotals = [len(total.findall("cac:TaxSubtotal", UBL)) for total in ubl.findall("cac:TaxTotal", UBL)]
    assert subtotals == [1, 0]  # PEPPOL-EN16931-R053/R054: the EUR total has none


def test_the_profiles_name_their_specification() -> None:
    document = einvoice("domestic S")
    for fmt, specification in (
        (EInvoiceFormat.FACTURX, b"<ram:ID>urn:cen.eu:en16931:2017</ram:ID>"),
        (EInvoiceFormat.XRECHNUNG_CII, b"urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0<"),
        (EInvoiceFormat.XRECHNUNG_UBL, b"urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0<"),
        (EInvoiceFormat.PEPPOL_UBL, b"urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0<"),
    ):
        assert specification in render(document, fmt)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(max_lines=25))
def test_generated_documents_pass_en16931_in_both_syntaxes(document: dict[str, Any]) -> None:
    built = einvoice_from_document(document, context())
    for fmt in (EInvoiceFormat.CII, EInvoiceFormat.UBL):
        assert fatal(validate(render(built, fmt), fmt)) == []


def _emptied(xml: bytes, element: bytes) -> bytes:
    """``xml`` with the first ``element``'s text taken out (an empty element: Factur-X's own rules fail)."""
    start = xml.index(b">", xml.index(b"<" + element)) + 1
    return xml[:start] + xml[xml.index(b"</" + element, start) :]


# The ISO skeleton's stylesheets, whose walks are made lean too; every stylesheet leaves its progress out.
SKELETON = (EN16931_CII_XSLT, EN16931_UBL_XSLT, FACTURX_EN16931_XSLT)
LEAN = (*SKELETON, XRECHNUNG_CII_XSLT, XRECHNUNG_UBL_XSLT, PEPPOL_UBL_XSLT)
LEAN_BY_FORMAT = {
    EInvoiceFormat.CII: (EN16931_CII_XSLT,),
    EInvoiceFormat.UBL: (EN16931_UBL_XSLT,),
    EInvoiceFormat.FACTURX: (EN16931_CII_XSLT, FACTURX_EN16931_XSLT),
    EInvoiceFormat.XRECHNUNG_CII: (EN16931_CII_XSLT, XRECHNUNG_CII_XSLT),
    EInvoiceFormat.XRECHNUNG_UBL: (EN16931_UBL_XSLT, XRECHNUNG_UBL_XSLT),
    EInvoiceFormat.PEPPOL_UBL: (EN16931_UBL_XSLT, PEPPOL_UBL_XSLT),
}
SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
PROGRESS = {f"{{{SVRL_NS}}}{name}" for name in ("active-pattern", "fired-rule", "suppressed-rule")}


@pytest.fixture(scope="module")
def lean_and_original() -> dict[Path, tuple[Schematron, Schematron]]:
    """Each stylesheet compiled as validation runs it, and as it is published."""
    pairs = {}
    for path in LEAN:
        lookups = FACTURX_CODE_LISTS if path == FACTURX_EN16931_XSLT else ()
        lean = Schematron(path, lookups)
        lean.compile()
        with pytest.MonkeyPatch.context() as patch:
            for change in ("without_idle_walks", "contexts_selected", "without_progress"):
                patch.setattr(validation, change, lambda stylesheet: stylesheet)
            original = Schematron(path, lookups)
            original.compile()
        pairs[path] = (lean, original)
    return pairs


def reported(report: str, *, progress: bool = False) -> list[tuple[str, list[tuple[Any, Any]], str]]:
    """Every element of an SVRL report in document order, with its attributes and text; the progress
    elements (which patterns ran, which rules fired) only if ``progress``."""
    return [
        (str(element.tag), sorted(element.attrib.items()), " ".join("".join(map(str, element.itertext())).split()))
        for element in etree.fromstring(report.encode("utf-8")).iter(etree.Element)
        if progress or element.tag not in PROGRESS
    ]


def same_failures(lean: str, original: str) -> bool:
    """The lean report holds no progress, and all else the original holds, in the same order."""
    return reported(lean, progress=True) == reported(original)


@pytest.mark.parametrize("path", LEAN)
def test_a_stylesheet_made_lean_reports_exactly_what_the_original_does(
    path: Path, lean_and_original: dict[Path, tuple[Schematron, Schematron]]
) -> None:
    text = path.read_text(encoding="utf-8")
    if path in SKELETON:
        assert without_idle_walks(text).count("<xsl:apply-templates />") < text.count("<xsl:apply-templates />")
        assert text.count('select="/" />') > 0
        assert contexts_selected(text).count('select="/" />') == 0  # every pattern selects its rules' contexts
    assert without_progress(text).count("<svrl:fired-rule") == 0 < text.count("<svrl:fired-rule")
    lean, original = lean_and_original[path]
    statement = einvoice("monthly statement")
    documents = [einvoice("domestic S"), einvoice("self-billed 389"), statement, with_a_line_amount_changed(statement)]
    formats = [fmt for fmt, paths in LEAN_BY_FORMAT.items() if path in paths]
    xmls = [render(d, fmt) for fmt in formats for d in documents]
    xmls.append(_emptied(xmls[0], b"ram:Name" if b"<ram:Name" in xmls[0] else b"cbc:Name"))
    reports = [(lean.report(xml), original.report(xml)) for xml in xmls]
    assert all(same_failures(ours, theirs) for ours, theirs in reports)
    assert all(reported(theirs) != reported(theirs, progress=True) for _, theirs in reports)  # progress left out
    assert any("failed-assert" in ours for ours, _ in reports)  # failing documents among them
    if path in SKELETON:
        assert any("BR-CO-10" in ours for ours, _ in reports)
    if path in (FACTURX_EN16931_XSLT, PEPPOL_UBL_XSLT):
        assert "PEPPOL-EN16931-R008" in reports[-1][0]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(max_lines=8), st.booleans())
def test_lean_stylesheets_report_what_the_originals_do_on_any_document(
    lean_and_original: dict[Path, tuple[Schematron, Schematron]], document: dict[str, Any], broken: bool
) -> None:
    built = einvoice_from_document(document, context())
    if broken and len(built.lines) > 3:
        built = with_a_line_amount_changed(built)
    for fmt, paths in LEAN_BY_FORMAT.items():
        xml = render(built, fmt)
        for path in paths:
            lean, original = lean_and_original[path]
            assert same_failures(lean.report(xml), original.report(xml)), (fmt, path.name)


@pytest.mark.parametrize(
    ("pattern", "selected"),
    [
        ("/rsm:A/ram:B", "/rsm:A/ram:B"),
        ("//ram:B[ram:C]", "//ram:B[ram:C]"),
        ("ram:B[@x] | ram:C[@x]", "//ram:B[@x] | //ram:C[@x]"),
        ('ram:B[ram:C = "|" or ram:D|ram:E]', '//ram:B[ram:C = "|" or ram:D|ram:E]'),
        ("@currencyID", "//@currencyID"),
        ("*", "//*"),
        ("ram:B/text()", None),  # the walk never meets text
        ("node()", None),
        ('key("k", "v")', None),
        ("$variable/ram:B", None),
    ],
)
def test_a_rule_context_is_selected_from_the_root_only_where_it_can_be(pattern: str, selected: str | None) -> None:
    assert validation.rooted(pattern) == selected


@pytest.mark.parametrize(
    ("output", "kept"),
    [
        ('<svrl:fired-rule context="cac:Party" />', False),
        ('<svrl:active-pattern><xsl:attribute name="id">UBL-model</xsl:attribute></svrl:active-pattern>', False),
        ('<svrl:suppressed-rule><xsl:if test="$u"><xsl:attribute name="d" /></xsl:if></svrl:suppressed-rule>', False),
        # A walk inside may output failures: kept.
        ('<svrl:active-pattern><xsl:attribute name="id" /><xsl:apply-templates /></svrl:active-pattern>', True),
        ('<svrl:failed-assert test="false()"><svrl:text>broken</svrl:text></svrl:failed-assert>', True),
    ],
)
def test_only_output_that_says_what_ran_is_left_out(output: str, kept: bool) -> None:
    stylesheet = f"<xsl:template match='/'>{output}<xsl:apply-templates mode='M1' select='/' /></xsl:template>"
    expected = stylesheet if kept else stylesheet.replace(output, "")
    assert without_progress(stylesheet) == expected


def test_a_factur_x_report_that_holds_rejects_the_document_as_the_official_validators_do() -> None:
    """Factur-X's reports carry no flag: FNFE's validator and the factur-x library block a document on them.
    A list id on the buyer's postcode breaks no EN 16931 rule, only Factur-X's report on the attribute."""
    xml = render(einvoice("domestic S"), EInvoiceFormat.FACTURX)
    document = etree.fromstring(xml)
    postcode = document.find(".//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:PostcodeCode", CII)
    assert postcode is not None
    postcode.set("listID", "X")
    marked = etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    assert fatal(validate(xml, EInvoiceFormat.FACTURX)) == []
    failures = [failure for failure in validate(marked, EInvoiceFormat.FACTURX) if failure.fatal]
    assert [failure.rule for failure in failures] == ["@listID"]
    assert failures[0].text == "Attribute @listID' marked as not used in the given context."
    assert failures[0].location.endswith("/*:PostcodeCode[namespace-uri()='" + CII["ram"] + "'][1]")
    with pytest.raises(EInvoiceRejected, match="@listID"):
        ensure_valid(marked, EInvoiceFormat.FACTURX)
