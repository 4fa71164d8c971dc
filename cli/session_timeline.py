"""Where a session's time goes, read from its workflow history: when each step of the happy path happened,
in ms after the workflow started. ``networkcore bench`` prints their medians, which part the platform's
work from the simulated CPO's charging and parking (a closed-loop client waits for both)."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

# The session workflow's signals (``workflows/sessions.py``), by their Temporal names.
CPO_SESSION_REPORTED = "cpo_session_reported"
CDR_ARRIVED = "cdr_arrived"

# In the order a settled session passes them.
START_SENT = "start_sent"  # the first workflow task done: authorised, credit held, START_SESSION sent
CHARGING = "charging"  # the CPO's first status the workflow acts on (ACTIVE)
CHARGING_ENDED = "charging_ended"  # its last (COMPLETED)
CDR_RECEIVED = "cdr_received"
FINISHED = "finished"  # rated, converted, invoiced and booked (for a settled session)
MILESTONES = (START_SENT, CHARGING, CHARGING_ENDED, CDR_RECEIVED, FINISHED)


def session_milestones_ms(events: Sequence[HistoryEvent]) -> dict[str, float]:
    """Each milestone the history reached, in ms after its start; one it did not reach is left out."""
    started = events[0].event_time.ToDatetime()
    reached: dict[str, float] = {}
    for event in events:
        at_ms = (event.event_time.ToDatetime() - started).total_seconds() * 1000
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            reached.setdefault(START_SENT, at_ms)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            signal = event.workflow_execution_signaled_event_attributes.signal_name
            if signal == CPO_SESSION_REPORTED:
                reached.setdefault(CHARGING, at_ms)
                reached[CHARGING_ENDED] = at_ms
            elif signal == CDR_ARRIVED:
                reached.setdefault(CDR_RECEIVED, at_ms)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            reached[FINISHED] = at_ms
    return {milestone: reached[milestone] for milestone in MILESTONES if milestone in reached}
