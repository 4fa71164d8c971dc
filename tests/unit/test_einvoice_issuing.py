"""The writer documents are issued with: an e-invoice that fails a rule is refused as EINVOICE_INVALID with the
rules named; validations run from many threads at once, in every format, as the activity thread pool runs
them; the electronic addresses we derive from VAT ids pass Peppol's identifier checks; a Factur-X file is the
PDF carrying the XML; outbox files are written whole."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from facturx import get_xml_from_pdf

from adapters.einvoice.issue import delivered_file, validated_xml
from adapters.einvoice.outbox import write_file
from adapters.einvoice.render import render
from adapters.einvoice.validation import (
    EN16931_UBL_XSLT,
    FACTURX_CODE_LISTS,
    FACTURX_EN16931_XSLT,
    PEPPOL_UBL_XSLT,
    Schematron,
    validate,
)
from domain.einvoice.build import PartyDetails, einvoice_from_document
from domain.einvoice.issuing import EInvoiceInvalid
from domain.einvoice.model import EInvoiceFormat
from domain.einvoice.recipients import EAS_CODES, electronic_address_from_vat_id
from tests.einvoice_documents import context, domestic_invoice, monthly_statement
from tests.unit.test_einvoice_validation import CASES, einvoice

# A VAT id of each country whose parties get an address derived from it (check digits right).
VAT_IDS = (
    "DE281045677",
    "NL812345678B01",
    "BE0403019261",
    "SE556036079301",
    "NO974760673MVA",
    "DK13585628",
    "FI20774740",
    "CHE109322551MWST",
    "GB723456789",
    "ATU12345675",
    "FR44732829320",
    "EL094259216",
)


def test_our_eas_list_is_the_one_the_en16931_rules_check() -> None:
    stylesheet = EN16931_UBL_XSLT.read_text(encoding="utf-8")
    rule = stylesheet.index('<xsl:attribute name="id">BR-CL-25</xsl:attribute>')
    listed = re.findall(r"contains\('((?: [0-9A-Z]{2,4})+ )'", stylesheet[:rule])[-1]
    assert set(listed.split()) == EAS_CODES
    peppol = re.search(r"<xsl:variable name=\"eaid\"[^>]*select=\"tokenize\('([^']*)'", PEPPOL_UBL_XSLT.read_text())
    assert peppol is not None
    for vat_id in VAT_IDS:
        address = electronic_address_from_vat_id(vat_id)
        assert address is not None
        assert address.scheme in EAS_CODES
        assert address.scheme in peppol.group(1).split(), f"Peppol has no scheme {address.scheme}"


@pytest.mark.parametrize("vat_id", VAT_IDS)
def test_addresses_derived_from_vat_ids_pass_peppols_identifier_checks(vat_id: str) -> None:
    """Checksums of Norwegian, Danish, Belgian and Swedish numbers (PEPPOL-COMMON-R041..R049) included."""
    address = electronic_address_from_vat_id(vat_id)
    built = einvoice_from_document(domestic_invoice(), context(buyer=PartyDetails(electronic_address=address)))
    assert validated_xml(built, EInvoiceFormat.PEPPOL_UBL)


def test_a_failing_rule_is_refused_as_einvoice_invalid_naming_it() -> None:
    document = replace(einvoice("domestic S"), buyer_reference=None)
    with pytest.raises(EInvoiceInvalid) as refused:
        validated_xml(document, EInvoiceFormat.XRECHNUNG_UBL)
    assert refused.value.code == "EINVOICE_INVALID"
    assert refused.value.rules == ("BR-DE-15",)
    assert str(refused.value).startswith("e-invoice NC-000123 as XRECHNUNG_UBL: the e-invoice fails BR-DE-15: ")
    assert "Buyer reference" in str(refused.value)


def test_validations_run_from_many_threads_at_once_in_every_format() -> None:
    """As the worker's activity threads issue documents: each stylesheet runs one document at a time, different
    ones at once, on the process's one Saxon processor; the results are those of one thread."""
    work = [
        (render(einvoice(case), fmt), fmt)
        for case in ("domestic S", "credit note 381", "monthly statement")
        for fmt in EInvoiceFormat
    ]
    alone = [validate(xml, fmt) for xml, fmt in work]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda job: validate(*job), work * 3))
    assert together == alone * 3
    assert all(not failure.fatal for failures in alone for failure in failures)


def test_the_facturx_code_list_read_once_gives_the_failures_of_the_stylesheet_reading_it_itself() -> None:
    itself = Schematron(FACTURX_EN16931_XSLT)
    preloaded = Schematron(FACTURX_EN16931_XSLT, FACTURX_CODE_LISTS)
    for make, extra in CASES.values():
        xml = render(einvoice_from_document(make(), extra), EInvoiceFormat.FACTURX)
        broken = xml.replace(b'unitCode="KWH"', b'unitCode="XYZ"').replace(b">EUR<", b">ZZZ<")
        for document in (xml, broken):
            assert preloaded.failures(document) == itself.failures(document)
    # The unit code is checked against the preloaded list.
    assert "FX-SCH-A-000595" in {failure.rule for failure in preloaded.failures(broken)}


def test_a_facturx_document_is_delivered_as_its_pdf_carrying_the_xml() -> None:
    document = monthly_statement(3)
    xml = validated_xml(einvoice_from_document(document, context()), EInvoiceFormat.FACTURX)
    pdf, media_type, extension = delivered_file(document, EInvoiceFormat.FACTURX, xml)
    assert (media_type, extension) == ("application/pdf", "pdf")
    assert get_xml_from_pdf(pdf, check_xsd=False) == ("factur-x.xml", xml)
    assert delivered_file(document, EInvoiceFormat.UBL, b"<Invoice/>") == (b"<Invoice/>", "application/xml", "xml")


def test_outbox_files_are_written_whole_under_safe_names(tmp_path: Path) -> None:
    path = write_file(tmp_path, ("dp", "dp-roamly"), "NC-000001.xml", b"<a/>")
    assert path == tmp_path / "dp" / "dp-roamly" / "NC-000001.xml"
    assert write_file(tmp_path, ("dp", "dp-roamly"), "NC-000001.xml", b"<a/>") == path  # again: same file
    assert path.read_bytes() == b"<a/>"
    assert [p.name for p in path.parent.iterdir()] == ["NC-000001.xml"]  # no temporary file left
    for folders, name in ((("dp", ".."), "x.xml"), (("dp", "a/b"), "x.xml"), (("dp", "ok"), "../x.xml")):
        with pytest.raises(ValueError, match="not a safe file name"):
            write_file(tmp_path, folders, name, b"")
