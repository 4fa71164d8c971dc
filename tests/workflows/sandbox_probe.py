"""A workflow for ``test_workflow_runner``: a pydantic model with a Decimal through a remote and a local
activity, and a clock read that the sandbox must refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError


class Amount(BaseModel):
    value: Decimal
    currency: str


class ProbeResult(BaseModel):
    amount: Amount
    clock_refused: bool


@activity.defn
def double(amount: Amount) -> Amount:
    return Amount(value=amount.value * 2, currency=amount.currency)


@workflow.defn
class SandboxProbeWorkflow:
    @workflow.run
    async def run(self, amount: Amount) -> ProbeResult:
        remote = await workflow.execute_activity(double, amount, start_to_close_timeout=timedelta(seconds=10))
        local = await workflow.execute_local_activity(double, remote, start_to_close_timeout=timedelta(seconds=10))
        try:
            datetime.now(UTC)
        except RestrictedWorkflowAccessError:
            return ProbeResult(amount=local, clock_refused=True)
        return ProbeResult(amount=local, clock_refused=False)
