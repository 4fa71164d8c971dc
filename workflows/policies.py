"""How long every workflow's activities may take and how they are retried, in one place.

The values are part of the workflows' behaviour (and of the local-activity markers in recorded histories):
change one only on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.errors import NON_RETRYABLE_TYPES
    from activities.payouts import PAYOUT_REFUSALS

Arg = TypeVar("Arg")
Result = TypeVar("Result")

# Database steps (sessions and corrections): retried until the database is back, however long that takes;
# nothing is dropped.
DATABASE_STEP_TIMEOUT = timedelta(seconds=10)
DATABASE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)

# OCPI commands to a CPO: one call may take this long; a stop is given up on after STOP_DEADLINE (a start
# after its confirmation deadline, an input of the session).
COMMAND_TIMEOUT = timedelta(seconds=15)
STOP_DEADLINE = timedelta(minutes=5)
COMMAND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=15),
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)

# Payouts: one transaction or one call to the rail per step.
PAYOUT_STEP_TIMEOUT = timedelta(seconds=10)
PAYOUT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=list(PAYOUT_REFUSALS),
)
PAYOUT_SWEEP_TIMEOUT = timedelta(minutes=5)
PAYOUT_SWEEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1))

# Monthly statements: one long activity that heartbeats as it issues them.
STATEMENTS_TIMEOUT = timedelta(minutes=30)
STATEMENTS_HEARTBEAT = timedelta(minutes=2)
STATEMENTS_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5))

# The e-invoice outbox: batches of files, heartbeating; a failed run is retried, and the next one comes anyway.
EINVOICE_DELIVERY_TIMEOUT = timedelta(minutes=10)
EINVOICE_DELIVERY_HEARTBEAT = timedelta(minutes=1)
EINVOICE_DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=1))


async def database_step(activity: Callable[[Any, Arg], Result], arg: Arg) -> Result:
    """Run one database step of a session or correction as a local activity, with the database's timeout
    and retry policy."""
    return await workflow.execute_local_activity_method(
        activity, arg, start_to_close_timeout=DATABASE_STEP_TIMEOUT, retry_policy=DATABASE_RETRY
    )


# The periodic ledger check: one read of the whole ledger; a run that cannot finish is tried again a few
# times, and the Schedule's next run comes anyway (the metric's timestamp ages, which is what to alert on).
LEDGER_CHECK_TIMEOUT = timedelta(minutes=30)
LEDGER_CHECK_RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_attempts=3)
