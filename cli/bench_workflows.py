"""The baselines for ``networkcore bench``: bare workflows doing nothing, so the comparison shows what our own
work costs on top of Temporal's. Two with the same number of activities as a session (remote, local), and one
with a session's billable actions, in the same order, the SDK's own cost of a session (``BareSessionWorkflow``)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from domain.sessions.lifecycle import SessionStage
    from workflows.search_attributes import SESSION_STAGE

STEP_TIMEOUT = timedelta(seconds=10)
# Longer than any bench run: the reports end the waits, never the deadline; only the timer is billed.
REPORT_DEADLINE = timedelta(minutes=10)
# The CPO's reports the session waits for: confirmed (started, then charging), then its CDR.
REPORTS = 3


@activity.defn
async def bare_step(n: int) -> int:
    return n + 1


@workflow.defn
class BareLocalWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        total = 0
        for _ in range(steps):
            total = await workflow.execute_local_activity(bare_step, total, start_to_close_timeout=STEP_TIMEOUT)
        return total


@workflow.defn
class BareRemoteWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        total = 0
        for _ in range(steps):
            total = await workflow.execute_activity(bare_step, total, start_to_close_timeout=STEP_TIMEOUT)
        return total


@workflow.defn
class BareSessionWorkflow:
    """A session's billable actions with nothing in them: the start, a workflow task of local activities
    (``steps`` - 1: authorise, start), a stage upsert and a wait with a deadline (a timer) for each report but
    the first, the ``REPORTS`` signals, and a last local activity (settle)."""

    def __init__(self) -> None:
        self._reports = 0

    @workflow.signal
    def reported(self) -> None:
        self._reports += 1

    def _has(self, reports: int) -> bool:
        return self._reports >= reports

    @workflow.run
    async def run(self, steps: int) -> int:
        total = 0
        for _ in range(steps - 1):
            total = await workflow.execute_local_activity(bare_step, total, start_to_close_timeout=STEP_TIMEOUT)
        for stage, reports in ((SessionStage.CHARGING, REPORTS - 1), (SessionStage.AWAITING_CDR, REPORTS)):
            workflow.upsert_search_attributes([SESSION_STAGE.value_set(stage.value)])
            await workflow.wait_condition(partial(self._has, reports), timeout=REPORT_DEADLINE)
        workflow.upsert_search_attributes([SESSION_STAGE.value_set(SessionStage.SETTLED.value)])
        return await workflow.execute_local_activity(bare_step, total, start_to_close_timeout=STEP_TIMEOUT)
