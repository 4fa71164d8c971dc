"""Backpressure on session starts: while the session workflows' backlog is deep (more workflow tasks wait
for a worker than ``max_waiting_tasks``) or the Temporal server does not answer, ``POST /v1/sessions`` gets
503 with ``Retry-After`` at once instead of a slow answer (or a session that waits for minutes to start).

The measure is Temporal's approximate backlog count of the task queue (``services/readiness.py``
``workflow_backlog``), read by ``watch_backlog`` once every ``every_s`` in the background, never per
request: a start only looks at the last reading.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from api.context import ApiContext
from api.refusals import retry_later
from messages.ocpi import OcpiStatus
from services.readiness import WorkflowBacklog, workflow_backlog

log = logging.getLogger(__name__)

SESSION_STARTS: Final = "/v1/sessions"


@dataclass(frozen=True, slots=True)
class BackpressurePolicy:
    max_waiting_tasks: int
    retry_after_s: int
    every_s: float = 1.0


class BacklogReading:
    """The last reading, shared by the watcher (writes) and the middleware (reads). Until the first one,
    starts are let through."""

    def __init__(self) -> None:
        self.last = WorkflowBacklog(0)


async def watch_backlog(context: ApiContext, policy: BackpressurePolicy, reading: BacklogReading) -> None:
    """Runs for the life of the app."""
    while True:
        backlog = await workflow_backlog(context.temporal, context.task_queue, timeout_s=max(policy.every_s, 1.0))
        if backlog.temporal_reachable != reading.last.temporal_reachable:
            log.warning("Temporal server %s", "reachable again" if backlog.temporal_reachable else "not reachable")
        reading.last = backlog
        await asyncio.sleep(policy.every_s)


class SessionStartBackpressure:
    """ASGI middleware for ``POST /v1/sessions``."""

    def __init__(self, app: ASGIApp, policy: BackpressurePolicy, reading: BacklogReading) -> None:
        self.app = app
        self.policy = policy
        self.reading = reading

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/") == SESSION_STARTS:
            reason = self._refusal()
            if reason is not None:
                refusal = retry_later(
                    scope["path"],
                    503,
                    reason,
                    retry_after_s=self.policy.retry_after_s,
                    ocpi_status=OcpiStatus.SERVER_ERROR,
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self) -> str | None:
        waiting = self.reading.last.waiting_tasks
        if waiting is None:
            return "sessions cannot be started now (workflow service unavailable); retry later"
        if waiting > self.policy.max_waiting_tasks:
            return f"too many sessions waiting to start ({waiting}); retry later"
        return None
