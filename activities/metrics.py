"""What the worker measures itself, for Prometheus (``networkcore worker`` serves ``REGISTRY`` when
``NETWORKCORE_WORKER_METRICS_PORT`` is set). Its own registry, not the process-wide default: the API's
``/metrics`` never shows it, even where both run in one process (the tests). Activity failures, task
latencies and the like come from the Temporal SDK's own exporter, not from here."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector

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
