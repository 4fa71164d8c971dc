"""Run by ``test_metrics``: a worker whose client connects through ``prometheus_runtime`` (as
``networkcore worker`` does with ``NETWORKCORE_TEMPORAL_METRICS_PORT``) runs one activity that always fails,
once as a local and once as a remote activity, then prints what the SDK serves at /metrics and leaves
without interpreter teardown (sdk-python#300). Arguments: the Temporal address and the metrics port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from datetime import timedelta

import httpx
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError
from temporalio.worker import Worker

from adapters.temporal_client import connect_temporal, prometheus_runtime

ONCE = RetryPolicy(maximum_attempts=1)


@activity.defn
async def always_refused() -> None:
    raise RuntimeError("refused on purpose")


@workflow.defn(sandboxed=False)
class FailingActivitiesWorkflow:
    @workflow.run
    async def run(self) -> None:
        timeout = timedelta(seconds=10)
        with contextlib.suppress(FailureError):
            await workflow.execute_local_activity(always_refused, start_to_close_timeout=timeout, retry_policy=ONCE)
        with contextlib.suppress(FailureError):
            await workflow.execute_activity(always_refused, start_to_close_timeout=timeout, retry_policy=ONCE)


async def probe(address: str, port: int) -> str:
    client = await connect_temporal(address, runtime=prometheus_runtime(f"127.0.0.1:{port}"))
    task_queue = f"sdk-metrics-{uuid.uuid4()}"
    async with Worker(
        client, task_queue=task_queue, workflows=[FailingActivitiesWorkflow], activities=[always_refused]
    ):
        await client.execute_workflow(FailingActivitiesWorkflow.run, id=task_queue, task_queue=task_queue)
    async with httpx.AsyncClient() as http:
        return (await http.get(f"http://127.0.0.1:{port}/metrics", timeout=10)).text


if __name__ == "__main__":
    sys.stdout.write(asyncio.run(probe(sys.argv[1], int(sys.argv[2]))))
    sys.stdout.flush()
    os._exit(0)
