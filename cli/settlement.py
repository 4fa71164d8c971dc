"""`networkcore settlement retry`: after a fix (a rate imported, a contract corrected, a tariff repaired),
resume or reset the sessions whose settlement stopped, one or all that match a filter, so each settles
exactly once.

* A stopped settlement parks its workflow in CLEARED with needs-attention and the reason
  ``settlement stopped (<ErrorType>): ...``; the workflow waits for ``retry_settlement``, which resumes it.
* A failed clearing ends the workflow in CDR_RECEIVED with needs-attention and the reason
  ``clearing failed (<ErrorType>): ...``. Nothing waits for a signal any more, so the workflow is reset to
  the workflow task completed just before its CDR arrived: the server re-delivers the signals received
  after that point (the CDR among them) to a new run, which clears and settles as if for the first time.
  Only a latest run that ended in CDR_RECEIVED is reset, so retrying again leaves the new run alone.

Stages 5-8 are idempotent per session, so a retry of a session that meanwhile settled, or two retries at
once, books nothing twice. A retry before the fix stops the session again with the same reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from api.context import workflow_id
from domain.sessions.lifecycle import SessionStage
from messages.sessions import SettlementRetry
from persistence.tables import SessionRow
from workflows import search_attributes as sa
from workflows.sessions import CLEARING_FAILED, SETTLEMENT_STOPPED

# Where each kind of stop leaves a session, and how its reason begins (followed by "(<ErrorType>)").
STOPPED_AT = {SessionStage.CLEARED: SETTLEMENT_STOPPED, SessionStage.CDR_RECEIVED: CLEARING_FAILED}
SIGNALS_AT_ONCE = 20


@dataclass(frozen=True)
class RetryFilter:
    session_id: str | None = None
    cpo: str | None = None
    demand_partner: str | None = None
    error_type: str | None = None  # e.g. FxRateMissing, VatRateMissing, ContractTermsInvalid, TariffInvalid
    since: datetime | None = None  # when the session was created
    until: datetime | None = None
    stage: SessionStage | None = None  # CLEARED (settlement stopped) or CDR_RECEIVED (clearing failed)


@dataclass(frozen=True)
class StoppedSession:
    id: str
    cpo: str | None
    demand_partner: str
    stage: SessionStage
    error_type: str
    reason: str

    @property
    def action(self) -> str:
        return "resume settlement" if self.stage == SessionStage.CLEARED else "reset to CDR received"


def stopped_settlements(db: Session, match: RetryFilter) -> list[StoppedSession]:
    stops = {stage: begins for stage, begins in STOPPED_AT.items() if match.stage in (None, stage)}
    if not stops:
        return []
    named = f"{match.error_type})" if match.error_type else ""
    query = select(SessionRow).where(
        SessionRow.needs_attention.is_(True),
        or_(
            *(
                and_(
                    SessionRow.stage == stage.value, SessionRow.reason.startswith(f"{begins} ({named}", autoescape=True)
                )
                for stage, begins in stops.items()
            )
        ),
    )
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
    found = []
    for row in db.scalars(query.order_by(SessionRow.created_at, SessionRow.id)):
        stage, reason = SessionStage(row.stage), row.reason or ""
        error_type = reason.removeprefix(f"{STOPPED_AT[stage]} (").partition(")")[0]
        found.append(StoppedSession(row.id, row.cpo_id, row.demand_partner_id, stage, error_type, reason))
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
    handle = client.get_workflow_handle(workflow_id(session_id))
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
    sessions: sessionmaker[Session],
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
                    await client.get_workflow_handle(workflow_id(session.id)).signal(
                        "retry_settlement",
                        SettlementRetry(requested_by=requested_by, note="networkcore settlement retry"),
                    )
                    summary.signalled += 1
            except (RPCError, NotResettable) as error:  # e.g. the workflow is no longer running
                summary.not_reached[session.id] = str(error)
                return
            progress(1)

    await asyncio.gather(*(retry(s) for s in stopped))
    waiting = {s.id for s in stopped} - set(summary.not_reached)
    deadline = asyncio.get_running_loop().time() + wait_s
    while waiting:
        with sessions() as db:
            rows = db.execute(select(SessionRow.id, SessionRow.stage).where(SessionRow.id.in_(waiting))).all()
        waiting -= {session_id for session_id, stage in rows if stage == SessionStage.SETTLED.value}
        if not waiting or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    with sessions() as db:
        for row in db.scalars(select(SessionRow).where(SessionRow.id.in_(waiting))):
            summary.not_settled[row.id] = f"{row.stage}: {row.reason or ''}"
    summary.settled = summary.signalled + summary.reset - len(summary.not_settled)
    return summary
