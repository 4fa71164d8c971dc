"""Backpressure on session starts: while the session workflows' backlog is deep (more workflow tasks wait
for a worker than ``max_waiting_tasks``) or the Temporal server does not answer, ``POST /v1/sessions`` gets
503 with ``Retry-After`` at once instead of a slow answer (or a session that waits for minutes to start).

The measure is Temporal's approximate backlog count of the task queue (``services/readiness.py``
``workflow_backlog``), read by ``watch_backlog`` once every ``every_s`` in the background, never per
request: a start only looks at the last reading.

That backlog stays short while the worker keeps up with picking tasks but not with running them (it polls
ahead of what it can do), so past capacity the starts themselves get slow, by seconds. The second guard is
on them: ``AdaptiveStartLimit`` lets only so many starts run at once in this process, a limit that shrinks
while starts take longer than a target and grows back while they do not; a start past the limit gets 503
at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
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
    start_latency_target_ms: float = 0.0  # 0: no adaptive limit on starts in flight


class AdaptiveStartLimit:
    """How many session starts may be in flight in this process: additive increase, multiplicative decrease
    (as TCP's congestion window). A start that took longer than ``target_ms`` cuts the limit by a tenth, down
    to ``floor``; one within it adds ``1 / limit`` (about one more per limit's worth of fast starts), up to
    ``ceiling``. It starts at ``floor * 4``: a burst on a cold process must first show it is served fast."""

    DECREASE = 0.9

    def __init__(self, target_ms: float, *, floor: int = 2, ceiling: int = 64) -> None:
        self.target_ms = target_ms
        self.floor = floor
        self.ceiling = ceiling
        self.limit = float(min(ceiling, floor * 4))
        self.in_flight = 0

    def admit(self) -> bool:
        if self.in_flight >= int(self.limit):
            return False
        self.in_flight += 1
        return True

    def done(self, elapsed_ms: float) -> None:
        self.in_flight -= 1
        if elapsed_ms > self.target_ms:
            self.limit = max(float(self.floor), self.limit * self.DECREASE)
        else:
            self.limit = min(float(self.ceiling), self.limit + 1 / self.limit)


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
        target = policy.start_latency_target_ms
        self.in_flight = AdaptiveStartLimit(target) if target > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/") == SESSION_STARTS):
            await self.app(scope, receive, send)
            return
        reason = self._refusal()
        if reason is not None:
            await self._refuse(scope, receive, send, reason, self.policy.retry_after_s)
            return
        if self.in_flight is None:
            await self.app(scope, receive, send)
            return
        if not self.in_flight.admit():
            # A slot frees as soon as one of the starts in flight answers: worth trying again soon.
            await self._refuse(scope, receive, send, "too many session starts in progress; retry later", 1)
            return
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight.done((time.perf_counter() - began) * 1000)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, reason: str, retry_after_s: int) -> None:
        refusal = retry_later(
            scope["path"], 503, reason, retry_after_s=retry_after_s, ocpi_status=OcpiStatus.SERVER_ERROR
        )
        await refusal(scope, receive, send)

    def _refusal(self) -> str | None:
        waiting = self.reading.last.waiting_tasks
        if waiting is None:
            return "sessions cannot be started now (workflow service unavailable); retry later"
        if waiting > self.policy.max_waiting_tasks:
            return f"too many sessions waiting to start ({waiting}); retry later"
        return None
