"""Factur-X: the visible PDF made as a PDF/A-3B (fonts embedded, sRGB output intent) carries the document's CII
XML as factur-x.xml, which reads back byte for byte, and declares itself in its XMP metadata."""

from __future__ import annotations

import io
from typing import Any

import pytest
from facturx import get_xml_from_pdf
from fpdf.errors import PDFAComplianceError
from lxml import etree
from pypdf import PdfReader

from adapters.einvoice.facturx import facturx_pdf
from adapters.einvoice.render import render
from adapters.invoice_documents import FONT_FAMILY, DocumentPdf, render_pdf
from domain.einvoice.build import einvoice_from_document
from domain.einvoice.model import EInvoiceFormat
from tests.einvoice_documents import chf_invoice_with_eur_vat, context

XMP = {
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
}


def test_a_facturx_pdf_is_pdf_a_3_and_carries_the_xml() -> None:
    document = chf_invoice_with_eur_vat()  # with a Swiss QR-bill page
    xml = render(einvoice_from_document(document, context("CH")), EInvoiceFormat.FACTURX)
    pdf = facturx_pdf(render_pdf(document, pdf_a=True), xml)

    name, embedded = get_xml_from_pdf(pdf, check_xsd=False)
    assert (name, embedded) == ("factur-x.xml", xml)
    catalog: Any = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert catalog["/AF"][0].get_object()["/AFRelationship"] == "/Data"
    assert catalog["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    metadata = etree.fromstring(catalog["/Metadata"].get_object().get_data())
    assert metadata.findtext(".//pdfaid:part", namespaces=XMP) == "3"
    assert metadata.findtext(".//pdfaid:conformance", namespaces=XMP) == "B"
    assert metadata.findtext(".//fx:ConformanceLevel", namespaces=XMP) == "EN 16931"
    assert metadata.findtext(".//fx:DocumentFileName", namespaces=XMP) == "factur-x.xml"


def test_a_pdf_a_admits_only_embedded_fonts() -> None:
    pdf = DocumentPdf(pdf_a=True)
    pdf.add_page()
    pdf.font(9)
    pdf.text_line("Fahrgemeinschaft Zürich AG, Ελλάδα, Łódź")  # DejaVu: any script
    assert pdf.font_family == FONT_FAMILY.lower()
    with pytest.raises(PDFAComplianceError):
        pdf.set_font("Helvetica")  # a core font, which no PDF embeds
    assert bytes(pdf.output()).startswith(b"%PDF-1.7")  # (writing it also closes the font files)
