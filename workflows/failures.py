"""What an activity's failure looks like inside a workflow, for every workflow here."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

# A failed local activity surfaces as an ActivityError or, depending on the SDK path, directly as the
# activity's ApplicationError; both are handled the same way.
ActivityFailure = (ActivityError, ApplicationError)
# workflow.patched: the refusal's type is the activity's own, not that of the error it was raised from.
OUTERMOST_ERROR_TYPE = "outermost-error-type"
# Why runs started from now on carry their patches in their input (``patched_from_start``) instead of asking
# workflow.patched: these patches are first asked right after a local activity, and a replay can ask before
# the SDK has been told of the marker. A query answered while the activity ran makes core complete that
# workflow task with the activity's marker alone and put the patch marker in the next task; replaying the
# first task, core has announced only the activity's, so patched() answers False for the run and the marker
# then fails it ("Non-deprecated patch marker encountered"). Runs started before ask as they did.


def application_error(failure: BaseException, *, patched_from_start: bool = False) -> ApplicationError | None:
    """The activity's own ApplicationError inside ``failure``: the outermost one that has a type. A refusal
    raised from a domain error carries that error (and what it was raised from, a ValueError say) as typed
    causes; runs before ``OUTERMOST_ERROR_TYPE`` took the innermost one. ``patched_from_start``: the run's
    input says it was started with the patch (see above), so nothing is asked."""
    typed: list[ApplicationError] = []
    current: BaseException | None = failure
    while current is not None:
        if isinstance(current, ApplicationError) and current.type:
            typed.append(current)
        current = current.__cause__ or getattr(current, "cause", None)
    if not typed:
        return None
    if typed[0].type == typed[-1].type:
        return typed[-1]  # the same type either way (as before): no patch marker on the common path
    return typed[0] if patched_from_start or workflow.patched(OUTERMOST_ERROR_TYPE) else typed[-1]
