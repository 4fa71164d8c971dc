"""What the worker measures itself, for Prometheus (``networkcore worker`` serves ``REGISTRY`` when
``NETWORKCORE_WORKER_METRICS_PORT`` is set). Its own registry, not the process-wide default: the API's
``/metrics`` never shows it, even where both run in one process (the tests). Activity failures, task
latencies and the like come from the Temporal SDK's own exporter, not from here; but a step that keeps
failing for a technical reason (retried with backoff, never given up) is counted here, by
``RetryAlertInterceptor``, so that no step retries forever in silence."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

REGISTRY: Final = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

# From a few seconds (the CDR settles in its own workflow task) to days (a settlement parked for a missing
# FX rate and retried by ops).
SETTLEMENT_LATENCY_BUCKETS: Final = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 3 * 86400)

SETTLEMENT_LATENCY: Final = Histogram(
    "networkcore_settlement_latency_seconds",
    "From the CDR's receipt to the commit that first booked its session (stages 7-8); a retried or replayed "
    "settlement that finds the session booked is not counted again, nor is a session that cost nothing.",
    buckets=SETTLEMENT_LATENCY_BUCKETS,
    registry=REGISTRY,
)


def observe_settlement(*, cdr_received_at: datetime, settled_at: datetime) -> None:
    SETTLEMENT_LATENCY.observe(max(0.0, (settled_at - cdr_received_at).total_seconds()))


# With the database steps' backoff (0.2 s doubling to 30 s) the tenth attempt fails about 80 s after the
# first: long enough to ride out a restart, short enough to page someone.
ALERT_AFTER_ATTEMPTS: Final = 10

STEP_FAILURES_AFTER_ALERT: Final = Counter(
    "networkcore_activity_failures_after_alert",
    f"Technical failures of an activity at its attempt {ALERT_AFTER_ATTEMPTS} or later, by activity: a step "
    "that keeps failing and is retried with backoff (alert on any increase). Business refusals are not "
    "counted: they park the workflow with NeedsAttention instead.",
    ["activity"],
    registry=REGISTRY,
)


class RetryAlertInterceptor(Interceptor):
    """Counts an activity's technical failures from attempt ``alert_after_attempts`` on."""

    def __init__(self, alert_after_attempts: int = ALERT_AFTER_ATTEMPTS) -> None:
        self._alert_after_attempts = alert_after_attempts

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _RetryAlert(next, self._alert_after_attempts)


class _RetryAlert(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, alert_after_attempts: int) -> None:
        super().__init__(next)
        self._alert_after_attempts = alert_after_attempts

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except Exception as failure:
            refused = isinstance(failure, ApplicationError) and failure.non_retryable
            info = activity.info()
            if not refused and info.attempt >= self._alert_after_attempts:
                STEP_FAILURES_AFTER_ALERT.labels(info.activity_type).inc()
            raise
