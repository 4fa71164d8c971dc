"""Stage 9: the long-lived PayoutWorkflow of one payee in one currency, and the sweep that starts them.

Settled sessions queue their payables in the settlement's own transaction (no signal per session: a
session's billable actions are spent on stages 1-8). The payee's workflow wakes at each release of its
contract's schedule (or when ops send ``release_now``), turns what is due into one batch, sends it through
the rail and books the rail's answer, then sleeps until the next release. It continues as new before its
history grows large, carrying a batch still in flight.

``PayoutSweepWorkflow`` (the ``networkcore-payout-sweep`` Schedule) starts the workflow of every payee
and currency with a queued payable; one already running is left alone.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.payouts import PAYOUT_REFUSALS, PayoutActivities, PayoutSweepActivities
    from domain.payouts.batches import Payee, PayeeKind
    from messages.payouts import (
        BatchRef,
        BatchStatus,
        PayoutBatchState,
        PayoutInput,
        PayoutPlanRequest,
        PayoutSweep,
        PayoutSweepResult,
        PayoutView,
        ReleaseNow,
        ReleaseRequest,
    )
    from workflows import search_attributes as sa
    from workflows.failures import ActivityFailure, application_error
    from workflows.patches import patched
    from workflows.policies import PAYOUT_RETRY, PAYOUT_STEP_TIMEOUT, PAYOUT_SWEEP_RETRY, PAYOUT_SWEEP_TIMEOUT

PAYEE_ATTRIBUTES_PATCH = "payout-payee-search-attributes"
# Payout workflows recorded before ErrorType existed replay without it.
ERROR_TYPE_PATCH = "payout-error-type"
PAYOUT_REJECTED = "PayoutRejected"  # ErrorType while a batch the bank rejected is not yet paid again
SWEEP_SCHEDULE_ID = "networkcore-payout-sweep"
SWEEP_WORKFLOW_ID = "payout-sweep"
# Continue as new well before Temporal's limits; a release cycle is about ten events.
HISTORY_EVENTS_LIMIT = 2_000


@workflow.defn
class PayoutWorkflow:
    @workflow.init
    def __init__(self, request: PayoutInput) -> None:
        self._request = request
        self._open_batch = request.open_batch
        self._releases = request.releases
        # Requests are counted, not flagged: one that arrives before the first task or during a release is
        # still served by the next one.
        self._release_requests = 1 if request.release_requested else 0
        self._requests_served = 0
        self._frequency: str | None = None
        self._next_release: datetime | None = None
        self._last_batch: BatchStatus | None = None
        self._last_note: str | None = None
        self._needs_attention = False
        self._reason: str | None = None
        self._refusal: str | None = None  # the type of the refusal that flagged the workflow
        self._rejected: BatchStatus | None = None  # the last batch the bank rejected, until one is paid
        self._published_attention = False  # NeedsAttention starts unset, i.e. false

    @workflow.run
    async def run(self, request: PayoutInput) -> None:
        poll = timedelta(seconds=request.poll_seconds)
        # Payout workflows started before this change have no payee attributes; they keep replaying.
        if patched(PAYEE_ATTRIBUTES_PATCH, from_start=request.patched_from_start):
            self._publish_payee()
        while True:
            if self._open_batch is None:
                await self._wait_for_release(poll)
                await self._release()
            if self._open_batch is not None:
                await self._see_batch_through(self._open_batch, poll)
            info = workflow.info()
            if info.is_continue_as_new_suggested() or info.get_current_history_length() > HISTORY_EVENTS_LIMIT:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    PayoutInput(
                        payee=request.payee,
                        currency=request.currency,
                        open_batch=self._open_batch,
                        releases=self._releases,
                        poll_seconds=request.poll_seconds,
                        release_requested=self._release_requests > self._requests_served,
                        patched_from_start=True,  # a new run: it has every patch from its start
                    )
                )

    async def _wait_for_release(self, poll: timedelta) -> None:
        """Until the schedule's next release (at least ``poll`` after the last one), or ``release_now``."""
        now = workflow.now()
        try:
            plan = await workflow.execute_local_activity_method(
                PayoutActivities.plan_payout_release,
                PayoutPlanRequest(payee=self._request.payee, currency=self._request.currency, after=now),
                start_to_close_timeout=PAYOUT_STEP_TIMEOUT,
                retry_policy=PAYOUT_RETRY,
            )
            self._frequency = plan.frequency
            self._next_release = max(plan.release_at, now + poll)
        except ActivityFailure as failure:
            self._flag(failure)
            self._next_release = now + poll
        self._publish()
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._release_requests > self._requests_served, timeout=self._next_release - now
            )
        self._requests_served = self._release_requests

    async def _release(self) -> None:
        # The key is the batch's idempotency key: a retried activity finds the batch it made. A refusal
        # commits nothing, so counting the release only once it has an answer loses nothing.
        release_key = f"{workflow.info().workflow_id}:{workflow.info().run_id}:{self._releases}"
        try:
            outcome = await workflow.execute_activity_method(
                PayoutActivities.release_payout,
                ReleaseRequest(payee=self._request.payee, currency=self._request.currency, release_key=release_key),
                start_to_close_timeout=PAYOUT_STEP_TIMEOUT,
                retry_policy=PAYOUT_RETRY,
            )
        except ActivityFailure as failure:
            self._flag(failure)
            self._releases += 1
            return
        self._releases += 1
        self._clear_flag()
        self._open_batch = outcome.message_id
        self._last_note = outcome.note

    async def _see_batch_through(self, message_id: str, poll: timedelta) -> None:
        ref = BatchRef(message_id=message_id)
        status = await workflow.execute_activity_method(
            PayoutActivities.send_payout, ref, start_to_close_timeout=PAYOUT_STEP_TIMEOUT, retry_policy=PAYOUT_RETRY
        )
        while status.state in (PayoutBatchState.INSTRUCTED, PayoutBatchState.SENT):
            self._last_batch = status
            status = await workflow.execute_activity_method(
                PayoutActivities.check_payout,
                ref,
                start_to_close_timeout=PAYOUT_STEP_TIMEOUT,
                retry_policy=PAYOUT_RETRY,
            )
            if status.state in (PayoutBatchState.INSTRUCTED, PayoutBatchState.SENT):
                self._last_batch = status
                self._describe()
                await workflow.sleep(poll)
        self._last_batch = status
        self._open_batch = None
        if status.state == PayoutBatchState.REJECTED:
            self._rejected = status
            self._last_note = f"rejected by the bank ({status.reason}); the amount is payable again"
        elif status.state == PayoutBatchState.PAID:
            self._rejected = None

    def _flag(self, failure: BaseException) -> None:
        refused = application_error(failure, patched_from_start=self._request.patched_from_start)
        if refused is None or refused.type not in PAYOUT_REFUSALS:
            raise failure
        self._needs_attention = True
        self._reason = f"{refused.type}: {refused.message}"
        self._refusal = refused.type

    def _clear_flag(self) -> None:
        self._needs_attention = False
        self._reason = None
        self._refusal = None

    def _error_type(self) -> str | None:
        return self._refusal or (PAYOUT_REJECTED if self._rejected is not None else None)

    def _publish_payee(self) -> None:
        """Find a payee's payout workflow in the UI the way its sessions are found: ``Cpo="..."`` or
        ``DemandPartner="..."`` (continue-as-new carries the attribute over, so it is set once)."""
        payee = Payee.parse(self._request.payee)
        key = sa.CPO if payee.kind == PayeeKind.CPO else sa.DEMAND_PARTNER
        if workflow.info().typed_search_attributes.get(key) != payee.id:
            workflow.upsert_search_attributes([key.value_set(payee.id)])

    def _publish(self) -> None:
        """Before each wait for a release: NeedsAttention and ErrorType for the UI's filters, in one upsert
        and only when they change (a payee paid without trouble costs none), and the summary."""
        updates: list[SearchAttributeUpdate[Any]] = []
        if self._needs_attention != self._published_attention:
            updates.append(sa.NEEDS_ATTENTION.value_set(self._needs_attention))
        # Compared with what the workflow carries, so a run continued as new clears what it no longer has.
        error_type = self._error_type()
        if error_type != workflow.info().typed_search_attributes.get(sa.ERROR_TYPE) and patched(
            ERROR_TYPE_PATCH, from_start=self._request.patched_from_start
        ):
            updates.append(sa.error_type_update(error_type))
        if updates:
            workflow.upsert_search_attributes(updates)
            self._published_attention = self._needs_attention
        self._describe()

    def _describe(self) -> None:
        """The summary a person reads in the UI: who is paid in what, the batch in flight or the last one,
        the next release, and what went wrong."""
        lines = [
            f"**Payee:** {self._request.payee} ({self._request.currency}, {self._frequency or 'schedule unknown'})"
        ]
        if self._last_batch is not None:
            batch = self._last_batch
            amount = "" if batch.amount is None else f", {batch.amount} {self._request.currency}"
            label = "Open batch" if self._open_batch == batch.message_id else "Last batch"
            lines.append(f"**{label}:** {batch.message_id} {batch.state.value}{amount}")
        if self._next_release is not None and self._open_batch is None:
            lines.append(f"**Next release:** {self._next_release:%Y-%m-%d %H:%M} UTC")
        if self._rejected is not None:
            lines.append(
                f"**Rejected by the bank:** {self._rejected.message_id} ({self._rejected.reason}); "
                "payable again, paid at the next release"
            )
        if self._last_note:
            lines.append(f"**Note:** {self._last_note}")
        if self._reason:
            lines.append(f"**Needs attention:** {self._reason}")
        workflow.set_current_details("\n\n".join(lines))

    @workflow.signal
    def release_now(self, request: ReleaseNow) -> None:
        workflow.logger.info("payout release requested by %s", request.requested_by)
        self._release_requests += 1

    @workflow.query
    def view(self) -> PayoutView:
        return PayoutView(
            payee=self._request.payee,
            currency=self._request.currency,
            frequency=self._frequency,
            next_release_at=self._next_release,
            open_batch=self._open_batch,
            releases=self._releases,
            last_batch=self._last_batch,
            last_note=self._last_note,
            needs_attention=self._needs_attention,
            reason=self._reason,
        )


@workflow.defn
class PayoutSweepWorkflow:
    @workflow.run
    async def run(self, sweep: PayoutSweep) -> PayoutSweepResult:
        return await workflow.execute_activity_method(
            PayoutSweepActivities.start_payout_workflows,
            sweep,
            start_to_close_timeout=PAYOUT_SWEEP_TIMEOUT,
            retry_policy=PAYOUT_SWEEP_RETRY,
        )
