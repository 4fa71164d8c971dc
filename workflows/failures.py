"""What an activity's failure looks like inside a workflow, for every workflow here."""

from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError

# A failed local activity surfaces as an ActivityError or, depending on the SDK path, directly as the
# activity's ApplicationError; both are handled the same way.
ActivityFailure = (ActivityError, ApplicationError)


def application_error(failure: BaseException) -> ApplicationError | None:
    """The activity's own ApplicationError inside ``failure`` (the innermost one that has a type)."""
    found = None
    current: BaseException | None = failure
    while current is not None:
        if isinstance(current, ApplicationError) and current.type:
            found = current
        current = current.__cause__ or getattr(current, "cause", None)
    return found
