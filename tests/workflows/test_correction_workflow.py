"""SettlementCorrectionWorkflow's own logic on the real dev server, its activities replaced by stand-ins
registered under the same names: the order of its steps, a refusal that parks it with needs-attention
until a retry, a retry asked for while a step runs, and a technical fault that is retried, not parked."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Interceptor, Worker

from activities.metrics import REGISTRY, RetryAlertInterceptor
from messages.corrections import (
    CorrectionCause,
    CorrectionRecord,
    CorrectionRequest,
    CorrectionResult,
    CorrectionState,
    ReversalInput,
    ReversalOutcome,
)
from messages.sessions import (
    ClearingInput,
    ClearingOutcome,
    FxOutcome,
    SettlementInput,
    SettlementOutcome,
    SettlementRetry,
)
from workflows import search_attributes as sa
from workflows.corrections import SettlementCorrectionWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXECUTOR = ThreadPoolExecutor(4)


class StandIns:
    def __init__(self, *, refusals: list[str], faults: int = 0, reversal_refusals: list[str] | None = None) -> None:
        self.refusals = refusals  # raised by clear_session, one per call, before it succeeds
        self.reversal_refusals = reversal_refusals or []  # ErrorTypes raised by reverse_settlement, likewise
        self.faults = faults  # technical failures of post_settlement before it succeeds
        self.steps: list[str] = []
        self.records: list[CorrectionState] = []
        self.stopped = threading.Event()

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="reverse_settlement")
        def reverse_settlement(request: ReversalInput) -> ReversalOutcome:
            self.steps.append(f"reverse {request.generation}")
            if self.reversal_refusals:
                refusal = self.reversal_refusals.pop(0)
                raise ApplicationError(f"refused: {refusal}", type=refusal, non_retryable=True)
            return ReversalOutcome(entry_id=7, credit_notes=["NC-000002", "SB-DESTN-000002"])

        @activity.defn(name="clear_session")
        def clear_session(request: ClearingInput) -> ClearingOutcome:
            self.steps.append(f"clear {request.generation} cdr {request.cdr_key}")
            if self.refusals:
                raise ApplicationError(self.refusals.pop(0), type="TariffInvalid", non_retryable=True)
            return ClearingOutcome(
                currency="EUR",
                total_excl_vat=Decimal("10"),
                total_incl_vat=Decimal("11.9"),
                claimed_excl_vat=Decimal("10"),
                claimed_incl_vat=Decimal("11.9"),
                discrepancy=False,
                note="",
            )

        @activity.defn(name="convert_to_billing_currency")
        def convert(request: SettlementInput) -> FxOutcome:
            self.steps.append(f"convert {request.generation}")
            return FxOutcome(from_currency="EUR", to_currency="EUR", amount=Decimal(10), converted=Decimal(10))

        @activity.defn(name="post_settlement")
        def post(request: SettlementInput) -> SettlementOutcome:
            self.steps.append(f"post {request.generation}")
            if self.faults:
                self.faults -= 1
                raise RuntimeError("database went away")
            return SettlementOutcome(
                currency="EUR",
                vat=Decimal("1.75"),
                cpo_payable=Decimal("10.95"),
                commission=Decimal("0.80"),
                demand_partner_share=Decimal("0.12"),
                billing_currency="EUR",
                billed=Decimal("11.90"),
                entry_id=9,
                hold=None,
                invoice="NC-000003",
                self_billed_invoice="SB-DESTN-000003",
            )

        @activity.defn(name="record_correction")
        def record_correction(record: CorrectionRecord) -> None:
            self.records.append(record.state)
            if record.state == CorrectionState.STOPPED:
                self.stopped.set()

        return [reverse_settlement, clear_session, convert, post, record_correction]


def request(cause: CorrectionCause, *, reverses: int | None, settles: int | None) -> CorrectionRequest:
    return CorrectionRequest(
        session_id=str(uuid.uuid4()),
        demand_partner_id="dp-1",
        cpo_id="cpo-1",
        country="DE",
        cause=cause,
        reverses_generation=reverses,
        settles_generation=settles,
        cdr_key=42,
    )


async def run(
    env: WorkflowEnvironment,
    stand_ins: StandIns,
    correction: CorrectionRequest,
    interceptors: Sequence[Interceptor] = (),
) -> tuple[Worker, WorkflowHandle[SettlementCorrectionWorkflow, CorrectionResult]]:
    queue = f"corrections-{uuid.uuid4()}"
    worker = Worker(
        env.client,
        task_queue=queue,
        workflows=[SettlementCorrectionWorkflow],
        activities=stand_ins.activities(),
        activity_executor=EXECUTOR,
        interceptors=interceptors,
    )
    handle = await env.client.start_workflow(
        SettlementCorrectionWorkflow.run,
        correction,
        id=correction.workflow_id,
        task_queue=queue,
        search_attributes=TypedSearchAttributes([SearchAttributePair(sa.NEEDS_ATTENTION, False)]),
    )
    return worker, handle


async def attention(handle: WorkflowHandle[Any, Any], expected: bool, error_type: str | None) -> bool:
    """Whether NeedsAttention and ErrorType reach what is expected (upserted when the workflow task completes)."""
    for _ in range(100):
        attributes = (await handle.describe()).typed_search_attributes
        if (attributes.get(sa.NEEDS_ATTENTION), attributes.get(sa.ERROR_TYPE)) == (expected, error_type):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_dispute_reverses_then_settles_the_next_generation(dev_env: WorkflowEnvironment) -> None:
    stand_ins = StandIns(refusals=[])
    worker, handle = await run(dev_env, stand_ins, request(CorrectionCause.DISPUTE, reverses=0, settles=1))
    async with worker:
        result = await handle.result()
    assert stand_ins.steps == ["reverse 0", "clear 1 cdr 42", "convert 1", "post 1"]
    assert stand_ins.records == [CorrectionState.DONE]
    assert (result.state, result.credit_notes, result.invoice, result.entry_id) == (
        CorrectionState.DONE,
        ["NC-000002", "SB-DESTN-000002"],
        "NC-000003",
        9,
    )


async def test_a_credit_only_reverses(dev_env: WorkflowEnvironment) -> None:
    stand_ins = StandIns(refusals=[])
    worker, handle = await run(dev_env, stand_ins, request(CorrectionCause.CREDIT_CDR, reverses=2, settles=None))
    async with worker:
        result = await handle.result()
    assert stand_ins.steps == ["reverse 2"]
    assert (result.entry_id, result.invoice) == (7, None)
    assert handle.id.endswith(":credit-2")


async def test_a_refusal_parks_it_until_a_retry_and_a_fault_is_retried(dev_env: WorkflowEnvironment) -> None:
    stand_ins = StandIns(refusals=["tariff has no price component"], faults=1)
    correction = request(CorrectionCause.REISSUED_CDR, reverses=None, settles=3)
    worker, handle = await run(dev_env, stand_ins, correction)
    async with worker:
        assert await asyncio.to_thread(stand_ins.stopped.wait, 10)
        assert await attention(handle, True, "TariffInvalid")
        assert "TariffInvalid" in (await handle.query(SettlementCorrectionWorkflow.reason) or "")
        await handle.signal(SettlementCorrectionWorkflow.retry_settlement, SettlementRetry(requested_by="ops"))
        result = await handle.result()
    assert stand_ins.steps == [
        "clear 3 cdr 42",  # refused: parked
        "clear 3 cdr 42",  # after the retry
        "convert 3",
        "post 3",  # a technical fault: retried by the activity's policy, not parked
        "post 3",
    ]
    assert stand_ins.records == [CorrectionState.STOPPED, CorrectionState.DONE]
    assert result.state == CorrectionState.DONE
    assert await attention(handle, False, None)


async def test_any_refusal_parks_it_the_reversal_too_until_a_retry(dev_env: WorkflowEnvironment) -> None:
    stand_ins = StandIns(refusals=[], reversal_refusals=["NothingToReverse"])
    worker, handle = await run(dev_env, stand_ins, request(CorrectionCause.DISPUTE, reverses=0, settles=1))
    async with worker:
        assert await asyncio.to_thread(stand_ins.stopped.wait, 10)
        assert await attention(handle, True, "NothingToReverse")
        assert (await handle.query(SettlementCorrectionWorkflow.reason) or "").startswith(
            "correction stopped (NothingToReverse): refused"
        )
        await handle.signal(SettlementCorrectionWorkflow.retry_settlement, SettlementRetry(requested_by="ops"))
        result = await handle.result()
    assert stand_ins.steps == ["reverse 0", "reverse 0", "clear 1 cdr 42", "convert 1", "post 1"]
    assert stand_ins.records == [CorrectionState.STOPPED, CorrectionState.DONE]
    assert (result.state, result.entry_id) == (CorrectionState.DONE, 9)
    assert await attention(handle, False, None)


async def test_a_step_that_keeps_failing_raises_the_alert_metric_and_goes_on_retrying(
    dev_env: WorkflowEnvironment,
) -> None:
    def alerts() -> float:
        return (
            REGISTRY.get_sample_value(
                "networkcore_activity_failures_after_alert_total", {"activity": "post_settlement"}
            )
            or 0.0
        )

    before = alerts()
    stand_ins = StandIns(refusals=[], faults=3)
    correction = request(CorrectionCause.REISSUED_CDR, reverses=None, settles=1)
    worker, handle = await run(dev_env, stand_ins, correction, [RetryAlertInterceptor(alert_after_attempts=2)])
    async with worker:
        result = await handle.result()
    assert result.state == CorrectionState.DONE
    assert stand_ins.steps.count("post 1") == 4  # three faults, retried with backoff, never parked
    assert stand_ins.records == [CorrectionState.DONE]
    assert alerts() - before == 2  # attempts 2 and 3 failed at or after the alert threshold
