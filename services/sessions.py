"""A demand partner's charging sessions: starting one (at most once per idempotency key), reading them
(stage and attention live from the running workflow) and asking the CPO to stop one."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import anyio.to_thread
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from adapters.structured_logs import bind_session
from domain.parties import DemandPartner
from domain.partners import FieldInvalid, checked_amount
from domain.sessions.lifecycle import SessionStage
from domain.tariffs.partner_price import check_quote_use
from messages.sessions import ChargingSessionInput, SessionTimeouts, StopRequest
from messages.workflow_ids import session_workflow_id
from persistence import partner_sessions, quotes, session_counts
from persistence import repositories as repo
from persistence.db import SessionFactory
from persistence.partner_sessions import RegisteredSession, SessionView
from services.workflow_starts import start_session
from workflows import search_attributes as sa
from workflows.sessions import ChargingSessionWorkflow

# Idempotency keys map to session ids deterministically, so a retried start can never make two.
SESSION_NAMESPACE = uuid.UUID("6f1c3d52-7f43-4f0e-9a43-2d8a4e1c9b10")


class SessionNotFound(Exception):
    """No such session among the partner's (it may be another partner's: they never learn which)."""


class IdempotencyKeyReused(Exception):
    """The idempotency key already started a session from a different request."""


class RequestInvalid(Exception):
    """A field of the request is refused; the message names it."""


class QuoteUnknown(Exception):
    """No such quote among the partner's (it may be another partner's: they never learn which)."""


class StopRefused(Exception):
    """The session cannot be stopped now; the message says why."""


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """What a partner asks for when it starts a session."""

    evse_id: str
    driver_reference: str
    max_amount: Decimal | None
    quote_id: str | None = None

    def fingerprint(self) -> str:
        """The same request gives the same fingerprint, whatever order its fields came in."""
        body = {
            "evse_id": self.evse_id,
            "driver_reference": self.driver_reference,
            # As the API's JSON writes a Decimal: the fingerprints stored before this function stay valid.
            "max_amount": None if self.max_amount is None else str(self.max_amount),
        }
        if self.quote_id is not None:  # absent from the fingerprints of requests without one, as before
            body["quote_id"] = self.quote_id
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StartedSession:
    session: RegisteredSession
    created: bool  # False: the idempotency key's earlier session, returned again


@dataclass(frozen=True, slots=True)
class StopRequested:
    session_id: str
    stage: SessionStage


def _check_quote(db: Session, demand_partner_id: str, request: SessionRequest, at: datetime) -> None:
    """``QuoteUnknown``, or the quote's refusal (``QuoteExpired``, ``QuoteForAnotherEvse``)."""
    assert request.quote_id is not None
    quote = quotes.partner_quote(db, demand_partner_id, request.quote_id)
    if quote is None:
        raise QuoteUnknown(request.quote_id)
    check_quote_use(quoted_evse_id=quote.evse_id, valid_until=quote.valid_until, evse_id=request.evse_id, at=at)


def _register(
    writes: SessionFactory, demand_partner_id: str, request: SessionRequest, key: str | None
) -> tuple[StartedSession, str | None, str | None]:
    """Store the session (or find the one this idempotency key already made), with the charger's CPO and
    country for the search attributes."""
    fingerprint = request.fingerprint()
    session_id = str(uuid.uuid5(SESSION_NAMESPACE, f"{demand_partner_id}\n{key}") if key else uuid.uuid4())
    with writes() as db:
        charger = repo.charger_by_evse_id(db, request.evse_id)
        cpo_id = None if charger is None else charger.cpo.id
        country = None if charger is None else charger.location.country
        existing = partner_sessions.session_by_idempotency_key(db, demand_partner_id, key) if key else None
        if existing is None:
            created_at = datetime.now(UTC)
            if request.quote_id is not None:
                _check_quote(db, demand_partner_id, request, created_at)
            new = RegisteredSession(
                id=session_id,
                demand_partner_id=demand_partner_id,
                idempotency_key=key,
                request_fingerprint=fingerprint,
                evse_id=request.evse_id,
                driver_reference=request.driver_reference,
                max_amount=request.max_amount,
                stage=SessionStage.STARTING,
                created_at=created_at,
                quote_id=request.quote_id,
            )
            stored, created = partner_sessions.store_session(db, new)
            if created:
                return StartedSession(stored, created=True), cpo_id, country
            existing = stored
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request body")
    return StartedSession(existing, created=False), cpo_id, country


