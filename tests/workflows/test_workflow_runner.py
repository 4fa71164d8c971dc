"""The worker's workflow runner (``adapters/temporal_runner.py``) on the real dev server: payloads still travel
through the pydantic converter to the cent, and workflow code still runs in the sandbox (a clock read is
refused). A converter that uses the serialization context keeps the SDK's runner."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from adapters.temporal_client import DATA_CONVERTER
from adapters.temporal_runner import ContextFreeSandboxRunner, ignores_serialization_context, workflow_runner
from tests.workflows.sandbox_probe import Amount, SandboxProbeWorkflow, double


class KeyedCodec(PayloadCodec, WithSerializationContext):
    """A codec with a key per workflow, as an encrypting one would have: it uses the context."""

    def __init__(self, context: SerializationContext | None = None) -> None:
        self.context = context

    def with_context(self, context: SerializationContext) -> KeyedCodec:
        return KeyedCodec(context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


def test_our_converter_ignores_the_context_and_gets_the_context_free_runner() -> None:
    assert ignores_serialization_context(DATA_CONVERTER)
    assert isinstance(workflow_runner(DATA_CONVERTER), ContextFreeSandboxRunner)


def test_in_the_sdks_debug_mode_the_worker_gets_its_sandbox_which_lets_a_debugger_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEMPORAL_DEBUG", "1")
    assert type(workflow_runner(DATA_CONVERTER)) is SandboxedWorkflowRunner


def test_a_converter_that_uses_the_context_keeps_the_sdk_runner() -> None:
    keyed = dataclasses.replace(DATA_CONVERTER, payload_codec=KeyedCodec())
    assert not ignores_serialization_context(keyed)
    runner = workflow_runner(keyed)
    assert type(runner) is SandboxedWorkflowRunner


async def test_payloads_travel_and_the_sandbox_still_refuses(dev_env: WorkflowEnvironment) -> None:
    task_queue = f"runner-{uuid.uuid4()}"
    with ThreadPoolExecutor(2) as executor:
        async with Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=[SandboxProbeWorkflow],
            activities=[double],
            activity_executor=executor,
            workflow_runner=workflow_runner(dev_env.client.data_converter),
        ):
            result = await dev_env.client.execute_workflow(
                SandboxProbeWorkflow.run,
                Amount(value=Decimal("10.05"), currency="EUR"),
                id=f"runner-{uuid.uuid4()}",
                task_queue=task_queue,
            )
    assert result.amount == Amount(value=Decimal("40.20"), currency="EUR")
    assert result.clock_refused
