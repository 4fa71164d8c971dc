"""Park until ops retry: a step that a business refusal stops (a missing FX rate, an unratable tariff) waits,
with needs-attention, until ops fix the cause and send ``retry_settlement``; then it runs again. Used by
the session's settlement and by a correction's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from temporalio.exceptions import ApplicationError

from workflows.failures import ActivityFailure, application_error

Result = TypeVar("Result")
# Called with the refusal's type and message and the condition that holds once a retry is asked for; says
# why the step stopped, and returns once the condition holds.
Park = Callable[[str, str, Callable[[], bool]], Awaitable[None]]


class ParkedForRetry:
    def __init__(self, refusals: Collection[str] | None, *, patched_from_start: bool = False) -> None:
        """``refusals``: the ErrorTypes that park the step; None: every business refusal (a non-retryable
        ApplicationError with a type). ``patched_from_start``: as ``application_error`` takes it."""
        self._refusals = refusals
        self._patched_from_start = patched_from_start
        self._retries_requested = 0

    def retry_requested(self) -> None:
        """For the workflow's ``retry_settlement`` signal handler."""
        self._retries_requested += 1

    async def run(self, attempt: Callable[[], Awaitable[Result]], park: Park) -> Result:
        """``attempt`` until it succeeds; a refusal that parks it parks it, any other failure is raised."""
        while True:
            # A retry asked for while this attempt runs must not be lost: count them, not flag them.
            retries_seen = self._retries_requested
            try:
                return await attempt()
            except ActivityFailure as failure:
                refused = application_error(failure, patched_from_start=self._patched_from_start)
                if refused is None or refused.type is None or not self._parks(refused.type, failure):
                    raise
                await park(refused.type, refused.message, self._retry_requested_since(retries_seen))

    def _parks(self, error_type: str, failure: BaseException) -> bool:
        return _refused(failure) if self._refusals is None else error_type in self._refusals

    def _retry_requested_since(self, retries_seen: int) -> Callable[[], bool]:
        return lambda: self._retries_requested > retries_seen


def _refused(failure: BaseException | None) -> bool:
    """Whether the activity gave up on purpose: an ApplicationError in the chain is non-retryable (the
    innermost typed one may be the domain error it was raised from, which is not)."""
    while failure is not None:
        if isinstance(failure, ApplicationError) and failure.non_retryable:
            return True
        failure = failure.__cause__ or getattr(failure, "cause", None)
    return False
