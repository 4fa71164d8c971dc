"""Whether this process can serve: its database answers, and how deep the session workflows' backlog is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from persistence.db import SessionFactory
from persistence.outages import DATABASE_UNAVAILABLE, ping


def database_reachable(reads: SessionFactory) -> bool:
    try:
        with reads() as db:
            ping(db)
    except DATABASE_UNAVAILABLE:
        return False
    return True


@dataclass(frozen=True, slots=True)
class WorkflowBacklog:
    """Workflow tasks waiting for a worker on the task queue (a started session not yet picked up is one);
    ``None`` when the Temporal server did not answer."""

    waiting_tasks: int | None

    @property
    def temporal_reachable(self) -> bool:
        return self.waiting_tasks is not None


async def workflow_backlog(temporal: Client, task_queue: str, *, timeout_s: float) -> WorkflowBacklog:
    """One ``DescribeTaskQueue`` call: the server's approximate backlog count, kept by the matching
    service, so reading it costs no scan."""
    try:
        described = await temporal.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=temporal.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                report_stats=True,
            ),
            timeout=timedelta(seconds=timeout_s),
        )
    except RPCError:
        return WorkflowBacklog(None)
    return WorkflowBacklog(described.stats.approximate_backlog_count)
