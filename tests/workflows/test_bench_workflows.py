"""The bench's bare session (``cli/bench_workflows.py``) on the real dev server: it costs a session's billable
actions, kind by kind, and waits for its reports as a session does (its deadline does not end it)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.actions import count_actions
from cli.bench import SESSION_ACTIVITIES
from cli.bench_workflows import REPORTS, BareSessionWorkflow, bare_step

# A settled session's actions (workflows/sessions.py; make bench prints them by kind): the start, a workflow
# task of local activities to authorise and start and one to settle, the CPO's three reports, a timer for
# each wait with a deadline and an upsert for each stage it rests in.
SESSION_SHAPE = Counter({"start": 1, "local activities": 2, "signal": 3, "timer": 2, "upsert": 3})


async def test_a_bare_session_waits_for_its_reports_and_costs_a_sessions_actions(dev_env: WorkflowEnvironment) -> None:
    task_queue = f"bare-{uuid.uuid4()}"
    with ThreadPoolExecutor(2) as executor:
        async with Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=[BareSessionWorkflow],
            activities=[bare_step],
            activity_executor=executor,
        ):
            handle = await dev_env.client.start_workflow(
                BareSessionWorkflow.run, SESSION_ACTIVITIES, id=task_queue, task_queue=task_queue
            )
            for _ in range(REPORTS - 1):
                await asyncio.sleep(0.5)  # the CPO reports while the session waits, as it does in the bench
                await handle.signal(BareSessionWorkflow.reported)
            await asyncio.sleep(1.0)
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            await handle.signal(BareSessionWorkflow.reported)
            assert await handle.result() == SESSION_ACTIVITIES
            assert count_actions(await handle.fetch_history()) == SESSION_SHAPE
