"""Retrying stopped settlements (``networkcore settlement retry``): after a fix (a rate imported, a contract
corrected, a tariff repaired), resume or reset the sessions whose settlement stopped, one or all that match
a filter, so each settles exactly once. Sessions and corrections record the ErrorType of their stop
(``error_type``), which the filter matches.

* A stopped settlement parks its workflow in CLEARED with needs-attention and a settlement refusal as its
  ErrorType; the workflow waits for ``retry_settlement``, which resumes it.
* A failed clearing ends the workflow in CDR_RECEIVED with needs-attention and the clearing's ErrorType.
  Nothing waits for a signal any more, so the workflow is reset to the workflow task completed just before
  its CDR arrived: the server re-delivers the signals received after that point (the CDR among them) to a
  new run, which clears and settles as if for the first time. Only a latest run that ended in CDR_RECEIVED
  is reset, so retrying again leaves the new run alone.

* A correction of a settled session (a credit CDR, a re-issued CDR, a dispute's new price) that a business
  refusal stopped, at any step, parks its own workflow (``session-<id>:credit-<g>`` or
  ``session-<id>:settlement-<g>``) in the state STOPPED, with its ErrorType; ``retry_settlement`` resumes it
  too. The session itself stays SETTLED, needing attention with the stop's reason until the correction
  goes on; the correction's state is DONE once it has settled.

Stages 5-8 are idempotent per session and generation, so a retry of a session that meanwhile settled, or
two retries at once, books nothing twice. A retry before the fix stops the session again with the same
reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from activities.errors import SETTLEMENT_REFUSALS
from domain.sessions.lifecycle import SessionStage
from messages.corrections import CorrectionState
from messages.sessions import SettlementRetry
from messages.workflow_ids import session_workflow_id
from persistence.tables import SessionRow, SettlementCorrectionRow
from workflows import search_attributes as sa

# Where each kind of stop leaves a session, and which of its ErrorTypes are stops: at CLEARED a settlement
# refusal (a session that only had a price discrepancy can end there too), at CDR_RECEIVED any clearing failure.
STOPPED_AT: dict[SessionStage, ColumnElement[bool]] = {
    SessionStage.CLEARED: SessionRow.error_type.in_(SETTLEMENT_REFUSALS),
    SessionStage.CDR_RECEIVED: SessionRow.error_type.is_not(None),
}
SIGNALS_AT_ONCE = 20


@dataclass(frozen=True)
class RetryFilter:
    session_id: str | None = None
    cpo: str | None = None
    demand_partner: str | None = None
    error_type: str | None = None  # e.g. FxRateMissing, VatRateMissing, ContractTermsInvalid, TariffInvalid
    since: datetime | None = None  # when the session was created
    until: datetime | None = None
    # CLEARED (settlement stopped), CDR_RECEIVED (clearing failed) or SETTLED (a correction of it stopped)
    stage: SessionStage | None = None


@dataclass(frozen=True)
class StoppedSession:
    id: str
    cpo: str | None
    demand_partner: str
    stage: SessionStage
    error_type: str
    reason: str
    workflow_id: str  # the workflow to resume or reset: the session's, or its correction's

    @property
    def action(self) -> str:
        return {
            SessionStage.CLEARED: "resume settlement",
            SessionStage.CDR_RECEIVED: "reset to CDR received",
            SessionStage.SETTLED: "resume correction",
        }[self.stage]


Columns = TypeVarTuple("Columns")


def _matching(query: Select[*Columns], match: RetryFilter) -> Select[*Columns]:
    for column, wanted in (
        (SessionRow.id, match.session_id),
        (SessionRow.cpo_id, match.cpo),
        (SessionRow.demand_partner_id, match.demand_partner),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if match.since is not None:
        query = query.where(SessionRow.created_at >= match.since)
    if match.until is not None:
        query = query.where(SessionRow.created_at < match.until)
    return query


def stopped_settlements(db: Session, match: RetryFilter) -> list[StoppedSession]:
    return _stopped_sessions(db, match) + _stopped_corrections(db, match)


def _stopped_corrections(db: Session, match: RetryFilter) -> list[StoppedSession]:
    if match.stage not in (None, SessionStage.SETTLED):
        return []
    query = (
        select(SessionRow, SettlementCorrectionRow)
        .join(SettlementCorrectionRow, SettlementCorrectionRow.session_id == SessionRow.id)
        .where(
            SettlementCorrectionRow.state == CorrectionState.STOPPED.value,
            SettlementCorrectionRow.error_type.is_not(None),
        )
    )
    if match.error_type is not None:
        query = query.where(SettlementCorrectionRow.error_type == match.error_type)
    found = []
    for session, correction in db.execute(_matching(query, match).order_by(SessionRow.created_at, SessionRow.id)):
        assert correction.error_type is not None
        found.append(
            StoppedSession(
                session.id,
                session.cpo_id,
                session.demand_partner_id,
                SessionStage.SETTLED,
                correction.error_type,
                correction.reason or "",
                correction.workflow_id,
            )
        )
    return found


def _stopped_sessions(db: Session, match: RetryFilter) -> list[StoppedSession]:
    stops = [
        and_(SessionRow.stage == stage.value, stop)
        for stage, stop in STOPPED_AT.items()
        if match.stage in (None, stage)
    ]
    if not stops:
        return []
    query = select(SessionRow).where(SessionRow.needs_attention.is_(True), or_(*stops))
    if match.error_type is not None:
        query = query.where(SessionRow.error_type == match.error_type)
    found = []
    for row in db.scalars(_matching(query, match).order_by(SessionRow.created_at, SessionRow.id)):
        assert row.error_type is not None
        found.append(
            StoppedSession(
                row.id,
                row.cpo_id,
                row.demand_partner_id,
                SessionStage(row.stage),
                row.error_type,
                row.reason or "",
                session_workflow_id(row.id),
            )
        )
    return found


class NotResettable(Exception):
    """The session's workflow cannot be reset to its CDR (still running, or no CDR in its history)."""


