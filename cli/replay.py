"""`networkcore replay WORKFLOW_ID`: replay a workflow's history against the workflow code of this checkout,
so an engineer sees before a deploy (or after a failure) whether running workflows would still replay."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from adapters.temporal_client import DATA_CONVERTER
from workflows.collections import DailyCollectionWorkflow
from workflows.corrections import SettlementCorrectionWorkflow
from workflows.cpo_sync import CpoSyncWorkflow
from workflows.payouts import PayoutSweepWorkflow, PayoutWorkflow
from workflows.reminders import DailyReminderWorkflow
from workflows.sessions import ChargingSessionWorkflow
from workflows.statements import MonthlyStatementWorkflow

WORKFLOWS = [
    ChargingSessionWorkflow,
    SettlementCorrectionWorkflow,
    PayoutWorkflow,
    PayoutSweepWorkflow,
    MonthlyStatementWorkflow,
    DailyCollectionWorkflow,
    DailyReminderWorkflow,
    CpoSyncWorkflow,
]


@dataclass(frozen=True)
class ReplayReport:
    workflow_id: str
    events: int
    failure: str | None  # why replay failed (non-determinism, or a workflow error), None when clean
    history_json: str | None = None  # the history that failed, as `--file` reads it; None when clean

    def describe(self, *, with_history: bool = False) -> str:
        """One sentence; ``with_history``: a failing history follows it, for a test's failure to keep (a
        workflow of a test run is gone with its dev server, and the history is what explains the failure)."""
        if self.failure is None:
            return f"{self.workflow_id}: {self.events} events replay cleanly against this code"
        described = (
            f"{self.workflow_id}: {self.events} events do NOT replay against this code:\n  {self.failure}\n"
            "Running workflows like this one would fail after a deploy: guard the change with "
            "workflow.patched(...) (see README)."
        )
        if with_history and self.history_json is not None:
            described += f"\nThe history (JSON; `networkcore replay --file` reads it):\n{self.history_json}"
        return described


async def replay_history(history: WorkflowHistory) -> ReplayReport:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    if failure is None:
        return ReplayReport(history.workflow_id, len(history.events), None)
    return ReplayReport(history.workflow_id, len(history.events), _plainly(failure), history.to_json())


def _plainly(failure: Exception) -> str:
    """The SDK's own sentence (e.g. which activity the history has and which the code asks for), without
    the nested failure structure around it."""
    found = re.search(r'message: "((?:[^"\\]|\\.)*)"', str(failure))
    return f"{type(failure).__name__}: {found.group(1) if found else failure}"


async def fetch_history(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


def history_from_file(path: Path) -> WorkflowHistory:
    """A history exported as JSON (Temporal UI "Download", `temporal workflow show --output json`)."""
    return WorkflowHistory.from_json(path.stem, path.read_text())
