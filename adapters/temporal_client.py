"""One way to connect to Temporal, shared by the API, the workers and the tools: always with the pydantic
data converter (Decimal and datetime travel exactly), or histories would not decode."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import CompositePayloadConverter, DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

# The encodings of one pydantic converter, shared by every instance of ``SharedPydanticPayloadConverter``.
_PYDANTIC_ENCODINGS = tuple(PydanticPayloadConverter().converters.values())


class SharedPydanticPayloadConverter(PydanticPayloadConverter):
    """The SDK's pydantic converter, built without building its parts again. The worker makes a payload
    converter from its class twice for every workflow activation and once for every run; each pydantic one made
    its own JSON converter with an empty type-adapter cache (2 % of the worker's CPU). Those parts keep no state
    but that cache, which is the better for being shared (thread-safe, bounded)."""

    def __init__(self) -> None:
        CompositePayloadConverter.__init__(self, *_PYDANTIC_ENCODINGS)


DATA_CONVERTER = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)


async def connect_temporal(address: str, namespace: str = "default", *, runtime: Runtime | None = None) -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER, runtime=runtime)


def prometheus_runtime(bind_address: str) -> Runtime:
    """A runtime whose SDK metrics (``temporal_*``: activity failures, task latencies, pollers) are served
    for Prometheus at ``http://<bind_address>/metrics``. Workers and clients connected with it report there."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))
