"""DailyReminderWorkflow: started by the ``networkcore-daily-reminders`` Schedule every morning, it issues
the payment reminders due that day (``activities.reminders``)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.reminders import ReminderActivities
    from messages.reminders import ReminderRun, ReminderRunResult
    from workflows.policies import STATEMENTS_HEARTBEAT, STATEMENTS_RETRY, STATEMENTS_TIMEOUT

REMINDER_SCHEDULE_ID = "networkcore-daily-reminders"
# 05:00 UTC: after the night's bank statements, before partners' office hours in Europe.
DAILY_CRON = "0 5 * * *"


@workflow.defn
class DailyReminderWorkflow:
    @workflow.run
    async def run(self, run: ReminderRun) -> ReminderRunResult:
        on = run.on or workflow.now().date()
        return await workflow.execute_activity_method(
            ReminderActivities.issue_due_reminders,
            ReminderRun(on=on),
            start_to_close_timeout=STATEMENTS_TIMEOUT,
            heartbeat_timeout=STATEMENTS_HEARTBEAT,
            retry_policy=STATEMENTS_RETRY,
        )
