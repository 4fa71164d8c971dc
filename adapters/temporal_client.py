"""One way to connect to Temporal, shared by the API, the workers and the tools: always with the pydantic
data converter (Decimal and datetime travel exactly), or histories would not decode."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig


async def connect_temporal(address: str, namespace: str = "default", *, runtime: Runtime | None = None) -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter, runtime=runtime)


def prometheus_runtime(bind_address: str) -> Runtime:
    """A runtime whose SDK metrics (``temporal_*``: activity failures, task latencies, pollers) are served
    for Prometheus at ``http://<bind_address>/metrics``. Workers and clients connected with it report there."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))
