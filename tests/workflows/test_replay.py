"""Recorded histories of real sessions, payout batches and CPO syncs replay against today's workflow code: a change
that would break workflows already running fails here (evolve with ``workflow.patched`` instead)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from cli.replay import replay_history

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
        "started_by_cpo",
        "credit_limit_exceeded",
        "settlement_parked_then_retried",
        "payout_rejected_then_paid",
        "payout_waiting_for_collection_then_paid",
        "correction_credit_cdr",
        "correction_reissued_cdr",
        "correction_dispute_accepted",
        "correction_reversal_parked_then_retried",
        "cpo_sync",
        "cpo_sync_module_failed",
    }


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    report = await replay_history(WorkflowHistory.from_json(f"recorded-{path.stem}", RECORDED[path.stem]))
    assert report.failure is None, report.describe()
