"""The baseline for ``networkcore bench``: bare workflows with the same number of activities as a session,
doing nothing, so the comparison shows what our own work costs on top of Temporal's."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def bare_step(n: int) -> int:
    return n + 1


@workflow.defn
class BareLocalWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        total = 0
        for _ in range(steps):
            total = await workflow.execute_local_activity(
                bare_step, total, start_to_close_timeout=timedelta(seconds=10)
            )
        return total


@workflow.defn
class BareRemoteWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        total = 0
        for _ in range(steps):
            total = await workflow.execute_activity(bare_step, total, start_to_close_timeout=timedelta(seconds=10))
        return total
