"""GET /v1/invoices: the calling demand partner's invoices, as JSON, an HTML page or a PDF.

Invoices are served from the document stored when they were issued; draft statements have no number
and are not invoices yet (their lines show under ``open_statements``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from adapters.invoice_documents import render_html, render_pdf
from api.deps import ContextDep, DemandPartnerDep
from api.schemas import InvoiceList, InvoiceSummary, OpenStatement
from domain.money import from_minor
from persistence.invoices import DRAFT, ISSUED
from persistence.tables import InvoiceLineRow, InvoiceRow

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such invoice of yours"}}


def _recipient(partner_id: str) -> str:
    return f"dp:{partner_id}"


@router.get("", response_model=InvoiceList, summary="Your invoices, newest first, and open statements")
async def list_invoices(partner: DemandPartnerDep, context: ContextDep) -> InvoiceList:
    def load() -> InvoiceList:
        recipient = _recipient(partner.id)
        with context.reads() as db:
            issued = db.scalars(
                select(InvoiceRow)
                .where(InvoiceRow.recipient == recipient, InvoiceRow.status == ISSUED)
                .order_by(InvoiceRow.issued_at.desc(), InvoiceRow.key.desc())
            ).all()
            drafts = db.execute(
                select(
                    InvoiceRow.period,
                    InvoiceRow.currency,
                    func.count(InvoiceLineRow.key),
                    func.sum(InvoiceLineRow.net_minor),
                    func.sum(InvoiceLineRow.vat_minor),
                )
                .join(InvoiceLineRow, InvoiceLineRow.invoice_key == InvoiceRow.key)
                .where(InvoiceRow.recipient == recipient, InvoiceRow.status == DRAFT)
                .group_by(InvoiceRow.key, InvoiceRow.period, InvoiceRow.currency)
                .order_by(InvoiceRow.period)
            ).all()
        return InvoiceList(
            invoices=[_summary(row) for row in issued],
            open_statements=[
                OpenStatement(
                    period=period or "",
                    currency=currency,
                    sessions=count,
                    net=from_minor(net, currency),
                    vat=from_minor(vat, currency),
                )
                for period, currency, count, net, vat in drafts
            ],
        )

    return await run_in_threadpool(load)


def _summary(row: InvoiceRow) -> InvoiceSummary:
    # Issued invoices have all of these (a check constraint says so).
    assert row.number is not None
    assert row.net_minor is not None
    assert row.vat_minor is not None
    assert row.document is not None
    assert row.issued_at is not None
    base = f"/v1/invoices/{row.number}"
    return InvoiceSummary(
        number=row.number,
        kind=row.kind,
        issue_date=row.issued_at.date(),
        period=row.period,
        currency=row.currency,
        net=from_minor(row.net_minor, row.currency),
        vat=from_minor(row.vat_minor, row.currency),
        total=from_minor(row.net_minor + row.vat_minor, row.currency),
        notes=row.document["notes"],
        links={"self": base, "html": f"{base}.html", "pdf": f"{base}.pdf"},
    )


async def _document(number: str, partner_id: str, context: ContextDep) -> dict[str, Any]:
    def load() -> dict[str, Any] | None:
        with context.reads() as db:
            return db.scalar(
                select(InvoiceRow.document).where(
                    InvoiceRow.number == number, InvoiceRow.recipient == _recipient(partner_id)
                )
            )

    document = await run_in_threadpool(load)
    if document is None:
        raise HTTPException(404, "no such invoice of yours")
    return document


@router.get("/{number}.html", response_class=HTMLResponse, responses=NOT_FOUND, summary="An invoice, as a page")
async def invoice_html(number: str, partner: DemandPartnerDep, context: ContextDep) -> HTMLResponse:
    return HTMLResponse(render_html(await _document(number, partner.id, context)))


@router.get(
    "/{number}.pdf",
    response_class=Response,
    responses={**NOT_FOUND, 200: {"content": {"application/pdf": {}}}},
    summary="An invoice, as a printable PDF",
)
async def invoice_pdf(number: str, partner: DemandPartnerDep, context: ContextDep) -> Response:
    document = await _document(number, partner.id, context)
    pdf = await run_in_threadpool(render_pdf, document)
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{number}.pdf"'}
    )


@router.get("/{number}", responses=NOT_FOUND, summary="An invoice, as issued (every Art. 226 field)")
async def invoice_json(number: str, partner: DemandPartnerDep, context: ContextDep) -> dict[str, Any]:
    return await _document(number, partner.id, context)
