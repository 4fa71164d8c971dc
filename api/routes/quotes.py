"""Demand partners ask what a session would cost before starting it. A quote holds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from api.deps import ContextDep, DemandPartnerDep
from api.responses import refusals
from api.schemas import PRINTABLE_ASCII, QuoteCreate, QuoteRead
from domain.tariffs.partner_price import QuoteImplausible
from services import prices as service

router = APIRouter(prefix="/v1/quotes", tags=["quotes"])
# A start a little behind the server's clock is "now" (the partner's clock and the request's travel).
START_SLACK = timedelta(minutes=1)
QuoteIdPath = Annotated[str, Path(max_length=64, pattern=PRINTABLE_ASCII)]


@router.post(
    "",
    status_code=201,
    response_model=QuoteRead,
    responses=refusals(
        400,
        401,
        404,
        409,
        422,
        why={
            404: "No such EVSE on the network (code UNKNOWN_EVSE)",
            409: "No tariff in force at the start, or no reference rate or contract to price it with: the detail "
            "starts with the code",
        },
    ),
    summary="Quote a session",
)
async def create_quote(body: QuoteCreate, partner: DemandPartnerDep, context: ContextDep) -> QuoteRead:
    """The price of ``kwh`` over ``minutes`` from ``start`` on the EVSE: the CPO's tariff in force rated as its
    CDR will be, in your billing currency with VAT; valid until ``valid_until``."""
    now = datetime.now(UTC)
    if body.start is not None and body.start < now - START_SLACK:
        raise HTTPException(422, "start: is in the past")
    request = service.QuoteRequest(body.evse_id, body.kwh, body.minutes, body.start)
    try:
        quote = await service.create_quote(context.writes, partner, context.prices, request, now=now)
    except service.EvseUnknown as error:
        raise HTTPException(404, f"{error.code}: {error}") from error
    except QuoteImplausible as error:
        raise HTTPException(422, str(error)) from error
    except (service.NoTariffInForce, *service.PRICE_REFUSALS) as error:
        raise HTTPException(409, f"{error.code}: {error}") from error
    return QuoteRead.model_validate(quote)


@router.get(
    "/{quote_id}",
    response_model=QuoteRead,
    responses=refusals(401, 404, 422, why={404: "No such quote among yours"}),
    summary="A quote",
)
async def get_quote(
    quote_id: Annotated[str, Path(max_length=64, pattern=PRINTABLE_ASCII)],
    partner: DemandPartnerDep,
    context: ContextDep,
) -> QuoteRead:
    try:
        quote = await service.partner_quote(context.reads, partner, quote_id)
    except service.QuoteNotFound as error:
        raise HTTPException(404, "no such quote") from error
    return QuoteRead.model_validate(quote)
