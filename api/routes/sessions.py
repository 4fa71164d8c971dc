"""Demand partners start, follow and stop their sessions. A partner never sees another's (404, not 403)."""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response

from api.deps import ContextDep, DemandPartnerDep
from api.responses import refusals
from api.schemas import (
    PRINTABLE_ASCII,
    Billing,
    Clearing,
    CostSoFar,
    SessionAccepted,
    SessionCreate,
    SessionPage,
    SessionRead,
    StopAccepted,
    UtcInstant,
    utc_instant,
)
from domain.sessions.lifecycle import SessionStage
from domain.tariffs.partner_price import CostSoFar as CostSoFarView
from domain.tariffs.partner_price import QuoteExpired, QuoteForAnotherEvse
from persistence.partner_sessions import BillingView, ClearingView, SessionView
from persistence.repositories import SessionFilter
from services import prices
from services import sessions as service

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
SessionIdPath = Annotated[str, Path(max_length=64, pattern=PRINTABLE_ASCII)]

NOT_FOUND = {404: "No such session among yours"}


@router.post(
    "",
    status_code=202,
    response_model=SessionAccepted,
    responses={
        **refusals(
            400,
            401,
            409,
            422,
            429,
            why={409: "Idempotency-Key reused with a different body, or the quote expired (QUOTE_EXPIRED)"},
        ),
        202: {
            "headers": {
                "Idempotent-Replayed": {
                    "description": "true: the session an earlier request with this Idempotency-Key started",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            }
        },
    },
    summary="Start a charging session",
)
async def create_session(
    body: SessionCreate,
    partner: DemandPartnerDep,
    context: ContextDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=255,
            pattern=PRINTABLE_ASCII,
            description="Any printable ASCII without spaces; a retry with the same key returns the same session",
        ),
    ] = None,
) -> SessionAccepted:
    """Authorisation and the start run in the session's workflow; follow it with GET. Retrying with the
    same ``Idempotency-Key`` returns the same session and never starts a second one."""
    try:
        started = await service.start_charging_session(
            context.writes,
            context.temporal,
            task_queue=context.task_queue,
            timeouts=context.timeouts,
            partner=partner,
            request=service.SessionRequest(body.evse_id, body.driver_reference, body.max_amount, body.quote_id),
            idempotency_key=idempotency_key,
        )
    except service.IdempotencyKeyReused as error:
        raise HTTPException(409, str(error)) from error
    except service.RequestInvalid as error:
        raise HTTPException(422, str(error)) from error
    except service.QuoteUnknown as error:
        raise HTTPException(422, "quote_id: no such quote among yours") from error
    except QuoteForAnotherEvse as error:
        raise HTTPException(422, f"quote_id: {error}") from error
    except QuoteExpired as error:
        raise HTTPException(409, f"{error.code}: {error}") from error
    session = started.session
    if not started.created:
        response.headers["Idempotent-Replayed"] = "true"
    log.info("session %s for %s at %s", "accepted" if started.created else "replayed", partner.id, session.evse_id)
    return SessionAccepted(
        id=session.id,
        stage=session.stage,
        links={"self": f"/v1/sessions/{session.id}", "stop": f"/v1/sessions/{session.id}/stop"},
    )


def _clearing(view: ClearingView | None) -> Clearing | None:
    if view is None:
        return None
    return Clearing(
        currency=view.currency,
        total_cost={"excl_vat": view.total_excl_vat, "incl_vat": view.total_incl_vat},
        cpo_claimed={"excl_vat": view.claimed_excl_vat, "incl_vat": view.claimed_incl_vat},
        discrepancy=view.discrepancy,
        tolerance=view.tolerance,
        rating=view.rating,
        quoted=view.quoted,
    )


def _billing(view: BillingView | None) -> Billing | None:
    if view is None:
        return None
    return Billing(
        currency=view.currency,
        net=view.net,
        vat=view.vat,
        total=view.total,
        invoice=view.invoice,
        tariff_currency=view.tariff_currency,
        tariff_net=view.tariff_net,
        reference_rate=view.reference_rate,
        rate_source=view.rate_source,
        rate_as_of=view.rate_as_of,
    )


