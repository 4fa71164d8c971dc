"""How the workflows here ask whether a run takes a change guarded by ``workflow.patched``.

Runs started from now on carry their patches in their input (``patched_from_start``) instead of asking: these
patches are first asked right after a local activity, and a replay can ask before the SDK has been told of the
marker. A query answered while the activity ran makes core complete that workflow task with the activity's
marker alone and put the patch marker in the next task; replaying the first task, core has announced only the
activity's, so patched() answers False for the run and the marker then fails it ("Non-deprecated patch marker
encountered"; forced in ``tests/workflows/test_patches_after_local_activities.py``). Runs started before ask as
they did.
"""

from __future__ import annotations

from temporalio import workflow


def patched(change_id: str, *, from_start: bool) -> bool:
    """Whether this run takes the change: without asking (no marker, no ``TemporalChangeVersion`` upsert) when it
    was started with every patch (``from_start``, its input's ``patched_from_start``); else
    ``workflow.patched``."""
    return from_start or workflow.patched(change_id)
