"""What an activity's failure looks like inside a workflow, for every workflow here."""

from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError

from workflows.patches import patched

# A failed local activity surfaces as an ActivityError or, depending on the SDK path, directly as the
# activity's ApplicationError; both are handled the same way.
ActivityFailure = (ActivityError, ApplicationError)
# workflow.patched: the refusal's type is the activity's own, not that of the error it was raised from.
OUTERMOST_ERROR_TYPE = "outermost-error-type"


def application_error(failure: BaseException, *, patched_from_start: bool = False) -> ApplicationError | None:
    """The activity's own ApplicationError inside ``failure``: the outermost one that has a type. A refusal
    raised from a domain error carries that error (and what it was raised from, a ValueError say) as typed
    causes; runs before ``OUTERMOST_ERROR_TYPE`` took the innermost one. ``patched_from_start``: the run's
    input says it was started with the patch (``workflows.patches``)."""
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
    return typed[0] if patched(OUTERMOST_ERROR_TYPE, from_start=patched_from_start) else typed[-1]
