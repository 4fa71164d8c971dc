"""SettlementCorrectionWorkflow: one correction of a settled session, linked to it by id
(``session-<id>:credit-<g>`` or ``session-<id>:settlement-<g>``).

A credit CDR reverses settlement g (entry, credit notes, payout queue). A re-issued CDR settles g + 1:
rated, converted and booked as a correction, through stages 5 to 8 of the session. An accepted or
adjusted dispute does both, in that order. Every step is idempotent and keyed by the generation, so a
retried or replayed correction books nothing twice. A business refusal of any step (an unratable CDR, a
missing FX rate, a settlement that cannot be reversed) parks the correction with needs-attention and its
ErrorType until ops fix the cause and send ``retry_settlement``; a technical fault is retried with backoff
(``activities.metrics`` counts it once it has failed too often). Corrections started before
``PARK_EVERY_REFUSAL`` parked only a refused settle step, and only for ``CORRECTION_REFUSALS``.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.corrections import CorrectionActivities
    from activities.errors import SETTLEMENT_REFUSALS, TARIFF_INVALID
    from activities.sessions import SessionActivities
    from activities.settlement import SettlementActivities
    from messages.corrections import (
        CorrectionRecord,
        CorrectionRequest,
        CorrectionResult,
        CorrectionState,
        ReversalInput,
        ReversalOutcome,
    )
    from messages.sessions import ClearingInput, SettlementInput, SettlementOutcome, SettlementRetry
    from workflows import search_attributes as sa
    from workflows.parking import ParkedForRetry
    from workflows.patches import patched
    from workflows.policies import database_step

CORRECTION_REFUSALS = frozenset({TARIFF_INVALID, *SETTLEMENT_REFUSALS})
CORRECTION_STOPPED = "correction stopped"  # how a parked correction's reason begins: "... (<ErrorType>): ..."
PARK_EVERY_REFUSAL = "correction-parks-every-refusal"  # workflow.patched: the reversal too, any ErrorType


@workflow.defn
class SettlementCorrectionWorkflow:
    @workflow.init
    def __init__(self, request: CorrectionRequest) -> None:
        self._request = request
        self._parked = ParkedForRetry(CORRECTION_REFUSALS, patched_from_start=request.patched_from_start)
        self._reason: str | None = None

    @workflow.run
    async def run(self, request: CorrectionRequest) -> CorrectionResult:
        parks_every_refusal = patched(PARK_EVERY_REFUSAL, from_start=request.patched_from_start)
        if parks_every_refusal:
            self._parked = ParkedForRetry(None, patched_from_start=request.patched_from_start)
        reversal: ReversalOutcome | None = None
        if request.reverses_generation is not None:
            reversal_input = ReversalInput(session_id=request.session_id, generation=request.reverses_generation)

            async def reverse() -> ReversalOutcome:
                return await database_step(CorrectionActivities.reverse_settlement, reversal_input)

            reversal = await (self._parked.run(reverse, self._await_fix) if parks_every_refusal else reverse())
        settled = None if request.settles_generation is None else await self._settle(request.settles_generation)
        await self._record(CorrectionState.DONE, None, None)
        return CorrectionResult(
            session_id=request.session_id,
            state=CorrectionState.DONE,
            credit_notes=[] if reversal is None else reversal.credit_notes,
            invoice=None if settled is None else settled.invoice,
            self_billed_invoice=None if settled is None else settled.self_billed_invoice,
            entry_id=(settled.entry_id if settled is not None else None if reversal is None else reversal.entry_id),
        )

    async def _settle(self, generation: int) -> SettlementOutcome:
        request = self._request
        settlement_input = SettlementInput(session_id=request.session_id, generation=generation)

        async def clear_convert_and_book() -> SettlementOutcome:
            await database_step(
                SessionActivities.clear_session,
                ClearingInput(session_id=request.session_id, cdr_key=request.cdr_key, generation=generation),
            )
            await database_step(SettlementActivities.convert_to_billing_currency, settlement_input)
            return await database_step(SettlementActivities.post_settlement, settlement_input)

        return await self._parked.run(clear_convert_and_book, self._await_fix)

    async def _await_fix(self, error_type: str, message: str, retried: Callable[[], bool]) -> None:
        """Park with needs-attention until a retry is asked for."""
        reason = f"{CORRECTION_STOPPED} ({error_type}): {message}"
        self._reason = reason
        workflow.upsert_search_attributes([sa.NEEDS_ATTENTION.value_set(True), sa.error_type_update(error_type)])
        workflow.set_current_details(
            f"**Stopped:** {reason}\n\nFix the cause, then retry it (`networkcore settlement retry`)."
        )
        workflow.logger.warning("correction of session %s stopped: %s", self._request.session_id, reason)
        await self._record(CorrectionState.STOPPED, reason, error_type)
        await workflow.wait_condition(retried)
        self._reason = None
        workflow.upsert_search_attributes([sa.NEEDS_ATTENTION.value_set(False), sa.error_type_update(None)])
        workflow.set_current_details("**Retrying** after a fix")

    async def _record(self, state: CorrectionState, reason: str | None, error_type: str | None) -> None:
        await database_step(
            CorrectionActivities.record_correction,
            CorrectionRecord(
                workflow_id=workflow.info().workflow_id, state=state, reason=reason, error_type=error_type
            ),
        )

    @workflow.signal
    def retry_settlement(self, request: SettlementRetry) -> None:
        workflow.logger.info("correction retry requested by %s", request.requested_by)
        self._parked.retry_requested()

    @workflow.query
    def reason(self) -> str | None:
        return self._reason
