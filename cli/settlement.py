"""`networkcore settlement retry`: after a fix (a rate imported, a contract corrected), resume the sessions
whose settlement stopped, one or all that match a filter, so each settles exactly once.

A stopped settlement parks its workflow in CLEARED with needs-attention and the reason
``settlement stopped (<ErrorType>): ...``; the workflow waits for ``retry_settlement``. Stages 6-8 are
idempotent per session, so a retry of a session that meanwhile settled, or two retries at once, books
nothing twice. A retry before the fix parks the session again with the same reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.service import RPCError

from api.context import workflow_id
from domain.sessions.lifecycle import SessionStage
from messages.sessions import SettlementRetry
from persistence.tables import SessionRow

STOPPED = "settlement stopped ("
SIGNALS_AT_ONCE = 20


@dataclass(frozen=True)
class RetryFilter:
    session_id: str | None = None
    cpo: str | None = None
    demand_partner: str | None = None
    error_type: str | None = None  # e.g. FxRateMissing, VatRateMissing, ContractTermsInvalid
    since: datetime | None = None  # when the session was created
    until: datetime | None = None


@dataclass(frozen=True)
class StoppedSession:
    id: str
    cpo: str | None
    demand_partner: str
    error_type: str
    reason: str


def stopped_settlements(db: Session, match: RetryFilter) -> list[StoppedSession]:
    query = select(SessionRow).where(
        SessionRow.stage == SessionStage.CLEARED.value,
        SessionRow.needs_attention.is_(True),
        SessionRow.reason.startswith(STOPPED + (f"{match.error_type})" if match.error_type else ""), autoescape=True),
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
        reason = row.reason or ""
        found.append(
            StoppedSession(row.id, row.cpo_id, row.demand_partner_id, reason[len(STOPPED) :].partition(")")[0], reason)
        )
    return found


@dataclass
class RetrySummary:
    matched: int
    signalled: int = 0
    settled: int = 0
    not_settled: dict[str, str] = field(default_factory=dict)  # session id -> its stage and reason now
    not_reached: dict[str, str] = field(default_factory=dict)  # session id -> why the signal did not arrive


async def retry_settlements(
    client: Client,
    sessions: sessionmaker[Session],
    stopped: list[StoppedSession],
    *,
    requested_by: str,
    wait_s: float,
    progress: Callable[[int], None] = lambda _: None,
) -> RetrySummary:
    """Signal each stopped session to retry, then wait up to ``wait_s`` for them to settle; those that did
    not (stopped again, or still running) are listed with their stage and reason."""
    summary = RetrySummary(matched=len(stopped))
    gate = asyncio.Semaphore(SIGNALS_AT_ONCE)

    async def signal(session: StoppedSession) -> None:
        async with gate:
            try:
                await client.get_workflow_handle(workflow_id(session.id)).signal(
                    "retry_settlement", SettlementRetry(requested_by=requested_by, note="networkcore settlement retry")
                )
            except RPCError as error:  # e.g. the workflow is no longer running
                summary.not_reached[session.id] = str(error)
                return
            summary.signalled += 1
            progress(1)

    await asyncio.gather(*(signal(s) for s in stopped))
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
    summary.settled = summary.signalled - len(summary.not_settled)
    return summary
