"""Recorded histories of real sessions and payout batches replay against today's workflow code: a change
that would break workflows already running fails here (evolve with ``workflow.patched`` instead)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.payouts import PayoutWorkflow
from workflows.sessions import ChargingSessionWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
RECORDED = {path.stem: json.loads(path.read_text()) for path in HISTORIES}


def test_every_representative_path_is_recorded() -> None:
    assert {p.stem for p in HISTORIES} >= {
        "happy_path",
        "rejected",
        "start_failed",
        "stopped_by_partner",
        "cdr_overdue",
        "cleared",
        "cleared_with_discrepancy",
        "settled",
        "credit_limit_exceeded",
        "settlement_parked_then_retried",
        "payout_rejected_then_paid",
    }


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(f"recorded-{path.stem}", RECORDED[path.stem])
    replayer = Replayer(workflows=[ChargingSessionWorkflow, PayoutWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.stem}: {result.replay_failure}"
