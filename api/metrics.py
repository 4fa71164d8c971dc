"""``GET /metrics``: what the API serves Prometheus, in its own registry per app.

* ``networkcore_http_requests_total`` and ``networkcore_http_request_duration_seconds`` by method, route
  template (``/v1/sessions/{session_id}``, never the path itself) and status;
* ``networkcore_sessions{stage, needs_attention}``, read at scrape time from the counts the database keeps;
* ``networkcore_ledger_check_ok`` (1 or 0), ``..._problems``, ``..._timestamp_seconds`` and
  ``..._duration_seconds`` of the last ``ledger check``, which the worker runs every
  ``NETWORKCORE_LEDGER_CHECK_INTERVAL_S`` and records (absent before the first has run).

Nothing in it names a partner, a driver, a session or a key: labels are routes, stages and statuses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.structured_logs import bind_session
from domain.sessions.lifecycle import SessionStage
from persistence.db import SessionFactory
from persistence.ledger_check_runs import LedgerCheckRun
from services.ledger import last_check
from services.sessions import sessions_by_stage

log = logging.getLogger(__name__)
access_log = logging.getLogger("api.access")

UNMATCHED: Final = "unmatched"  # requests no route took (404s): one label, whatever the path
QUIET_ROUTES: Final = frozenset({"/metrics", "/health"})  # scraped and probed all day: counted, not logged


class SessionsByStage(Collector):
    """``networkcore_sessions``: every stage, with and without needs-attention, zeros included so a series
    never disappears. Reads the kept counts (a few rows) per scrape: generate the exposition off the event
    loop."""

    def __init__(self, reads: SessionFactory) -> None:
        self._reads = reads

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        counts = sessions_by_stage(self._reads)
        family = self._family()
        for stage in SessionStage:
            for attention in (False, True):
                family.add_metric([stage.value, str(attention).lower()], counts.get((stage.value, attention), 0))
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "networkcore_sessions", "Sessions by stage and needs-attention flag", labels=["stage", "needs_attention"]
        )


class LedgerCheckStatus(Collector):
    """The worker's last ``ledger check`` as gauges, read at scrape time (``latest``); none before the first
    has run."""

    def __init__(self, latest: Callable[[], LedgerCheckRun | None]) -> None:
        self._latest = latest

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        last = self._latest()
        if last is None:
            return []
        values = (
            ("networkcore_ledger_check_ok", "1 when the last ledger check found the books right, else 0", last.ok),
            ("networkcore_ledger_check_problems", "Problems the last ledger check found", last.problems),
            (
                "networkcore_ledger_check_timestamp_seconds",
                "When the last ledger check ran (Unix time)",
                last.checked_at.timestamp(),
            ),
            ("networkcore_ledger_check_duration_seconds", "How long the last ledger check took", last.duration_s),
        )
        return [GaugeMetricFamily(name, text, value=float(value)) for name, text, value in values]


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.requests = Counter(
            "networkcore_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "networkcore_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._database: list[Collector] = []

    def watch_database(self, reads: SessionFactory) -> None:
        """Show this database's sessions by stage and last ledger check (once the app's context exists)."""
        for collector in self._database:
            self.registry.unregister(collector)
        self._database = [SessionsByStage(reads), LedgerCheckStatus(lambda: last_check(reads))]
        for collector in self._database:
            self.registry.register(collector)


class RequestMetrics:
    """ASGI middleware: counts and times every request by route template, logs one line for it (with the
    session the route bound, if any) and starts each request with no session bound."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # unless the app answers: an exception that escapes becomes a 500
        started = time.perf_counter()
        bind_session(None)

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            labels = (scope["method"], route, str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(elapsed)
            if route not in QUIET_ROUTES:
                access_log.info(
                    "%s %s %d",
                    scope["method"],
                    route,
                    status,
                    extra={"method": scope["method"], "route": route, "status": status, "duration_ms": elapsed * 1000},
                )
