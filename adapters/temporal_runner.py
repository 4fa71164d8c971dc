"""The workflow runner: the SDK's sandbox, without its serialization-context question per payload.

For every payload sequence of every activation and of its completion (each walked three times: to decode
or encode, and twice for external storage), the worker of temporalio 1.35 asks the workflow instance which
serialization context applies, so that a payload codec or converter can encrypt per workflow or activity.
In the sandbox each question runs code inside it: about a tenth of the worker's CPU in a bench profile. A
converter that ignores the context (ours: pydantic's, no codec, no external storage) is the same whatever
the answer, so its instances answer "none" (the converter as configured) without entering the sandbox;
likewise the question of where external storage would keep a payload, asked for every completion.
Workflow code still runs in the sandbox, with all its restrictions; a converter that does use the context
gets the SDK's runner unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    SerializationContext,
    StorageDriverStoreContext,
    StorageDriverWorkflowInfo,
    WorkflowSerializationContext,
)
from temporalio.worker import (
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import Info, _Definition

# Contexts of each kind a converter could tell apart: one that answers any of them with another converter
# (per-workflow keys, say) uses the context.
_PROBES: tuple[SerializationContext, ...] = (
    WorkflowSerializationContext(namespace="probe", workflow_id="probe-workflow"),
    ActivitySerializationContext(
        namespace="probe",
        activity_id="probe-activity",
        activity_type="probe",
        activity_task_queue="probe",
        workflow_id="probe-workflow",
        workflow_type="probe",
        is_local=False,
    ),
)


def ignores_serialization_context(converter: DataConverter) -> bool:
    """Whether ``converter`` encodes the same in every serialization context."""
    return converter.external_storage is None and all(converter.with_context(probe) is converter for probe in _PROBES)


def workflow_runner(converter: DataConverter) -> WorkflowRunner:
    """The runner for workflows whose payloads ``converter`` encodes. In the SDK's debug mode
    (``TEMPORAL_DEBUG``), its own sandbox: it loosens only a runner that is one, to let a debugger in."""
    sandbox = SandboxedWorkflowRunner()
    if os.environ.get("TEMPORAL_DEBUG") or not ignores_serialization_context(converter):
        return sandbox
    return ContextFreeSandboxRunner(sandbox)


class ContextFreeSandboxRunner(WorkflowRunner):
    """``sandbox``'s instances, answering the serialization-context question (``None``) and the
    external-storage one (the workflow) outside it."""

    def __init__(self, sandbox: SandboxedWorkflowRunner) -> None:
        self.sandbox = sandbox

    def prepare_workflow(self, defn: _Definition) -> None:
        self.sandbox.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ContextFreeInstance(self.sandbox.create_instance(det))

    def set_worker_level_failure_exception_types(self, types: Sequence[type[BaseException]]) -> None:
        self.sandbox.set_worker_level_failure_exception_types(types)


class _ContextFreeInstance(WorkflowInstance):
    def __init__(self, sandboxed: WorkflowInstance) -> None:
        self.sandboxed = sandboxed

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self.sandboxed.activate(act)

    def get_serialization_context(self, command_info: CommandInfo | None) -> SerializationContext | None:
        return None

    def get_external_store_context(self, command_info: CommandInfo | None) -> StorageDriverStoreContext:
        # Asked for every completion too; with no external storage the answer is never used: the workflow
        # itself, as the SDK answers for anything but a child workflow (its own id, or the parent for a
        # child's completion) or an external signal's target.
        info = self.sandboxed.get_info()
        return StorageDriverStoreContext(
            target=StorageDriverWorkflowInfo(
                id=info.workflow_id, run_id=info.run_id, type=info.workflow_type, namespace=info.namespace
            )
        )

    def get_info(self) -> Info:
        return self.sandboxed.get_info()

    def get_thread_id(self) -> int | None:
        return self.sandboxed.get_thread_id()
