"""GET /v1/invoices: the calling demand partner's invoices, as JSON, an HTML page, a PDF or their EN 16931
e-invoice (XML; a Factur-X document's PDF carries it): those we issued to it, and the self-billed ones we
issued in its name for its revenue share.

Invoices are served from the document stored when they were issued; draft statements have no number
and are not invoices yet (their lines show under ``open_statements``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from adapters.einvoice.issue import delivered_file
from adapters.invoice_documents import render_html, render_pdf
from api.deps import ContextDep, DemandPartnerDep
from api.responses import HTML_PAGE, PDF_FILE, XML_FILE, pdf_response, refusals, xml_response
from api.schemas import PRINTABLE_ASCII, InvoiceList, InvoiceSummary, OpenStatement
from domain.einvoice.model import EInvoiceFormat
from domain.money import from_minor
from persistence.einvoices import StoredEInvoice
from persistence.invoice_reads import IssuedInvoice
from services import invoices as service

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])
InvoiceNumberPath = Annotated[str, Path(max_length=80, pattern=PRINTABLE_ASCII)]
NOT_FOUND = refusals(401, 404, 422, why={404: "No such invoice of yours"})


@router.get(
    "",
    response_model=InvoiceList,
    responses=refusals(401),
    summary="Your invoices, newest first, and open statements",
)
async def list_invoices(partner: DemandPartnerDep, context: ContextDep) -> InvoiceList:
    found = await run_in_threadpool(service.partner_invoices, context.reads, partner.id)
    return InvoiceList(
        invoices=[_summary(invoice) for invoice in found.issued],
        open_statements=[
            OpenStatement(
                period=s.period,
                currency=s.currency,
                sessions=s.sessions,
                net=from_minor(s.net_minor, s.currency),
                vat=from_minor(s.vat_minor, s.currency),
            )
            for s in found.open_statements
        ],
    )


def _summary(invoice: IssuedInvoice) -> InvoiceSummary:
    base = f"/v1/invoices/{invoice.number}"
    return InvoiceSummary(
        number=invoice.number,
        kind=invoice.kind,
        issue_date=invoice.issue_date,
        period=invoice.period,
        currency=invoice.currency,
        net=from_minor(invoice.net_minor, invoice.currency),
        vat=from_minor(invoice.vat_minor, invoice.currency),
        total=from_minor(invoice.net_minor + invoice.vat_minor, invoice.currency),
        notes=list(invoice.notes),
        self_billed=invoice.self_billed,
        due_date=invoice.due_date,
        payment_reference=invoice.payment_reference,
        einvoice_format=None if invoice.einvoice_format is None else EInvoiceFormat(invoice.einvoice_format),
        links={"self": base, "html": f"{base}.html", "pdf": f"{base}.pdf"}
        | ({} if invoice.einvoice_format is None else {"xml": f"{base}.xml"}),
    )


async def _document(number: str, partner_id: str, context: ContextDep) -> dict[str, Any]:
    try:
        return await run_in_threadpool(service.partner_invoice_document, context.reads, partner_id, number)
    except service.InvoiceNotFound as error:
        raise HTTPException(404, "no such invoice of yours") from error


async def _einvoice(number: str, partner_id: str, context: ContextDep) -> StoredEInvoice | None:
    """The partner's document's e-invoice; None when there is no such document of its or it has none."""
    try:
        return await run_in_threadpool(service.partner_einvoice, context.reads, partner_id, number)
    except service.InvoiceNotFound:
        return None


@router.get(
    "/{number}.html",
    # Response (no media type of its own), so that the refusals are documented as the JSON they are.
    response_class=Response,
    responses={**NOT_FOUND, **HTML_PAGE},
    summary="An invoice, as a page",
)
async def invoice_html(number: InvoiceNumberPath, partner: DemandPartnerDep, context: ContextDep) -> HTMLResponse:
    return HTMLResponse(render_html(await _document(number, partner.id, context)))


@router.get(
    "/{number}.pdf",
    response_class=Response,
    responses={**NOT_FOUND, **PDF_FILE},
    summary="An invoice, as a printable PDF (a Factur-X one with its e-invoice inside)",
)
async def invoice_pdf(number: InvoiceNumberPath, partner: DemandPartnerDep, context: ContextDep) -> Response:
    document = await _document(number, partner.id, context)
    einvoice = await _einvoice(number, partner.id, context)
    if einvoice is not None and einvoice.format == EInvoiceFormat.FACTURX:
        pdf, _, _ = await run_in_threadpool(delivered_file, document, einvoice.format, einvoice.xml)
    else:
        pdf = await run_in_threadpool(render_pdf, document)
    return pdf_response(pdf, number)


@router.get(
    "/{number}.xml",
    response_class=Response,
    responses={**NOT_FOUND, **XML_FILE},
    summary="An invoice's EN 16931 e-invoice, as issued and validated (in the format of your contract)",
)
async def invoice_xml(number: InvoiceNumberPath, partner: DemandPartnerDep, context: ContextDep) -> Response:
    einvoice = await _einvoice(number, partner.id, context)
    if einvoice is None:
        raise HTTPException(404, "no such invoice of yours, or it was issued without an e-invoice")
    return xml_response(einvoice.xml, number)


@router.get("/{number}", responses=NOT_FOUND, summary="An invoice, as issued (every Art. 226 field)")
async def invoice_json(number: InvoiceNumberPath, partner: DemandPartnerDep, context: ContextDep) -> dict[str, Any]:
    return await _document(number, partner.id, context)
