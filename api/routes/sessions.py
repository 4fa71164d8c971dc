"""Demand partners start, follow and stop their sessions. A partner never sees another's (404, not 403)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from adapters.structured_logs import bind_session
from api.context import ApiContext, workflow_id
from api.deps import ContextDep, DemandPartnerDep
from api.schemas import (
    Billing,
    Clearing,
    Problem,
    SessionAccepted,
    SessionCreate,
    SessionPage,
    SessionRead,
    StopAccepted,
)
from domain.money import from_minor
from domain.parties import DemandPartner
from domain.sessions.lifecycle import SessionStage
from messages.sessions import ChargingSessionInput, StopRequest
from persistence import invoices
from persistence import repositories as repo
from persistence.tables import (
    CdrRow,
    ClearingRow,
    FxConversionRow,
    InvoiceLineRow,
    InvoiceRow,
    SessionRow,
)
from services.workflow_starts import start_session
from workflows import search_attributes as sa
from workflows.sessions import ChargingSessionWorkflow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

# Idempotency keys map to session ids deterministically, so a retried start can never make two.
SESSION_NAMESPACE = uuid.UUID("6f1c3d52-7f43-4f0e-9a43-2d8a4e1c9b10")
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "No such session among yours"}}


def _fingerprint(body: SessionCreate) -> str:
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def _register(
    context: ApiContext, partner: DemandPartner, body: SessionCreate, key: str | None
) -> tuple[SessionRow, str | None, str | None, bool]:
    """Store the session (or find the one this idempotency key already made). Returns the row, the
    charger's CPO and country for the search attributes, and whether the row is new."""
    fingerprint = _fingerprint(body)
    session_id = str(uuid.uuid5(SESSION_NAMESPACE, f"{partner.id}\n{key}") if key else uuid.uuid4())
    with context.sessions() as db:
        charger = repo.charger_by_evse_id(db, body.evse_id)
        cpo_id = None if charger is None else charger.cpo.id
        country = None if charger is None else charger.location.country
        existing = repo.session_by_idempotency_key(db, partner.id, key) if key else None
        if existing is None:
            now = datetime.now(UTC)
            row = SessionRow(
                id=session_id,
                demand_partner_id=partner.id,
                idempotency_key=key,
                request_fingerprint=fingerprint,
                evse_id=body.evse_id,
                driver_reference=body.driver_reference,
                max_amount=body.max_amount,
                stage=SessionStage.STARTING.value,
                needs_attention=False,
                kwh=0,
                created_at=now,
                updated_at=now,
            )
            db.add(row)
            try:
                db.commit()
                return row, cpo_id, country, True
            except IntegrityError:
                db.rollback()  # the same key raced us: theirs is the session
                existing = repo.session_by_idempotency_key(db, partner.id, key) if key else None
                if existing is None:
                    raise
        if existing.request_fingerprint != fingerprint:
            raise HTTPException(409, "this Idempotency-Key was already used with a different request body")
        return existing, cpo_id, country, False


