"""Store, then tell the workflow. A CPO message is stored and applied in one transaction, committed, and
only then forwarded: the session's workflow is signalled (started first when the CPO started the session on
our real-time authorisation; or a correction workflow started), and that it
was told is recorded in a second transaction. When the workflow cannot be told, the CPO is asked to retry;
its retry is a duplicate, which owes the same signal again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from anyio import to_thread
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.structured_logs import bind_session
from domain.sessions.lifecycle import SessionStage
from messages.ocpi import OcpiStatus
from messages.sessions import CdrArrived, CommandResultReported, CpoSessionReported
from messages.workflow_ids import session_workflow_id
from persistence import repositories as repo
from persistence.tables import SessionRow
from services.context import WriteAndStart
from services.ocpi.inbox import CpoMessage, IntakeResult, Outcome, Signal
from services.workflow_starts import start_correction, start_session
from workflows.sessions import ChargingSessionWorkflow

log = logging.getLogger(__name__)

RETRY_LATER = IntakeResult(OcpiStatus.SERVER_ERROR, "stored, but not yet processed; please retry")
NOT_PROCESSED = IntakeResult(OcpiStatus.SERVER_ERROR, "stored, but we failed to process it; please retry", 500)


async def receive(
    context: WriteAndStart,
    what: str,
    message: CpoMessage,
    intake: Callable[[Session], IntakeResult],
    *,
    forwarded: Callable[[Session, Signal], None] | None = None,
) -> IntakeResult:
    """Run ``intake`` in a transaction, then forward what it owes; ``forwarded`` records a delivered signal.
    When ``intake`` fails, ``message`` is stored with that answer."""

    def store() -> IntakeResult:
        try:
            return apply()
        except Exception:
            # Whatever went wrong, the message is not lost: it is kept with the answer it gets (if the
            # database itself is away, this fails too, and the CPO's retry is all there is).
            log.exception("OCPI %s: not processed", what)
            with context.writes.begin() as db:
                return message.inbox(db).answer(Outcome.FAILED, NOT_PROCESSED)

    def apply() -> IntakeResult:
        try:
            with context.writes.begin() as db:
                return intake(db)
        except IntegrityError:
            # Another transaction created the same object first (our pull and the CPO's push of one new
            # Location): run again, now as an update of what it created.
            log.info("OCPI %s: met a concurrent insert, applying again", what)
            with context.writes.begin() as db:
                return intake(db)

    result = await to_thread.run_sync(store)
    if result.our_session_id is not None:
        bind_session(result.our_session_id)
    log.info("OCPI %s: %d %s", what, result.status, result.message, extra={"ocpi_status": int(result.status)})
    if result.correction is not None:
        try:
            await start_correction(context.temporal, context.task_queue, result.correction)
        except RPCError as error:
            # Stored with its correction PENDING: the CPO's retry (a duplicate) starts it again.
            log.warning("correction %s not started: %s", result.correction.workflow_id, error)
            return RETRY_LATER
    if result.session_start is not None:
        start = result.session_start
        try:
            await start_session(
                context.temporal, context.task_queue, start.session, cpo_id=start.cpo_id, country=start.country
            )
        except RPCError as error:
            # Stored with its session STARTING: the CPO's retry starts the workflow again.
            log.warning("session %s not started: %s", start.session.session_id, error)
            return RETRY_LATER
    if result.signal is not None:
        session_id = result.our_session_id
        assert session_id is not None
        signal = result.signal
        try:
            delivered = await _signal(context.temporal, session_id, signal)
        except RPCError as error:
            # Stored, but the workflow could not be told: ask the CPO to retry, which re-sends the signal.
            log.warning("signal for %s not delivered: %s", session_id, error)
            return RETRY_LATER

        def record() -> None:
            with context.writes.begin() as db:
                if not delivered and not result.repeat:
                    flag_closed_session(db, session_id, what)
                if forwarded is not None:
                    forwarded(db, signal)

        await to_thread.run_sync(record)
    return result


async def refuse_unread(
    context: WriteAndStart, message: CpoMessage, *, outcome: Outcome, problem: str, http_status: int
) -> IntakeResult:
    """Store a body the door would not parse (too large, or not JSON) with its refusal."""
    return await receive(
        context, message.kind.value, message, lambda db: message.inbox(db).refuse_unread(outcome, problem, http_status)
    )


async def _signal(temporal: Client, session_id: str, signal: Signal) -> bool:
    """Returns False when the workflow has already ended."""
    handle = temporal.get_workflow_handle(session_workflow_id(session_id))
    try:
        if isinstance(signal, CpoSessionReported):
            await handle.signal(ChargingSessionWorkflow.cpo_session_reported, signal)
        elif isinstance(signal, CommandResultReported):
            await handle.signal(ChargingSessionWorkflow.command_result_reported, signal)
        else:
            assert isinstance(signal, CdrArrived)
            await handle.signal(ChargingSessionWorkflow.cdr_arrived, signal)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def flag_closed_session(db: Session, session_id: str, what: str) -> None:
    """A CPO message arrived for a session whose workflow has ended: keep it in front of ops."""
    row = db.get_one(SessionRow, session_id)
    if row.stage == SessionStage.CDR_RECEIVED.value and what.startswith("Session"):
        return  # late status reports after the CDR change nothing
    repo.move_session_stage(
        db,
        session_id,
        SessionStage(row.stage),
        now=datetime.now(UTC),
        needs_attention=True,
        reason=f"{what} arrived after the session closed as {row.stage}; review it",
    )
