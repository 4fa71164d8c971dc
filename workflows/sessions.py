"""ChargingSessionWorkflow: one charging session, durable from authorisation to the ledger (stages 1-8).

Billable actions are counted (``make bench``): the happy path costs one start, one workflow task of
local activities per burst of work, three CPO signals, one timer per wait with a deadline, and one
search-attribute upsert per stage the session rests in, at most 12 in all. Stages are therefore
published only when the workflow is about to wait, never for a stage it passes straight through.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.errors import SETTLEMENT_REFUSALS
    from activities.sessions import SessionActivities, refusal_reason
    from activities.settlement import SettlementActivities
    from domain.sessions.lifecycle import CpoSessionStatus, SessionStage, cpo_status_advances, is_final
    from messages.ocpi import CommandResultType, CommandType
    from messages.sessions import (
        PRICE_DISCREPANCY,
        AuthoriseSessionInput,
        CdrArrived,
        ChargingSessionInput,
        ChargingSessionResult,
        ClearingInput,
        ClearingOutcome,
        CommandOutcome,
        CommandResultReported,
        CpoSessionReported,
        FxOutcome,
        SessionAuthorised,
        SessionSettled,
        SessionView,
        SettlementInput,
        SettlementOutcome,
        SettlementRetry,
        StageOutcome,
        StartCommandInput,
        StopCommandInput,
        StopRequest,
        discrepancy_reason,
    )
    from workflows import search_attributes as sa
    from workflows.failures import ActivityFailure, application_error
    from workflows.parking import ParkedForRetry
    from workflows.patches import patched
    from workflows.policies import COMMAND_RETRY, COMMAND_TIMEOUT, STOP_DEADLINE, database_step

STOP_NOT_POSSIBLE = "SessionNotStoppable"
STOP_REFUSED = "StopRefused"
# Sessions started before ErrorType existed replay without it (and keep the old clearing-failure reason).
ERROR_TYPE_PATCH = "session-error-type"
CDR_OVERDUE = "CdrOverdue"
UNTYPED_CLEARING_FAILURE = "ClearingFailed"
# How the reasons of the two stops ops can retry begin: ``<what> (<ErrorType>): <message>``.
SETTLEMENT_STOPPED = "settlement stopped"
CLEARING_FAILED = "clearing failed"


@workflow.defn
class ChargingSessionWorkflow:
    @workflow.init
    def __init__(self, request: ChargingSessionInput) -> None:
        self._request = request
        self._stage = SessionStage.STARTING
        self._reason: str | None = None
        self._needs_attention = False
        self._error_type: str | None = None
        # What the search attributes say now: STARTING and no attention are set at start, for free.
        self._published: tuple[SessionStage, bool, str | None] = (SessionStage.STARTING, False, None)
        self._authorised: SessionAuthorised | None = None
        self._cpo: CpoSessionReported | None = None
        self._start_failure: CommandResultReported | None = None
        self._cdr: CdrArrived | None = None
        self._stop_request: StopRequest | None = None
        self._stop_outcome: CommandOutcome | None = None
        self._parked = ParkedForRetry(SETTLEMENT_REFUSALS, patched_from_start=request.patched_from_start)

    @workflow.run
    async def run(self, request: ChargingSessionInput) -> ChargingSessionResult:
        try:
            self._authorised = await database_step(
                SessionActivities.authorise_session,
                AuthoriseSessionInput(
                    session_id=request.session_id,
                    demand_partner_id=request.demand_partner_id,
                    evse_id=request.evse_id,
                    at=request.requested_at,
                    max_amount=request.max_amount,
                ),
            )
        except ActivityFailure as failure:
            refused = self._refusal(failure)
            if refused is None or refusal_reason(refused) is None:
                raise
            return await self._finish(SessionStage.REJECTED, self._cause_message(failure))
        # Stage 1's credit hold was placed with the authorisation; every unbilled exit below voids it. A
        # session the CPO started is already under way: its Session brought the workflow.
        if not request.started_by_cpo and not await self._start(self._authorised):
            return await self._finish(SessionStage.START_FAILED, self._reason)
        await self._charge(self._authorised)
        if self._cdr is None and self._cpo is not None and self._cpo.status == CpoSessionStatus.INVALID:
            return await self._finish(SessionStage.INVALID, "the CPO declared the session invalid")
        cdr = await self._await_cdr()
        if not request.clearing:
            return await self._finish(SessionStage.CDR_RECEIVED, None, cdr=cdr)
        return await self._clear(cdr)

    # --- stage 5: clearing ------------------------------------------------------------------------

    async def _clear(self, cdr: CdrArrived) -> ChargingSessionResult:
        """Rate at the official price (in the same workflow task as the final bookkeeping, so it costs
        no extra action) and compare with the CPO's claim; a discrepancy is flagged, never blocking."""
        if self._request.settlement and self._request.settles_in_one_step:
            try:
                settled = await database_step(
                    SettlementActivities.settle_session,
                    ClearingInput(session_id=self._request.session_id, cdr_key=cdr.cdr_key),
                )
            except ActivityFailure:
                pass  # refused, and nothing kept: step by step below, which says and parks what refused
            else:
                return await self._settled_in_one_step(cdr, settled)
        try:
            clearing = await database_step(
                SessionActivities.clear_session,
                ClearingInput(session_id=self._request.session_id, cdr_key=cdr.cdr_key),
            )
        except ActivityFailure as failure:
            self._needs_attention = True
            refused = self._refusal(failure)
            error_type = (refused.type if refused is not None else None) or UNTYPED_CLEARING_FAILURE
            named = f" ({error_type})" if self._flag_error(error_type) else ""
            return await self._finish(
                SessionStage.CDR_RECEIVED, f"{CLEARING_FAILED}{named}: {self._cause_message(failure)}", cdr=cdr
            )
        reason = self._note_discrepancy(clearing)
        if not self._request.settlement:
            return await self._finish(SessionStage.CLEARED, reason, cdr=cdr, clearing=clearing)
        self._stage = SessionStage.CLEARED
        self._reason = reason
        return await self._settle(cdr, clearing)

    def _note_discrepancy(self, clearing: ClearingOutcome) -> str | None:
        reason = discrepancy_reason(clearing)
        if reason is not None:
            self._needs_attention = True
            self._flag_error(PRICE_DISCREPANCY)
        return reason

    async def _settled_in_one_step(self, cdr: CdrArrived, settled: SessionSettled) -> ChargingSessionResult:
        """The activity recorded SETTLED as ``_finish`` would have: needing attention, with its ErrorType, only
        for a price discrepancy (as ``_settle`` leaves it)."""
        self._needs_attention, self._error_type = False, None
        reason = self._note_discrepancy(settled.clearing)
        return await self._finish(
            SessionStage.SETTLED,
            reason,
            cdr=cdr,
            clearing=settled.clearing,
            fx=settled.fx,
            settlement=settled.settlement,
            recorded=True,
        )

    # --- stages 6 to 8: FX, then invoices and the ledger in one transaction ------------------------

    async def _settle(self, cdr: CdrArrived, clearing: ClearingOutcome) -> ChargingSessionResult:
        """Convert, then invoice and book. Both run in the clearing's workflow task (no extra action). A business
        refusal (a missing or stale rate, broken contract terms) parks the session in CLEARED with
        needs-attention until ops fix the cause and send ``retry_settlement``; nothing is booked twice
        because both steps are idempotent per session."""
        settlement_input = SettlementInput(session_id=self._request.session_id)
        discrepancy, discrepancy_error = self._reason, self._error_type

        async def convert_and_book() -> tuple[FxOutcome, SettlementOutcome]:
            fx = await database_step(SettlementActivities.convert_to_billing_currency, settlement_input)
            return fx, await database_step(SettlementActivities.post_settlement, settlement_input)

        fx, booked = await self._parked.run(convert_and_book, partial(self._await_settlement_fix, cdr))
        self._needs_attention = discrepancy is not None
        self._error_type = discrepancy_error
        return await self._finish(
            SessionStage.SETTLED, discrepancy, cdr=cdr, clearing=clearing, fx=fx, settlement=booked
        )

    async def _await_settlement_fix(
        self, cdr: CdrArrived, error_type: str, message: str, retried: Callable[[], bool]
    ) -> None:
        self._flag_error(error_type)
        reason = f"{SETTLEMENT_STOPPED} ({error_type}): {message}"
        self._needs_attention = True
        self._reason = reason
        await self._record(
            StageOutcome(
                session_id=self._request.session_id,
                stage=SessionStage.CLEARED,
                reason=reason,
                cdr_key=cdr.cdr_key,
                needs_attention=True,
                error_type=error_type,
            )
        )
        await self._wait_for(retried)

    # --- stage 2: start ---------------------------------------------------------------------------

    async def _start(self, authorised: SessionAuthorised) -> bool:
        timeout = timedelta(seconds=self._request.timeouts.start_confirmation_s)
        try:
            outcome = await workflow.execute_local_activity_method(
                SessionActivities.send_start_command,
                StartCommandInput(
                    session_id=self._request.session_id,
                    cpo_id=authorised.cpo_id,
                    location_id=authorised.location_id,
                    evse_uid=authorised.evse_uid,
                    connector_id=authorised.connector_id,
                    driver_reference=self._request.driver_reference,
                    demand_partner_id=self._request.demand_partner_id,
                ),
                start_to_close_timeout=COMMAND_TIMEOUT,
                # Past the confirmation deadline a start is pointless: give up with the deadline.
                schedule_to_close_timeout=timeout,
                retry_policy=COMMAND_RETRY,
            )
        except ActivityFailure as failure:
            self._reason = f"START_SESSION could not be delivered: {self._cause_message(failure)}"
            return False
        if not outcome.accepted:
            self._reason = f"the CPO refused START_SESSION: {outcome.result}" + (
                f" ({outcome.message})" if outcome.message else ""
            )
            return False
        confirmed = await self._wait_for(
            lambda: self._cpo is not None or self._cdr is not None or self._start_failure is not None, timeout
        )
        if self._cpo is not None or self._cdr is not None:
            return True
        if self._start_failure is not None:
            reported = self._start_failure
            self._reason = f"the charge point reported {reported.result.value}" + (
                f" ({reported.message})" if reported.message else ""
            )
        else:
            assert not confirmed
            self._reason = f"the CPO did not confirm the start within {timeout.total_seconds():.0f} s"
        return False

    # --- stage 3: charging ------------------------------------------------------------------------

    def _ended(self) -> bool:
        return self._cdr is not None or (
            self._cpo is not None and self._cpo.status in (CpoSessionStatus.COMPLETED, CpoSessionStatus.INVALID)
        )

    def _stop_pending(self) -> bool:
        return self._stop_request is not None and self._stop_outcome is None

    async def _charge(self, authorised: SessionAuthorised) -> None:
        self._stage = SessionStage.CHARGING
        deadline = self._request.requested_at + timedelta(seconds=self._request.timeouts.max_duration_s)
        while not self._ended():
            if self._stop_pending():
                self._stop_outcome = await self._send_stop(authorised)
                continue
            remaining = deadline - workflow.now()
            if remaining > timedelta(0) and await self._wait_for(
                lambda: self._ended() or self._stop_pending(), remaining
            ):
                continue
            # The maximum duration guard: stop it ourselves, then wait for the CDR as usual.
            self._reason = "maximum session duration reached; STOP_SESSION sent"
            await self._send_stop(authorised)
            return

    async def _send_stop(self, authorised: SessionAuthorised) -> CommandOutcome:
        assert self._cpo is not None
        try:
            return await workflow.execute_local_activity_method(
                SessionActivities.send_stop_command,
                StopCommandInput(
                    session_id=self._request.session_id,
                    cpo_id=authorised.cpo_id,
                    cpo_session_id=self._cpo.cpo_session_id,
                ),
                start_to_close_timeout=COMMAND_TIMEOUT,
                schedule_to_close_timeout=STOP_DEADLINE,
                retry_policy=COMMAND_RETRY,
            )
        except ActivityFailure as failure:
            return CommandOutcome(accepted=False, result="NOT_DELIVERED", message=self._cause_message(failure))

    # --- stage 4: CDR receipt ---------------------------------------------------------------------

    async def _await_cdr(self) -> CdrArrived:
        self._stage = SessionStage.AWAITING_CDR
        overdue_after = timedelta(seconds=self._request.timeouts.cdr_wait_s)
        if not await self._wait_for(lambda: self._cdr is not None, overdue_after):
            # Overdue: tell ops, and keep waiting. A CDR is never given up on.
            self._needs_attention = True
            self._flag_error(CDR_OVERDUE)
            self._reason = f"CDR overdue: none within {overdue_after.total_seconds():.0f} s of the session's end"
            await self._record(
                StageOutcome(
                    session_id=self._request.session_id,
                    stage=SessionStage.AWAITING_CDR,
                    reason=self._reason,
                    needs_attention=True,
                    error_type=self._error_type,
                )
            )
            await self._wait_for(lambda: self._cdr is not None)
            self._needs_attention = False
            self._error_type = None
        assert self._cdr is not None
        return self._cdr

    # --- messages ---------------------------------------------------------------------------------

    @workflow.signal
    def cpo_session_reported(self, report: CpoSessionReported) -> None:
        # Signals arrive at least once and possibly out of order: keep only news.
        if self._cpo is None or cpo_status_advances(self._cpo.status, report.status):
            self._cpo = report

    @workflow.signal
    def command_result_reported(self, report: CommandResultReported) -> None:
        if (
            report.command == CommandType.START_SESSION
            and report.result != CommandResultType.ACCEPTED
            and self._start_failure is None
        ):
            self._start_failure = report

    @workflow.signal
    def cdr_arrived(self, cdr: CdrArrived) -> None:
        if self._cdr is None:
            self._cdr = cdr
        elif self._cdr.cdr_key != cdr.cdr_key:
            workflow.logger.warning("second CDR %s ignored; %s is settling", cdr.cdr_id, self._cdr.cdr_id)

    @workflow.signal
    def retry_settlement(self, request: SettlementRetry) -> None:
        workflow.logger.info("settlement retry requested by %s", request.requested_by)
        self._parked.retry_requested()

    @workflow.update
    async def stop(self, request: StopRequest) -> SessionView:
        if self._stop_request is None:
            self._stop_request = request
        await workflow.wait_condition(
            lambda: self._stop_outcome is not None or self._stage == SessionStage.AWAITING_CDR or is_final(self._stage)
        )
        if self._stop_outcome is not None and not self._stop_outcome.accepted:
            raise ApplicationError(
                f"the CPO did not accept STOP_SESSION: {self._stop_outcome.result}", type=STOP_REFUSED
            )
        return self.view()

    @stop.validator
    def _stop_allowed(self, request: StopRequest) -> None:
        if self._stage == SessionStage.AWAITING_CDR or is_final(self._stage):
            raise ApplicationError(
                f"the session is {self._stage.value}; there is nothing to stop", type=STOP_NOT_POSSIBLE
            )

    @workflow.query
    def view(self) -> SessionView:
        return SessionView(
            session_id=self._request.session_id,
            stage=self._stage,
            needs_attention=self._needs_attention,
            reason=self._reason,
            cpo_session_id=None if self._cpo is None else self._cpo.cpo_session_id,
            cpo_status=None if self._cpo is None else self._cpo.status,
            kwh="0" if self._cpo is None else self._cpo.kwh,
            stop_requested=self._stop_request is not None,
            cdr_id=None if self._cdr is None else self._cdr.cdr_id,
        )

    # --- plumbing ---------------------------------------------------------------------------------

    async def _wait_for(self, condition: Callable[[], bool], within: timedelta | None = None) -> bool:
        """Wait until ``condition`` holds (True) or ``within`` passes (False); publish the stage first."""
        if condition():
            return True
        self._publish()
        try:
            await workflow.wait_condition(condition, timeout=within)
        except TimeoutError:
            return False
        return True

    def _refusal(self, failure: BaseException) -> ApplicationError | None:
        return application_error(failure, patched_from_start=self._request.patched_from_start)

    def _cause_message(self, failure: BaseException) -> str:
        cause = self._refusal(failure)
        return cause.message if cause is not None else str(failure)

    def _flag_error(self, error_type: str) -> bool:
        """Say why the session stopped or needs attention, for the UI's ErrorType filter. False (and
        nothing said) while replaying a session recorded before ErrorType existed."""
        if not patched(ERROR_TYPE_PATCH, from_start=self._request.patched_from_start):
            return False
        self._error_type = error_type
        return True

    def _publish(self) -> None:
        """One upsert per resting stage: the Temporal UI filters on these. ErrorType rides in the same
        upsert, and only when it changed: the happy path never sets it."""
        state = (self._stage, self._needs_attention, self._error_type)
        if state != self._published:
            updates: list[SearchAttributeUpdate[Any]] = [
                sa.SESSION_STAGE.value_set(self._stage.value),
                sa.NEEDS_ATTENTION.value_set(self._needs_attention),
            ]
            if self._error_type != self._published[2]:
                updates.append(sa.error_type_update(self._error_type))
            workflow.upsert_search_attributes(updates)
            self._published = state
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        lines = [f"**Stage:** {self._stage.value}"]
        if self._cpo is not None:
            lines.append(f"**CPO session:** {self._cpo.cpo_session_id} ({self._cpo.status.value}, {self._cpo.kwh} kWh)")
        if self._cdr is not None:
            lines.append(f"**CDR:** {self._cdr.cdr_id}")
        if self._reason:
            lines.append(f"**Note:** {self._reason}")
        return "\n\n".join(lines)

    async def _record(self, outcome: StageOutcome) -> None:
        await database_step(SessionActivities.record_stage, outcome)

    async def _finish(
        self,
        stage: SessionStage,
        reason: str | None,
        *,
        cdr: CdrArrived | None = None,
        clearing: ClearingOutcome | None = None,
        fx: FxOutcome | None = None,
        settlement: SettlementOutcome | None = None,
        recorded: bool = False,
    ) -> ChargingSessionResult:
        """``recorded``: the read model says it already (the activity that did the work wrote it)."""
        self._stage = stage
        self._reason = reason
        if not recorded:
            await self._record(
                StageOutcome(
                    session_id=self._request.session_id,
                    stage=stage,
                    reason=reason,
                    cdr_key=None if cdr is None else cdr.cdr_key,
                    needs_attention=self._needs_attention,
                    error_type=self._error_type,
                )
            )
        self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ChargingSessionResult(
            session_id=self._request.session_id,
            stage=stage,
            reason=reason,
            cdr_id=None if cdr is None else cdr.cdr_id,
            clearing=clearing,
            fx=fx,
            settlement=settlement,
        )