async def start_charging_session(
    writes: SessionFactory,
    temporal: Client,
    *,
    task_queue: str,
    timeouts: SessionTimeouts,
    partner: DemandPartner,
    request: SessionRequest,
    idempotency_key: str | None,
) -> StartedSession:
    """Store the session and start its workflow, which authorises and starts it. Retrying with the same
    idempotency key returns the same session and never starts a second one (the workflow start is
    repeated: it finds the workflow the first attempt started, or starts it if that attempt failed).
    A ``max_amount`` finer than the partner's billing currency (0.001 EUR) is refused."""
    if request.max_amount is not None:
        try:
            checked_amount("max_amount", request.max_amount, partner.billing_currency)
        except FieldInvalid as error:
            raise RequestInvalid(str(error)) from error
    started, cpo_id, country = await anyio.to_thread.run_sync(_register, writes, partner.id, request, idempotency_key)
    session = started.session
    bind_session(session.id)
    await start_session(
        temporal,
        task_queue,
        ChargingSessionInput(
            session_id=session.id,
            demand_partner_id=session.demand_partner_id,
            evse_id=session.evse_id,
            driver_reference=session.driver_reference,
            requested_at=session.created_at,
            timeouts=timeouts,
            clearing=True,
            settlement=True,
            settles_in_one_step=True,
            patched_from_start=True,
            max_amount=session.max_amount,
        ),
        cpo_id=cpo_id,
        country=country,
    )
    return started


async def partner_session(
    reads: SessionFactory, temporal: Client, demand_partner_id: str, session_id: str
) -> SessionView:
    """One of the partner's sessions; while its workflow runs, stage and attention are the workflow's."""
    bind_session(session_id)

    def load() -> SessionView | None:
        with reads() as db:
            return partner_sessions.session_view(db, demand_partner_id, session_id)

    view = await anyio.to_thread.run_sync(load)
    if view is None:
        raise SessionNotFound(session_id)
    try:
        # describe() reads the workflow's search attributes: current, free, and needs no worker.
        description = await temporal.get_workflow_handle(session_workflow_id(view.id)).describe()
    except RPCError:
        return view
    # A closed workflow's attributes are frozen; what happens after (a correction, a dispute decided) is in
    # the read model.
    if description.status != WorkflowExecutionStatus.RUNNING:
        return view
    attributes = description.typed_search_attributes
    live_stage = attributes.get(sa.SESSION_STAGE)
    live_attention = attributes.get(sa.NEEDS_ATTENTION)
    return dataclasses.replace(
        view,
        stage=view.stage if not live_stage else SessionStage(live_stage),
        needs_attention=view.needs_attention if live_attention is None else (live_attention or view.needs_attention),
        live=live_stage is not None,
    )


async def partner_sessions_page(
    reads: SessionFactory, where: repo.SessionFilter, *, limit: int, after: tuple[datetime, str] | None
) -> list[SessionView]:
    """Up to ``limit`` of the partner's sessions after the cursor ``after`` (created at, id), newest first."""

    def load() -> list[SessionView]:
        with reads() as db:
            return partner_sessions.session_views(db, where, limit=limit, after=after)

    return await anyio.to_thread.run_sync(load)


async def request_stop(
    reads: SessionFactory, temporal: Client, demand_partner_id: str, session_id: str, *, reason: str | None = None
) -> StopRequested:
    """Ask the CPO to stop the session (OCPI STOP_SESSION), through its workflow; the CDR follows as usual.
    ``reason``: why, when it is not the partner's own request (its ``max_amount`` reached)."""
    bind_session(session_id)

    def load() -> SessionStage | None:
        with reads() as db:
            row = repo.session_for_demand_partner(db, demand_partner_id, session_id)
            return None if row is None else SessionStage(row.stage)

    stored_stage = await anyio.to_thread.run_sync(load)
    if stored_stage is None:
        raise SessionNotFound(session_id)
    handle = temporal.get_workflow_handle(session_workflow_id(session_id))
    try:
        await handle.start_update(
            ChargingSessionWorkflow.stop,
            StopRequest(requested_by=demand_partner_id, reason=reason),
            id=f"stop-{session_id}",  # one stop per session: a retried stop is de-duplicated
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        raise StopRefused(cause.message if isinstance(cause, ApplicationError) else str(error)) from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise StopRefused("the session has already ended") from error
        raise
    description = await handle.describe()
    live_stage = description.typed_search_attributes.get(sa.SESSION_STAGE)
    return StopRequested(session_id, SessionStage(live_stage) if live_stage else stored_stage)


def sessions_by_stage(reads: SessionFactory) -> dict[tuple[str, bool], int]:
    """(stage, needs attention) -> number of sessions; combinations without a session are absent."""
    with reads() as db:
        return session_counts.sessions_by_stage(db)
