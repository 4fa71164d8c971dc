"""Factur-X / ZUGFeRD: the visible PDF (a PDF/A-3, ``render_pdf(..., pdf_a=True)``) with its CII XML embedded as
``factur-x.xml``, declared in the XMP metadata at the EN 16931 profile (``einvoice.md`` §4)."""

from __future__ import annotations

from facturx import generate_from_binary

FLAVOR = "factur-x"
LEVEL = "en16931"
# The natural language of our documents, which PDF readers for the blind announce.
LANGUAGE = "en-GB"


def facturx_pdf(pdf: bytes, cii_xml: bytes) -> bytes:
    """The Factur-X PDF of ``pdf`` and its e-invoice ``cii_xml`` (checked against the Factur-X EN 16931 XSD
    once more on the way in). ``factur-x`` embeds and declares the XML; the PDF/A-ness is ``pdf``'s own."""
    embedded: bytes = generate_from_binary(pdf, cii_xml, flavor=FLAVOR, level=LEVEL, check_xsd=True, lang=LANGUAGE)
    return embedded
