"""The milestones of a recorded settled session, read from its history as the bench reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from cli.session_timeline import MILESTONES, session_milestones_ms

HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"


def _events(name: str) -> list[HistoryEvent]:
    history = WorkflowHistory.from_json(name, json.loads((HISTORIES / f"{name}.json").read_text()))
    return list(history.events)


def test_a_settled_session_reaches_every_milestone_at_its_events_time() -> None:
    # settled.json began at 04:36:46.911902500; its first task completed at 47.034759365, the CPO's
    # reports were signalled at 47.078713999 and 49.098292651, the CDR at 49.122030643, and it completed at
    # 49.168144696 (event times are kept to the microsecond).
    milestones = session_milestones_ms(_events("settled"))

    assert list(milestones) == list(MILESTONES)
    assert milestones == pytest.approx(
        {
            "start_sent": 122.857,
            "charging": 166.812,
            "charging_ended": 2186.390,
            "cdr_received": 2210.128,
            "finished": 2256.242,
        },
        abs=0.002,
    )


def test_a_session_refused_at_authorisation_reaches_only_the_first_task_and_its_end() -> None:
    milestones = session_milestones_ms(_events("rejected"))

    assert list(milestones) == ["start_sent", "finished"]
    assert 0 < milestones["start_sent"] <= milestones["finished"]
