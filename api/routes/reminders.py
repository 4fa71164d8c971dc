"""GET /v1/reminders: the payment reminders we sent the calling demand partner, as JSON, a page or a PDF.

Reminders are served from the document stored when they were issued; another partner's are not found."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from adapters.reminder_documents import render_html, render_pdf
from api.deps import ContextDep, DemandPartnerDep
from api.pagination import key_cursor, parse_key_cursor
from api.responses import HTML_PAGE, PDF_FILE, pdf_response, refusals
from api.schemas import PRINTABLE_ASCII, ReminderPage, ReminderSummary
from domain.money import from_minor
from services import reminders as service
from services.reminders import IssuedReminder

router = APIRouter(prefix="/v1/reminders", tags=["reminders"])
ReminderNumberPath = Annotated[str, Path(max_length=64, pattern=PRINTABLE_ASCII)]
NOT_FOUND = refusals(401, 404, 422, why={404: "No such reminder of yours"})


def _summary(reminder: IssuedReminder) -> ReminderSummary:
    base = f"/v1/reminders/{reminder.number}"
    currency = reminder.currency
    return ReminderSummary(
        number=reminder.number,
        level=reminder.level,
        issue_date=reminder.issued_on,
        currency=currency,
        open=from_minor(reminder.open_minor, currency),
        interest=from_minor(reminder.interest_minor, currency),
        fees=from_minor(reminder.fee_minor, currency),
        total=from_minor(reminder.open_minor + reminder.interest_minor + reminder.fee_minor, currency),
        invoices=reminder.invoices,
        links={"self": base, "html": f"{base}.html", "pdf": f"{base}.pdf"},
    )


@router.get(
    "",
    response_model=ReminderPage,
    responses=refusals(400, 401, 422, why={400: "The cursor is not one we issued"}),
    summary="Your payment reminders, oldest first",
)
async def list_reminders(
    partner: DemandPartnerDep,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> ReminderPage:
    after = None if cursor is None else parse_key_cursor(cursor)
    # One more than asked: whether there is a next page.
    found = await run_in_threadpool(
        service.partner_reminders_page, context.reads, partner.id, limit=limit + 1, after_key=after
    )
    page = found[:limit]
    return ReminderPage(
        data=[_summary(reminder) for reminder in page],
        next_cursor=key_cursor(page[-1].key) if len(found) > limit else None,
    )


async def _document(number: str, partner_id: str, context: ContextDep) -> dict[str, Any]:
    try:
        return await run_in_threadpool(service.partner_reminder_document, context.reads, partner_id, number)
    except service.ReminderNotFound as error:
        raise HTTPException(404, "no such reminder of yours") from error


@router.get(
    "/{number}.html", response_class=Response, responses={**NOT_FOUND, **HTML_PAGE}, summary="A reminder, as a page"
)
async def reminder_html(number: ReminderNumberPath, partner: DemandPartnerDep, context: ContextDep) -> HTMLResponse:
    return HTMLResponse(render_html(await _document(number, partner.id, context)))


@router.get(
    "/{number}.pdf",
    response_class=Response,
    responses={**NOT_FOUND, **PDF_FILE},
    summary="A reminder, as a printable PDF",
)
async def reminder_pdf(number: ReminderNumberPath, partner: DemandPartnerDep, context: ContextDep) -> Response:
    pdf = await run_in_threadpool(render_pdf, await _document(number, partner.id, context))
    return pdf_response(pdf, number)


@router.get("/{number}", responses=NOT_FOUND, summary="A reminder, as issued: the overdue invoices and what it claims")
async def reminder_json(number: ReminderNumberPath, partner: DemandPartnerDep, context: ContextDep) -> dict[str, Any]:
    return await _document(number, partner.id, context)
