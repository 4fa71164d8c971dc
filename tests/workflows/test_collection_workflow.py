"""DailyCollectionWorkflow on the real Temporal dev server: it runs the collection activity for the day it is
given (or its own day), the result travels through the pydantic converter, and a second run of the same day
builds no second file."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.collections import CollectionActivities
from messages.collections import CollectionRun, CollectionRunResult
from tests.integration.test_bank_statements import invoice
from tests.integration.test_direct_debits import collection, collector, dd_partner, due_date
from workflows.collections import DailyCollectionWorkflow


async def test_the_daily_run_presents_what_is_due_once(
    dev_env: WorkflowEnvironment, writes: sessionmaker[Session], tmp_path: Path
) -> None:
    partner_id, _ = dd_partner(writes)
    number, _ = invoice(writes, partner_id, 4200)
    day = due_date(writes, number) - timedelta(days=1)
    task_queue = f"collections-{uuid.uuid4()}"
    activities = CollectionActivities(collector(writes, tmp_path))
    with ThreadPoolExecutor(2) as executor:
        async with Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=[DailyCollectionWorkflow],
            activities=[activities.run_collections],
            activity_executor=executor,
        ):
            results: list[CollectionRunResult] = [
                await dev_env.client.execute_workflow(
                    DailyCollectionWorkflow.run,
                    CollectionRun(run_date=day),
                    id=f"collections-{uuid.uuid4()}",
                    task_queue=task_queue,
                )
                for _ in range(2)
            ]
    first, second = results
    assert first.run_date == day
    assert len(first.files) == 1
    assert second.files == []
    found = collection(writes, number)
    assert found is not None
    assert found.state == "SUBMITTED"
    assert (tmp_path / "out" / f"{first.files[0]}.xml").exists()
