"""Metrics and logs of the real stack: ``GET /metrics`` counts sessions by stage from the database, needs
no key and names no one; the API's ledger check shows in it; the worker's settlement latency counts first
bookings only; the SDK's exporter counts activity failures; log lines about a session name it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities import metrics as worker_metrics
from activities.settlement import SettlementActivities
from adapters.einvoice.issue import validated_xml
from adapters.structured_logs import JsonFormatter, SessionContext
from cli.processes import free_port
from config.settings import Settings, platform_einvoice_details, platform_party
from domain.einvoice.issuing import EInvoiceIssuing
from domain.fx.rates import FxRate
from domain.sessions.lifecycle import SessionStage
from messages.sessions import SettlementInput, SettlementRetry
from messages.workflow_ids import session_workflow_id
from persistence import fx
from persistence.tables import SessionRow
from persistence.vat_rates import vat_rate_table
from tests.e2e.conftest import ROAMLY, Stack
from tests.e2e.test_settlement import parked_settlement, partner
from workers.main import ensure_ledger_check_schedule

pytestmark = pytest.mark.asyncio(loop_scope="session")
REPOSITORY = Path(__file__).resolve().parents[2]
SETTLEMENT_COUNT = "networkcore_settlement_latency_seconds_count"


def samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def sessions_gauge(text: str, stage: SessionStage) -> float:
    found = samples(text, "networkcore_sessions")
    return sum(value for labels, value in found.items() if ("stage", stage.value) in labels)


def settled_in_database(stack: Stack) -> int:
    with stack.writes() as db:
        return int(db.scalar(select(func.count()).where(SessionRow.stage == SessionStage.SETTLED.value)) or 0)


async def settled_session(stack: Stack, driver: str) -> str:
    """A session settled, and its read model (what /metrics counts) recorded SETTLED."""
    session_id = await stack.start("DE*STN*E3001", driver)
    await stack.wait_for(session_id, SessionStage.SETTLED)
    for _ in range(100):
        with stack.writes() as db:
            if db.get_one(SessionRow, session_id).stage == SessionStage.SETTLED.value:
                return session_id
        await asyncio.sleep(0.1)
    raise AssertionError("the read model never recorded SETTLED")


async def test_metrics_count_settled_sessions_as_the_database_does(stack: Stack) -> None:
    before = sessions_gauge((await stack.http.get("/metrics")).text, SessionStage.SETTLED)
    await settled_session(stack, f"drv-{uuid.uuid4().hex[:12]}")
    low = settled_in_database(stack)
    reply = await stack.http.get("/metrics")
    high = settled_in_database(stack)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    settled = sessions_gauge(reply.text, SessionStage.SETTLED)
    assert low <= settled <= high
    assert settled >= before + 1
    gauge = samples(reply.text, "networkcore_sessions")
    assert len(gauge) == 2 * len(SessionStage), "every stage, with and without needs-attention, zeros included"
    assert gauge[frozenset({("stage", "SETTLED"), ("needs_attention", "false")})] <= settled


async def test_metrics_need_no_key_and_name_no_partner_driver_or_session(stack: Stack) -> None:
    driver = f"drv-private-{uuid.uuid4().hex[:12]}"
    session_id = await stack.start("DE*STN*E3001", driver)
    await stack.get(session_id)
    stray = uuid.uuid4().hex
    assert (await stack.http.get(f"/v1/sessions/{stray}", headers=stack.headers())).status_code == 404
    reply = await stack.http.get("/metrics")  # no Authorization header
    assert reply.status_code == 200
    for private in (session_id, stray, driver, ROAMLY.api_key, ROAMLY.id, "DE*STN*E3001"):
        assert private not in reply.text
    routes = {dict(labels)["route"] for labels in samples(reply.text, "networkcore_http_requests_total")}
    assert {"/v1/sessions", "/v1/sessions/{session_id}"} <= routes
    assert "/ocpi/emsp/2.2.1/sessions/{country_code}/{party_id}/{session_id}" in routes


async def test_the_worker_times_a_settlement_once_and_not_its_replay(stack: Stack) -> None:
    before = worker_metrics.REGISTRY.get_sample_value(SETTLEMENT_COUNT) or 0
    session_id = await settled_session(stack, f"drv-{uuid.uuid4().hex[:12]}")
    after = worker_metrics.REGISTRY.get_sample_value(SETTLEMENT_COUNT) or 0
    assert after >= before + 1
    # The same settlement again (a retry after a lost reply): it finds the entry booked and is not counted.
    settlement = SettlementActivities(
        stack.writes,
        fx_max_age=timedelta(days=3650),
        platform=platform_party(Settings()),
        vat_rates=vat_rate_table(),
        einvoicing=EInvoiceIssuing(platform_einvoice_details(Settings()), validated_xml),
    )
    replayed = await asyncio.to_thread(settlement.post_settlement, SettlementInput(session_id=session_id))
    assert replayed.entry_id is not None
    assert worker_metrics.REGISTRY.get_sample_value(SETTLEMENT_COUNT) == after
    assert (worker_metrics.REGISTRY.get_sample_value("networkcore_settlement_latency_seconds_sum") or 0) > 0


async def test_the_api_shows_the_last_ledger_check_the_worker_ran(stack: Stack) -> None:
    """The worker's Schedule checks the books and records each run; every API process shows the latest run in
    ``/metrics`` (the check no longer runs in the API)."""
    schedule_id = f"ledger-check-{uuid.uuid4().hex[:8]}"
    started = time.time()
    await ensure_ledger_check_schedule(
        stack.temporal, stack.task_queue, every=timedelta(seconds=1), schedule_id=schedule_id
    )
    try:
        checked: dict[str, float] = {}
        for _ in range(600):
            text = (await stack.http.get("/metrics")).text
            checked = {
                name: value
                for name in ("ok", "problems", "timestamp_seconds", "duration_seconds")
                for value in samples(text, f"networkcore_ledger_check_{name}").values()
            }
            if len(checked) == 4 and checked["timestamp_seconds"] > started + 1:  # a run after the first
                break
            await asyncio.sleep(0.1)
    finally:
        await ensure_ledger_check_schedule(stack.temporal, stack.task_queue, every=None, schedule_id=schedule_id)
    assert checked["ok"] == 1, "the books of the sessions above check out"
    assert checked["problems"] == 0
    assert started + 1 < checked["timestamp_seconds"] <= time.time(), "checked again and again"
    assert checked["duration_seconds"] > 0
    with pytest.raises(RPCError):  # interval 0: the Schedule is gone
        await stack.temporal.get_schedule_handle(schedule_id).describe()


async def test_the_sdk_counts_activity_failures_by_activity_type(dev_env: WorkflowEnvironment) -> None:
    address = dev_env.client.service_client.config.target_host
    probe = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.e2e.sdk_metrics_probe", address, str(free_port())],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    # Read as served: the client library's parser would rename these counters (no _total suffix).
    for name in ("temporal_activity_execution_failed", "temporal_local_activity_execution_failed"):
        served = [line for line in probe.stdout.splitlines() if line.startswith(name + "{")]
        refused = [line for line in served if 'activity_type="always_refused"' in line]
        assert len(refused) == 1, (name, served)
        assert refused[0].endswith(" 1"), refused


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.addFilter(SessionContext())
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextlib.contextmanager
def json_lines() -> Iterator[Lines]:
    root, handler = logging.getLogger(), Lines()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_api_lines_about_a_session_name_it(stack: Stack) -> None:
    with json_lines() as logged:
        session_id = await settled_session(stack, f"drv-{uuid.uuid4().hex[:12]}")
        await stack.get(session_id)
    ours = [line for line in logged.lines if line.get("session_id") == session_id]
    messages = {line["message"] for line in ours}
    assert "session accepted for dp-roamly at DE*STN*E3001" in messages
    assert "GET /v1/sessions/{session_id} 200" in messages
    assert any(m.startswith("OCPI CDR: 1000") for m in messages), messages
    assert any(m.startswith("OCPI Session: 1000") for m in messages), messages
    access = [line for line in logged.lines if line["logger"] == "api.access"]
    assert all("duration_ms" in line and "status" in line for line in access)
    about_sessions = [line for line in access if line["route"].startswith("/v1/sessions/{session_id}")]
    assert about_sessions
    assert all(line.get("session_id") for line in about_sessions)


async def test_worker_lines_about_a_session_name_it(stack: Stack) -> None:
    dirham = partner(stack, "MAD")  # the ECB publishes no EUR/MAD rate: the settlement stops, then is retried
    with json_lines() as logged:
        session_id = await stack.start("DE*STN*E3001", "drv-dirham", api_key=dirham.api_key)
        await parked_settlement(stack, session_id, dirham)
        with stack.writes.begin() as db:
            fx.store_rates(db, [FxRate("EUR", "MAD", Decimal("10.8123"), date(2026, 1, 2), "test: ops import")])
        await stack.handle(session_id).signal("retry_settlement", SettlementRetry(requested_by="ops"))
        await stack.wait_for(session_id, SessionStage.SETTLED, api_key=dirham.api_key)
    ours = [line for line in logged.lines if line.get("session_id") == session_id]
    refused = [line for line in ours if line.get("activity_type") == "convert_to_billing_currency"]
    assert refused, "the SDK's line about the refused activity names the session"
    assert "FxRateMissing" in refused[0]["exception"]
    assert refused[0]["workflow_id"] == session_workflow_id(session_id)
    retried = [line for line in ours if line["message"].startswith("settlement retry requested by ops")]
    assert len(retried) == 1, "workflow.logger's line names the session"
    assert retried[0]["workflow_type"] == "ChargingSessionWorkflow"
    assert "run_id" in retried[0]
