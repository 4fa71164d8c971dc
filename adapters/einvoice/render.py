"""An e-invoice in the format a partner's contract asks for (``einvoice_format``)."""

from __future__ import annotations

from adapters.einvoice.cii import to_cii
from adapters.einvoice.ubl import to_ubl
from domain.einvoice.model import EInvoice, EInvoiceFormat, Syntax


def render(einvoice: EInvoice, fmt: EInvoiceFormat) -> bytes:
    """The XML of ``einvoice`` in ``fmt``; for Factur-X, the CII to embed in the PDF (``facturx_pdf``)."""
    if fmt.syntax == Syntax.UBL:
        return to_ubl(einvoice, fmt.profile)
    return to_cii(einvoice, fmt.profile)