def cdr_reset_point(events: Sequence[HistoryEvent]) -> int:
    """The last workflow task completed before the CDR signal arrived. Resetting there replays the session
    up to its wait for the CDR; the server re-delivers every signal received after that point."""
    completed = None
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            completed = event.event_id
        elif (
            event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
            and event.workflow_execution_signaled_event_attributes.signal_name == "cdr_arrived"
        ):
            if completed is None:
                raise NotResettable("its CDR arrived before its first workflow task completed")
            return completed
    raise NotResettable("no CDR in its history")


async def reset_to_cdr_received(client: Client, session_id: str, *, requested_by: str) -> str:
    """Reset the session's run that ended in CDR_RECEIVED to just before its CDR arrived; the new run's id.

    Only a latest run that ended in CDR_RECEIVED is reset: asked again (or for a session a reset already
    brought back), this finds the reset's run and leaves it alone. Two operators resetting the same run in
    the same instant could both reset it (the second reset terminates the first one's run and starts
    another); its steps are idempotent per session, so the session still settles once."""
    handle = client.get_workflow_handle(session_workflow_id(session_id))
    latest = await handle.describe()
    ended_in = latest.typed_search_attributes.get(sa.SESSION_STAGE)
    if latest.status != WorkflowExecutionStatus.COMPLETED or ended_in != SessionStage.CDR_RECEIVED:
        status = "unknown" if latest.status is None else latest.status.name
        raise NotResettable(f"its latest run is {status} in {ended_in}, not one that ended in CDR_RECEIVED")
    history = await client.get_workflow_handle(handle.id, run_id=latest.run_id).fetch_history()
    reset = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=handle.id, run_id=latest.run_id),
            reason=f"{requested_by}: clear and settle again after the fix",
            workflow_task_finish_event_id=cdr_reset_point(history.events),
            # Derived from the run reset, for servers that de-duplicate resets by request id (the dev server
            # 1.32 does not: the guard above is what keeps a repeated retry from resetting twice).
            request_id=f"networkcore-reset:{latest.run_id}",
        )
    )
    return reset.run_id


@dataclass
class RetrySummary:
    matched: int
    signalled: int = 0  # resumed with retry_settlement
    reset: int = 0  # reset to CDR received
    settled: int = 0
    not_settled: dict[str, str] = field(default_factory=dict)  # session id -> its stage and reason now
    not_reached: dict[str, str] = field(default_factory=dict)  # session id -> why it could not be retried


async def retry_settlements(
    client: Client,
    writes: sessionmaker[Session],
    stopped: list[StoppedSession],
    *,
    requested_by: str,
    wait_s: float,
    progress: Callable[[int], None] = lambda _: None,
) -> RetrySummary:
    """Resume each stopped settlement (signal) or reset each failed clearing, then wait up to ``wait_s`` for
    them to settle; those that did not (stopped again, or still running) are listed with their stage and
    reason."""
    summary = RetrySummary(matched=len(stopped))
    gate = asyncio.Semaphore(SIGNALS_AT_ONCE)

    async def retry(session: StoppedSession) -> None:
        async with gate:
            try:
                if session.stage == SessionStage.CDR_RECEIVED:
                    await reset_to_cdr_received(client, session.id, requested_by=requested_by)
                    summary.reset += 1
                else:
                    await client.get_workflow_handle(session.workflow_id).signal(
                        "retry_settlement",
                        SettlementRetry(requested_by=requested_by, note="networkcore settlement retry"),
                    )
                    summary.signalled += 1
            except (RPCError, NotResettable) as error:  # e.g. the workflow is no longer running
                summary.not_reached[session.id] = str(error)
                return
            progress(1)

    await asyncio.gather(*(retry(s) for s in stopped))
    waiting = [s for s in stopped if s.id not in summary.not_reached]
    deadline = asyncio.get_running_loop().time() + wait_s
    while waiting:
        with writes() as db:
            settled = _settled(db, waiting)
        waiting = [s for s in waiting if s.workflow_id not in settled]
        if not waiting or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    with writes() as db:
        for session in waiting:
            summary.not_settled[session.id] = _where_it_is(db, session)
    summary.settled = summary.signalled + summary.reset - len(summary.not_settled)
    return summary


def _settled(db: Session, retried: list[StoppedSession]) -> set[str]:
    """The workflow ids among ``retried`` whose session settled (or whose correction is done)."""
    sessions = [s.id for s in retried if s.stage != SessionStage.SETTLED]
    corrections = [s.workflow_id for s in retried if s.stage == SessionStage.SETTLED]
    done = {
        session_workflow_id(session_id)
        for session_id in db.scalars(
            select(SessionRow.id).where(SessionRow.id.in_(sessions), SessionRow.stage == SessionStage.SETTLED.value)
        )
    }
    return done | set(
        db.scalars(
            select(SettlementCorrectionRow.workflow_id).where(
                SettlementCorrectionRow.workflow_id.in_(corrections),
                SettlementCorrectionRow.state == CorrectionState.DONE.value,
            )
        )
    )


def _where_it_is(db: Session, session: StoppedSession) -> str:
    if session.stage == SessionStage.SETTLED:
        correction = db.scalars(
            select(SettlementCorrectionRow).where(SettlementCorrectionRow.workflow_id == session.workflow_id)
        ).one()
        return f"correction {correction.state}: {correction.reason or ''}"
    row = db.get_one(SessionRow, session.id)
    return f"{row.stage}: {row.reason or ''}"
