"""The writer documents are issued with (``domain.einvoice.issuing``): an e-invoice rendered in its format
and validated (XSD, EN 16931, the format's CIUS) before anything is stored; and the file a recipient gets,
which for Factur-X is the document's PDF/A-3 with the XML inside."""

from __future__ import annotations

from typing import Any

from adapters.einvoice.facturx import facturx_pdf
from adapters.einvoice.render import render
from adapters.einvoice.validation import EInvoiceRejected, ensure_valid
from adapters.invoice_documents import render_pdf
from domain.einvoice.issuing import EInvoiceInvalid
from domain.einvoice.model import EInvoice, EInvoiceFormat

XML_MEDIA_TYPE = "application/xml"
PDF_MEDIA_TYPE = "application/pdf"


def validated_xml(einvoice: EInvoice, fmt: EInvoiceFormat) -> bytes:
    """The e-invoice's XML in ``fmt``, if it passes every fatal rule; ``EInvoiceInvalid`` naming the rules
    otherwise (warnings pass)."""
    xml = render(einvoice, fmt)
    try:
        ensure_valid(xml, fmt)
    except EInvoiceRejected as rejected:
        raise EInvoiceInvalid(f"e-invoice {einvoice.number} as {fmt}: {rejected}", rejected.rules) from rejected
    return xml


def delivered_file(document: dict[str, Any], fmt: EInvoiceFormat, xml: bytes) -> tuple[bytes, str, str]:
    """What the recipient gets: its content, media type and file extension. A Factur-X e-invoice is the
    document's PDF/A-3 carrying the XML; every other format is the XML itself."""
    if fmt == EInvoiceFormat.FACTURX:
        return facturx_pdf(render_pdf(document, pdf_a=True), xml), PDF_MEDIA_TYPE, "pdf"
    return xml, XML_MEDIA_TYPE, "xml"
