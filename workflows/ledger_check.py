"""LedgerCheckWorkflow: started by the ``networkcore-ledger-check`` Schedule every ``ledger_check_interval_s``,
it checks the books in the worker and records the result, which the API's ``/metrics`` shows
(``activities.ledger_check``)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ledger_check import LedgerCheckActivities
    from messages.ledger_check import LedgerCheck, LedgerCheckResult
    from workflows.policies import LEDGER_CHECK_RETRY, LEDGER_CHECK_TIMEOUT

LEDGER_CHECK_SCHEDULE_ID = "networkcore-ledger-check"


@workflow.defn
class LedgerCheckWorkflow:
    @workflow.run
    async def run(self, run: LedgerCheck) -> LedgerCheckResult:
        return await workflow.execute_activity_method(
            LedgerCheckActivities.check_books,
            run,
            start_to_close_timeout=LEDGER_CHECK_TIMEOUT,
            retry_policy=LEDGER_CHECK_RETRY,
        )