@router.post(
    "",
    status_code=202,
    response_model=SessionAccepted,
    responses={409: {"model": Problem, "description": "Idempotency-Key reused with a different body"}},
    summary="Start a charging session",
)
async def create_session(
    body: SessionCreate,
    partner: DemandPartnerDep,
    context: ContextDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> SessionAccepted:
    """Authorisation and the start run in the session's workflow; follow it with GET. Retrying with the
    same ``Idempotency-Key`` returns the same session and never starts a second one."""
    row, cpo_id, country, created = await run_in_threadpool(_register, context, partner, body, idempotency_key)
    bind_session(row.id)
    await start_session(
        context.temporal,
        context.task_queue,
        ChargingSessionInput(
            session_id=row.id,
            demand_partner_id=row.demand_partner_id,
            evse_id=row.evse_id,
            driver_reference=row.driver_reference,
            requested_at=row.created_at,
            timeouts=context.timeouts,
            clearing=True,
            settlement=True,
            max_amount=row.max_amount,
        ),
        cpo_id=cpo_id,
        country=country,
    )
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    log.info("session %s for %s at %s", "accepted" if created else "replayed", partner.id, row.evse_id)
    return SessionAccepted(
        id=row.id,
        stage=SessionStage(row.stage),
        links={"self": f"/v1/sessions/{row.id}", "stop": f"/v1/sessions/{row.id}/stop"},
    )


def _clearing(row: ClearingRow | None) -> Clearing | None:
    if row is None:
        return None
    return Clearing(
        currency=row.currency,
        total_cost={"excl_vat": row.total_excl_vat, "incl_vat": row.total_incl_vat},
        cpo_claimed={"excl_vat": row.claimed_excl_vat, "incl_vat": row.claimed_incl_vat},
        discrepancy=row.discrepancy,
        tolerance=row.tolerance,
        rating=row.report,
    )


def _billing(row: FxConversionRow | None, invoiced: tuple[InvoiceLineRow, InvoiceRow] | None) -> Billing | None:
    if row is None:
        return None
    currency = row.to_currency
    line, invoice = invoiced if invoiced is not None else (None, None)
    return Billing(
        currency=currency,
        net=from_minor(row.converted_minor, currency),
        vat=None if line is None else from_minor(line.vat_minor, currency),
        total=None if line is None else from_minor(line.net_minor + line.vat_minor, currency),
        invoice=None if invoice is None else invoice.number,
        tariff_currency=row.from_currency,
        tariff_net=from_minor(row.amount_minor, row.from_currency),
        reference_rate=row.reference_rate,
        rate_source=row.rate_source,
        rate_as_of=row.rate_as_of,
    )


def _read(
    row: SessionRow,
    cdr: CdrRow | None,
    *,
    live_stage: str | None,
    live_attention: bool | None,
    clearing: ClearingRow | None = None,
    conversion: FxConversionRow | None = None,
    invoiced: tuple[InvoiceLineRow, InvoiceRow] | None = None,
) -> SessionRead:
    return SessionRead(
        id=row.id,
        stage=SessionStage(live_stage or row.stage),
        needs_attention=row.needs_attention if live_attention is None else (live_attention or row.needs_attention),
        reason=row.reason,
        evse_id=row.evse_id,
        driver_reference=row.driver_reference,
        cpo_id=row.cpo_id,
        country=row.country,
        location_id=row.location_id,
        currency=row.currency,
        cpo_session_id=row.cpo_session_id,
        cpo_status=row.cpo_status,
        kwh=row.kwh,
        started_at=row.started_at,
        ended_at=row.ended_at,
        cdr_id=None if cdr is None else cdr.cdr_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        live=live_stage is not None,
        clearing=_clearing(clearing),
        billing=_billing(conversion, invoiced),
        settlement=row.settlement_generation,
        credited=row.credited,
    )


@router.get("/{session_id}", response_model=SessionRead, responses=NOT_FOUND, summary="A session, live")
async def get_session(session_id: str, partner: DemandPartnerDep, context: ContextDep) -> SessionRead:
    bind_session(session_id)

    def load() -> tuple[
        SessionRow | None,
        CdrRow | None,
        ClearingRow | None,
        FxConversionRow | None,
        tuple[InvoiceLineRow, InvoiceRow] | None,
    ]:
        with context.reads() as db:
            row = repo.session_for_demand_partner(db, partner.id, session_id)
            if row is None:
                return None, None, None, None, None
            cdr = None if row.cdr_key is None else db.get(CdrRow, row.cdr_key)
            return (
                row,
                cdr,
                repo.clearing_for_session(db, row.id),
                repo.conversion_for_session(db, row.id),
                invoices.platform_line(db, row.id),
            )

    row, cdr, clearing, conversion, invoiced = await run_in_threadpool(load)
    if row is None:
        raise HTTPException(404, "no such session")
    try:
        # describe() reads the workflow's search attributes: current, free, and needs no worker.
        description = await context.temporal.get_workflow_handle(workflow_id(row.id)).describe()
    except RPCError:
        return _read(
            row,
            cdr,
            live_stage=None,
            live_attention=None,
            clearing=clearing,
            conversion=conversion,
            invoiced=invoiced,
        )
    # A closed workflow's attributes are frozen; what happens after (a correction, a dispute decided) is in
    # the read model.
    running = description.status == WorkflowExecutionStatus.RUNNING
    attributes = description.typed_search_attributes
    return _read(
        row,
        cdr,
        live_stage=attributes.get(sa.SESSION_STAGE) if running else None,
        live_attention=attributes.get(sa.NEEDS_ATTENTION) if running else None,
        clearing=clearing,
        conversion=conversion,
        invoiced=invoiced,
    )


def _cursor(created_at: datetime, session_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{session_id}".encode()).decode()


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, session_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created_at), session_id
    except ValueError as error:
        raise HTTPException(400, "cursor is not one we issued") from error


@router.get("", response_model=SessionPage, summary="Your sessions, newest first")
async def list_sessions(
    partner: DemandPartnerDep,
    context: ContextDep,
    stage: SessionStage | None = None,
    evse_id: str | None = None,
    needs_attention: bool | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> SessionPage:
    after = None if cursor is None else _parse_cursor(cursor)
    where = repo.SessionFilter(
        demand_partner_id=partner.id,
        stage=None if stage is None else stage.value,
        evse_id=evse_id,
        needs_attention=needs_attention,
        created_from=created_from,
        created_to=created_to,
    )

    def load() -> list[SessionRead]:
        with context.reads() as db:
            rows = repo.list_sessions(db, where, limit=limit + 1, after=after)
            return [
                _read(
                    r,
                    None if r.cdr_key is None else db.get(CdrRow, r.cdr_key),
                    live_stage=None,
                    live_attention=None,
                )
                for r in rows
            ]

    items = await run_in_threadpool(load)
    page, more = items[:limit], len(items) > limit
    next_cursor = None
    if more:
        next_cursor = _cursor(page[-1].created_at, page[-1].id)
    return SessionPage(data=page, next_cursor=next_cursor)


@router.post(
    "/{session_id}/stop",
    status_code=202,
    response_model=StopAccepted,
    responses={**NOT_FOUND, 409: {"model": Problem, "description": "The session cannot be stopped now"}},
    summary="Stop a charging session",
)
async def stop_session(session_id: str, partner: DemandPartnerDep, context: ContextDep) -> StopAccepted:
    """Asks the CPO to stop (OCPI STOP_SESSION). Accepted means the request is recorded in the session;
    the CDR follows as usual."""
    bind_session(session_id)

    def load() -> SessionRow | None:
        with context.reads() as db:
            return repo.session_for_demand_partner(db, partner.id, session_id)

    row = await run_in_threadpool(load)
    if row is None:
        raise HTTPException(404, "no such session")
    handle = context.temporal.get_workflow_handle(workflow_id(row.id))
    try:
        await handle.start_update(
            ChargingSessionWorkflow.stop,
            StopRequest(requested_by=partner.id),
            id=f"stop-{row.id}",  # one stop per session: a retried stop is de-duplicated
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        detail = cause.message if isinstance(cause, ApplicationError) else str(error)
        raise HTTPException(409, detail) from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(409, "the session has already ended") from error
        raise
    log.info("stop requested by %s", partner.id)
    description = await handle.describe()
    stage = description.typed_search_attributes.get(sa.SESSION_STAGE) or row.stage
    return StopAccepted(id=row.id, stage=SessionStage(stage), stop_requested=True)
