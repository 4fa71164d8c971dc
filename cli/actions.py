"""Billable Temporal actions, counted from a workflow's history (Temporal Cloud's price list, as in
temporal.md §4.1). Queries and heartbeats leave no event, so this is what a session itself costs."""

from __future__ import annotations

from collections import Counter

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

LOCAL_ACTIVITY_MARKER = "core_local_activity"
PATCH_MARKER = "core_patch"  # a workflow.patched a run took (free itself; its TemporalChangeVersion upsert is not)

ONE_EACH = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "start",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signal",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update",
    EventType.EVENT_TYPE_TIMER_STARTED: "timer",
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "upsert",
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: "memo upsert",
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "signal",
}


def billable_actions(events: list[HistoryEvent]) -> Counter[str]:
    """Actions by kind. Local activities cost one per workflow task that ran any; retries cost one each."""
    actions: Counter[str] = Counter()
    tasks_with_local_activities: set[int] = set()
    current_task = 0
    for event in events:
        kind = ONE_EACH.get(event.event_type)
        if kind is not None:
            actions[kind] += 1
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            current_task = event.event_id
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            actions["activity retry"] += max(0, event.activity_task_started_event_attributes.attempt - 1)
        elif event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            actions["child workflow"] += 2
        elif (
            event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
        ):
            tasks_with_local_activities.add(current_task)
    if tasks_with_local_activities:
        actions["local activities"] = len(tasks_with_local_activities)
    return +actions


def count_actions(history: WorkflowHistory) -> Counter[str]:
    return billable_actions(list(history.events))
