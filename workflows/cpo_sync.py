"""CpoSyncWorkflow (``cpo-sync:<cpo id>``): after a CPO registers, or when ops ask, pull its Locations and
then its Tariffs (its Sender lists) and import each module whole. A module's pull that fails is retried
with backoff; after the last attempt the module is reported failed (nothing of it imported) and the other
is still pulled: ``networkcore partners sync-cpo`` runs the sync again."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.cpo_sync import CPO_NOT_REGISTERED, CpoSyncActivities
    from messages.cpo_sync import CpoSyncInput, CpoSyncResult, ModuleImport, ModulePull, SyncedModule

# One module's pull: every page (each asked again a few times on the way) and the import.
PULL_TIMEOUT = timedelta(minutes=10)


@workflow.defn
class CpoSyncWorkflow:
    @workflow.run
    async def run(self, sync: CpoSyncInput) -> CpoSyncResult:
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=1),
            maximum_interval=timedelta(minutes=1),
            maximum_attempts=sync.pull_attempts,
            non_retryable_error_types=[CPO_NOT_REGISTERED],
        )
        return CpoSyncResult(
            cpo_id=sync.cpo_id, modules=[await self._pull(sync.cpo_id, module, retry) for module in SyncedModule]
        )

    async def _pull(self, cpo_id: str, module: SyncedModule, retry: RetryPolicy) -> ModuleImport:
        try:
            imported = await workflow.execute_activity_method(
                CpoSyncActivities.pull_module,
                ModulePull(cpo_id=cpo_id, module=module),
                start_to_close_timeout=PULL_TIMEOUT,
                retry_policy=retry,
            )
        except ActivityError as error:
            cause = error.cause
            failure = f"{cause.type}: {cause.message}" if isinstance(cause, ApplicationError) else str(cause or error)
            workflow.logger.warning("%s: %s not imported: %s", cpo_id, module.value, failure)
            return ModuleImport(module=module, failure=failure)
        workflow.logger.info("%s: %s imported: %s", cpo_id, module.value, imported)
        return imported
