"""One way to connect to Temporal, shared by the API, the workers and the tools: always with the pydantic
data converter (Decimal and datetime travel exactly), or histories would not decode."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter


async def connect_temporal(address: str, namespace: str = "default") -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)
