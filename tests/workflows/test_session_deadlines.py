"""The workflow's deadlines at their real lengths (minutes to a day) on the time-skipping test server,
with the activities replaced by stand-ins registered under the same names."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from adapters.temporal_client import DATA_CONVERTER
from domain.sessions.lifecycle import CpoSessionStatus, SessionStage
from messages.sessions import (
    AuthoriseSessionInput,
    CdrArrived,
    ChargingSessionInput,
    ChargingSessionResult,
    ClearingInput,
    ClearingOutcome,
    CommandOutcome,
    CpoSessionReported,
    SessionAuthorised,
    SessionTimeouts,
    StageOutcome,
    StartCommandInput,
    StopCommandInput,
)
from messages.workflow_ids import session_workflow_id
from tests.conftest import server_binary
from workflows import search_attributes as sa
from workflows.sessions import ChargingSessionWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

REAL_TIMEOUTS = SessionTimeouts(start_confirmation_s=180, max_duration_s=24 * 3600, cdr_wait_s=3600)


class Recorded:
    def __init__(self) -> None:
        self.stages: list[StageOutcome] = []
        self.stops: list[StopCommandInput] = []


@pytest_asyncio.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server_binary("temporal-test-server"), data_converter=DATA_CONVERTER
    ) as env:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in sa.ALL},
            )
        )
        yield env


def stand_ins(recorded: Recorded) -> list[Callable[..., Any]]:
    @activity.defn(name="authorise_session")
    def authorise_session(request: AuthoriseSessionInput) -> SessionAuthorised:
        return SessionAuthorised(
            session_id=request.session_id,
            cpo_id="cpo-1",
            cpo_country_code="DE",
            cpo_party_id="STN",
            country="DE",
            location_id="L1",
            evse_uid="E1",
            evse_id="DE*STN*E1",
            connector_id="1",
            time_zone="Europe/Berlin",
            tariff_version_key=1,
            tariff_id="T1",
            currency="EUR",
            demand_partner_contract_key=1,
            cpo_contract_key=2,
        )

    @activity.defn(name="send_start_command")
    async def send_start_command(request: StartCommandInput) -> CommandOutcome:
        return CommandOutcome(accepted=True, result="ACCEPTED", timeout_s=30)

    @activity.defn(name="send_stop_command")
    async def send_stop_command(request: StopCommandInput) -> CommandOutcome:
        recorded.stops.append(request)
        return CommandOutcome(accepted=True, result="ACCEPTED", timeout_s=30)

    @activity.defn(name="record_stage")
    def record_stage(outcome: StageOutcome) -> None:
        recorded.stages.append(outcome)

    @activity.defn(name="clear_session")
    def clear_session(request: ClearingInput) -> ClearingOutcome:
        d = Decimal("12.34")
        return ClearingOutcome(
            currency="EUR",
            total_excl_vat=d,
            total_incl_vat=d,
            claimed_excl_vat=d,
            claimed_incl_vat=d,
            discrepancy=False,
            note="agrees",
        )

    return [authorise_session, send_start_command, send_stop_command, record_stage, clear_session]


async def start(
    env: WorkflowEnvironment, task_queue: str
) -> WorkflowHandle[ChargingSessionWorkflow, ChargingSessionResult]:
    session_id = str(uuid.uuid4())
    return await env.client.start_workflow(
        ChargingSessionWorkflow.run,
        ChargingSessionInput(
            session_id=session_id,
            demand_partner_id="dp-1",
            evse_id="DE*STN*E1",
            driver_reference="d",
            requested_at=await env.get_current_time(),
            timeouts=REAL_TIMEOUTS,
            clearing=True,
        ),
        id=session_workflow_id(session_id),
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes([SearchAttributePair(sa.SESSION_STAGE, "STARTING")]),
    )


def report(status: CpoSessionStatus) -> CpoSessionReported:
    now = datetime.now(UTC)
    return CpoSessionReported(cpo_session_id="cpo-s-1", status=status, start_date_time=now, last_updated=now)


async def run_with(env: WorkflowEnvironment, recorded: Recorded) -> tuple[Worker, str]:
    task_queue = str(uuid.uuid4())
    worker = Worker(
        env.client,
        task_queue=task_queue,
        workflows=[ChargingSessionWorkflow],
        activities=stand_ins(recorded),
        activity_executor=ThreadPoolExecutor(4),
    )
    return worker, task_queue


async def test_no_confirmation_within_three_minutes_fails_the_start(time_env: WorkflowEnvironment) -> None:
    recorded = Recorded()
    worker, task_queue = await run_with(time_env, recorded)
    async with worker:
        handle = await start(time_env, task_queue)
        result = await handle.result()
    assert result.stage == SessionStage.START_FAILED
    assert result.reason == "the CPO did not confirm the start within 180 s"
    assert recorded.stages[-1].stage == SessionStage.START_FAILED


async def test_a_cdr_overdue_for_an_hour_needs_attention_and_is_still_awaited(time_env: WorkflowEnvironment) -> None:
    recorded = Recorded()
    worker, task_queue = await run_with(time_env, recorded)
    async with worker:
        handle = await start(time_env, task_queue)
        await handle.signal(ChargingSessionWorkflow.cpo_session_reported, report(CpoSessionStatus.ACTIVE))
        await handle.signal(ChargingSessionWorkflow.cpo_session_reported, report(CpoSessionStatus.COMPLETED))
        await time_env.sleep(timedelta(minutes=59))
        assert (await handle.query(ChargingSessionWorkflow.view)).needs_attention is False
        await time_env.sleep(timedelta(minutes=2))
        view = await handle.query(ChargingSessionWorkflow.view)
        assert view.stage == SessionStage.AWAITING_CDR
        assert view.needs_attention is True
        assert recorded.stages[-1].needs_attention is True
        await time_env.sleep(timedelta(days=3))  # days later it is still waiting, not dropped
        await handle.signal(ChargingSessionWorkflow.cdr_arrived, CdrArrived(cdr_key=7, cdr_id="cdr-7"))
        result = await handle.result()
    assert result.stage == SessionStage.CLEARED
    assert result.cdr_id == "cdr-7"
    final = recorded.stages[-1]
    assert final.needs_attention is False
    assert final.cdr_key == 7


async def test_a_session_that_never_ends_is_stopped_after_the_maximum_duration(time_env: WorkflowEnvironment) -> None:
    recorded = Recorded()
    worker, task_queue = await run_with(time_env, recorded)
    async with worker:
        handle = await start(time_env, task_queue)
        await handle.signal(ChargingSessionWorkflow.cpo_session_reported, report(CpoSessionStatus.ACTIVE))
        await time_env.sleep(timedelta(hours=23))
        assert not recorded.stops
        await time_env.sleep(timedelta(hours=2))
        assert [s.cpo_session_id for s in recorded.stops] == ["cpo-s-1"]
        assert (await handle.query(ChargingSessionWorkflow.view)).stage == SessionStage.AWAITING_CDR
        await handle.signal(ChargingSessionWorkflow.cdr_arrived, CdrArrived(cdr_key=8, cdr_id="cdr-8"))
        result = await handle.result()
    assert result.stage == SessionStage.CLEARED
    assert result.reason is None


async def test_duplicate_and_regressing_cpo_reports_are_ignored(time_env: WorkflowEnvironment) -> None:
    recorded = Recorded()
    worker, task_queue = await run_with(time_env, recorded)
    async with worker:
        handle = await start(time_env, task_queue)
        for status in (
            CpoSessionStatus.ACTIVE,
            CpoSessionStatus.ACTIVE,
            CpoSessionStatus.COMPLETED,
            CpoSessionStatus.ACTIVE,
        ):
            await handle.signal(ChargingSessionWorkflow.cpo_session_reported, report(status))
        view = await handle.query(ChargingSessionWorkflow.view)
        assert view.cpo_status == CpoSessionStatus.COMPLETED
        await handle.signal(ChargingSessionWorkflow.cdr_arrived, CdrArrived(cdr_key=9, cdr_id="cdr-9"))
        await handle.signal(ChargingSessionWorkflow.cdr_arrived, CdrArrived(cdr_key=10, cdr_id="cdr-10"))
        result = await handle.result()
    assert result.cdr_id == "cdr-9"
