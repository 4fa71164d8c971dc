"""Recorded histories of real sessions, payout batches and CPO syncs replay against today's workflow code: a change
that would break workflows already running fails here (evolve with ``workflow.patched`` instead)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from cli.replay import history_from_file, replay_history

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
        "settled_in_one_step",
        "settled_in_one_step_with_discrepancy",
        "settlement_refused_in_one_step_then_retried",
        "started_by_cpo",
        "credit_limit_exceeded",
        "settlement_parked_then_retried",
        "payout_rejected_then_paid",
        "payout_waiting_for_collection_then_paid",
        "payout_patched_from_start_rejected_then_paid",
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


@pytest.mark.asyncio(loop_scope="session")
async def test_a_history_that_does_not_replay_is_kept_with_its_report(tmp_path: Path) -> None:
    """A test's failing replay says why and carries the history, which `networkcore replay --file` reads back."""
    changed = json.dumps(RECORDED["payout_rejected_then_paid"]).replace('"send_payout"', '"renamed_activity"')
    report = await replay_history(WorkflowHistory.from_json("changed", changed))
    assert report.failure is not None
    assert "renamed_activity" in report.failure
    assert report.history_json is not None
    assert report.history_json not in report.describe()
    described = report.describe(with_history=True)
    assert described.endswith(report.history_json)
    kept = tmp_path / "changed.json"
    kept.write_text(report.history_json)
    again = await replay_history(history_from_file(kept))
    assert (again.events, again.failure) == (report.events, report.failure)
