"""MonthlyStatementWorkflow: started by the ``networkcore-monthly-statements`` Schedule on the 1st of each
month, it issues the draft statements of the months before (partners on the MONTHLY cadence)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.invoicing import StatementActivities
    from messages.invoicing import StatementRun, StatementRunResult
    from workflows.policies import STATEMENTS_HEARTBEAT, STATEMENTS_RETRY, STATEMENTS_TIMEOUT

SCHEDULE_ID = "networkcore-monthly-statements"
# 02:00 UTC on the 1st: late CDRs of the month before have had a night to arrive.
MONTHLY_CRON = "0 2 1 * *"


@workflow.defn
class MonthlyStatementWorkflow:
    @workflow.run
    async def run(self, run: StatementRun) -> StatementRunResult:
        now = workflow.now()
        period = run.before_period or f"{now.year:04d}-{now.month:02d}"
        return await workflow.execute_activity_method(
            StatementActivities.issue_due_statements,
            StatementRun(before_period=period, recipient=run.recipient),
            start_to_close_timeout=STATEMENTS_TIMEOUT,
            heartbeat_timeout=STATEMENTS_HEARTBEAT,
            retry_policy=STATEMENTS_RETRY,
        )
