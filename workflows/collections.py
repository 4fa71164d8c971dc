"""DailyCollectionWorkflow: started by the ``networkcore-daily-collections`` Schedule every morning, it
settles the direct debits whose collection date came and presents what falls due (pain.008 to the rail)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.collections import DIRECT_DEBIT_FILE_INVALID, CollectionActivities
    from messages.collections import CollectionRun, CollectionRunResult

SCHEDULE_ID = "networkcore-daily-collections"
# 06:00 UTC: the day's files reach the bank well before its D-1 cut-off for tomorrow's collections.
DAILY_CRON = "0 6 * * *"
COLLECTIONS_TIMEOUT = timedelta(minutes=10)
COLLECTIONS_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=[DIRECT_DEBIT_FILE_INVALID],
)


@workflow.defn
class DailyCollectionWorkflow:
    @workflow.run
    async def run(self, run: CollectionRun) -> CollectionRunResult:
        run_date = run.run_date or workflow.now().date()
        return await workflow.execute_activity_method(
            CollectionActivities.run_collections,
            CollectionRun(run_date=run_date),
            start_to_close_timeout=COLLECTIONS_TIMEOUT,
            retry_policy=COLLECTIONS_RETRY,
        )