def _read(view: SessionView, cost: CostSoFarView | None = None) -> SessionRead:
    return SessionRead(
        id=view.id,
        stage=view.stage,
        needs_attention=view.needs_attention,
        reason=view.reason,
        evse_id=view.evse_id,
        driver_reference=view.driver_reference,
        cpo_id=view.cpo_id,
        country=view.country,
        location_id=view.location_id,
        currency=view.currency,
        cpo_session_id=view.cpo_session_id,
        cpo_status=view.cpo_status,
        kwh=view.kwh,
        started_at=view.started_at,
        ended_at=view.ended_at,
        cdr_id=view.cdr_id,
        created_at=view.created_at,
        updated_at=view.updated_at,
        live=view.live,
        clearing=_clearing(view.clearing),
        billing=_billing(view.billing),
        settlement=view.settlement,
        credited=view.credited,
        quote_id=view.quote_id,
        cost_so_far=None if cost is None else CostSoFar.model_validate(cost, from_attributes=True),
    )


@router.get(
    "/{session_id}",
    response_model=SessionRead,
    responses=refusals(401, 404, 422, why=NOT_FOUND),
    summary="A session, live",
)
async def get_session(session_id: SessionIdPath, partner: DemandPartnerDep, context: ContextDep) -> SessionRead:
    try:
        view = await service.partner_session(context.reads, context.temporal, partner.id, session_id)
    except service.SessionNotFound as error:
        raise HTTPException(404, "no such session") from error
    if view.stage != SessionStage.CHARGING:
        return _read(view)
    return _read(view, await prices.session_cost_so_far(context.reads, partner, context.prices, view.id))


def _cursor(created_at: datetime, session_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{session_id}".encode()).decode()


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, session_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return utc_instant(datetime.fromisoformat(created_at)), session_id
    except ValueError as error:
        raise HTTPException(400, "cursor is not one we issued") from error


@router.get(
    "",
    response_model=SessionPage,
    responses=refusals(400, 401, 422, why={400: "The cursor is not one we issued"}),
    summary="Your sessions, newest first",
)
async def list_sessions(
    partner: DemandPartnerDep,
    context: ContextDep,
    stage: SessionStage | None = None,
    evse_id: Annotated[str | None, Query(max_length=48, pattern=PRINTABLE_ASCII)] = None,
    needs_attention: bool | None = None,
    created_from: Annotated[UtcInstant | None, Query(description="Sessions created at or after (with zone)")] = None,
    created_to: Annotated[UtcInstant | None, Query(description="Sessions created before (with zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> SessionPage:
    where = SessionFilter(
        demand_partner_id=partner.id,
        stage=None if stage is None else stage.value,
        evse_id=evse_id,
        needs_attention=needs_attention,
        created_from=created_from,
        created_to=created_to,
    )
    after = None if cursor is None else _parse_cursor(cursor)
    # One more than asked: whether there is a next page.
    views = await service.partner_sessions_page(context.reads, where, limit=limit + 1, after=after)
    page = [_read(view) for view in views[:limit]]
    next_cursor = _cursor(page[-1].created_at, page[-1].id) if len(views) > limit else None
    return SessionPage(data=page, next_cursor=next_cursor)


@router.post(
    "/{session_id}/stop",
    status_code=202,
    response_model=StopAccepted,
    responses=refusals(401, 404, 409, 422, why={**NOT_FOUND, 409: "The session cannot be stopped now"}),
    summary="Stop a charging session",
)
async def stop_session(session_id: SessionIdPath, partner: DemandPartnerDep, context: ContextDep) -> StopAccepted:
    """Asks the CPO to stop (OCPI STOP_SESSION). Accepted means the request is recorded in the session;
    the CDR follows as usual."""
    try:
        stopped = await service.request_stop(context.reads, context.temporal, partner.id, session_id)
    except service.SessionNotFound as error:
        raise HTTPException(404, "no such session") from error
    except service.StopRefused as error:
        raise HTTPException(409, str(error)) from error
    log.info("stop requested by %s", partner.id)
    return StopAccepted(id=stopped.session_id, stage=stopped.stage, stop_requested=True)
