"""A payout workflow publishes its ErrorType right after a local activity. A query answered while that activity
ran makes core complete the workflow task with the activity's marker alone and put what followed (for runs
that ask ``workflow.patched`` there, the patch marker) in the next task; replaying the first task, core has not
yet announced that marker, so ``patched`` answers False and the replay fails. Forced here on the real dev
server: the bank's answer arrives while no workflow worker polls, a query waits on the workflow task it
schedules, then a worker takes both. Runs started now carry their patches in their input and replay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.actions import LOCAL_ACTIVITY_MARKER, PATCH_MARKER
from cli.replay import replay_history
from messages.payouts import (
    BatchRef,
    BatchStatus,
    PayoutBatchState,
    PayoutInput,
    PayoutPlan,
    PayoutPlanRequest,
    ReleaseNow,
    ReleaseOutcome,
    ReleaseRequest,
)
from workflows.payouts import PayoutWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Bank:
    """Stand-ins for the payout activities: the first batch is rejected once the test lets its check answer."""

    def __init__(self) -> None:
        self.checking = asyncio.Event()
        self.answer = asyncio.Event()

    def remote(self) -> list[Callable[..., Any]]:
        @activity.defn(name="release_payout")
        async def release_payout(request: ReleaseRequest) -> ReleaseOutcome:
            return ReleaseOutcome(
                message_id=f"m-{request.release_key}",
                amount=Decimal(1),
                netted=Decimal(0),
                rolled_over=Decimal(0),
                note="made",
            )

        @activity.defn(name="send_payout")
        async def send_payout(ref: BatchRef) -> BatchStatus:
            return BatchStatus(message_id=ref.message_id, state=PayoutBatchState.SENT, amount=Decimal(1))

        @activity.defn(name="check_payout")
        async def check_payout(ref: BatchRef) -> BatchStatus:
            if not ref.message_id.endswith(":0"):
                return BatchStatus(message_id=ref.message_id, state=PayoutBatchState.PAID, amount=Decimal(1))
            self.checking.set()
            await self.answer.wait()
            return BatchStatus(
                message_id=ref.message_id, state=PayoutBatchState.REJECTED, reason="AC04", amount=Decimal(1)
            )

        return [release_payout, send_payout, check_payout]


@activity.defn(name="plan_payout_release")
async def plan_payout_release(request: PayoutPlanRequest) -> PayoutPlan:
    return PayoutPlan(frequency="DAILY", release_at=request.after + timedelta(days=1))  # at once: the race's side


def workflow_worker(env: WorkflowEnvironment, task_queue: str) -> Worker:
    return Worker(
        env.client,
        task_queue=task_queue,
        workflows=[PayoutWorkflow],
        activities=[plan_payout_release],
        no_remote_activities=True,
        max_cached_workflows=0,
    )


def split_tasks(events: list[HistoryEvent]) -> Iterator[int]:
    """Where a workflow task completed with a local activity's marker alone and core forced the next task."""
    for before, marker, after in zip(events, events[1:], events[2:], strict=False):
        if (
            before.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            and marker.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
            and after.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
        ):
            yield marker.event_id


async def rejected_then_paid_with_a_query_on_the_bank_answer(env: WorkflowEnvironment) -> list[HistoryEvent]:
    bank, task_queue = Bank(), f"payouts-{uuid.uuid4()}"
    payee = f"dp:dp-race-{uuid.uuid4().hex[:8]}"
    start = PayoutInput(payee=payee, currency="EUR", poll_seconds=1, patched_from_start=True)
    async with Worker(env.client, task_queue=task_queue, activities=bank.remote()):
        async with workflow_worker(env, task_queue):
            handle: WorkflowHandle[PayoutWorkflow, None] = await env.client.start_workflow(
                PayoutWorkflow.run, start, id=f"payout:{payee}:EUR", task_queue=task_queue
            )
            await handle.signal(PayoutWorkflow.release_now, ReleaseNow(requested_by="test"))
            await asyncio.wait_for(bank.checking.wait(), timeout=20)
        bank.answer.set()  # the rejection schedules a workflow task no worker polls for ...
        asked = asyncio.create_task(handle.query(PayoutWorkflow.view))
        await asyncio.sleep(1)  # ... and the query waits on it
        async with workflow_worker(env, task_queue):
            assert (await asyncio.wait_for(asked, timeout=20)).releases == 1
            await handle.signal(PayoutWorkflow.release_now, ReleaseNow(requested_by="test"))
            for _ in range(200):
                view = await handle.query(PayoutWorkflow.view)
                if view.releases == 2 and view.open_batch is None and view.next_release_at is not None:
                    break
                await asyncio.sleep(0.1)
            assert view.last_batch is not None
            assert view.last_batch.state == PayoutBatchState.PAID
            history = await handle.fetch_history()
    await handle.terminate("test over")
    report = await replay_history(history)
    assert report.failure is None, report.describe(with_history=True)
    return list(history.events)


async def test_a_run_that_published_its_error_type_after_a_split_task_replays(dev_env: WorkflowEnvironment) -> None:
    # The race needs the query in before the worker polls again; a slow machine may miss it: try again.
    for _ in range(3):
        events = await rejected_then_paid_with_a_query_on_the_bank_answer(dev_env)
        if list(split_tasks(events)):
            break
    assert list(split_tasks(events)), "the query did not split a workflow task: the race was not forced"
    patches = [e for e in events if e.marker_recorded_event_attributes.marker_name == PATCH_MARKER]
    assert patches == []
