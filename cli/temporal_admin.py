"""Operator calls against a running Temporal cluster."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from adapters.temporal_client import connect_temporal
from config.settings import Settings
from workflows.search_attributes import ALL


async def register_search_attributes(address: str, namespace: str) -> list[str]:
    """Add the custom search attributes that are missing; refuse a type clash. Returns what was added."""
    client = await connect_temporal(address, namespace)
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in ALL:
        wanted = IndexedValueType.ValueType(int(key.indexed_value_type))
        present = listed.custom_attributes.get(key.name)
        if present is None:
            missing[key.name] = wanted
        elif present != wanted:
            raise SystemExit(
                f"search attribute {key.name} exists as {IndexedValueType.Name(present)}, "
                f"we need {IndexedValueType.Name(wanted)}"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)


async def task_queue_pollers(settings: Settings) -> int:
    """How many workers poll our task queue for workflow tasks (each process its own identity, pid@host)."""
    client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(namespace=settings.temporal_namespace, task_queue=TaskQueue(name=settings.task_queue))
    )
    return len(described.pollers)
