"""Payloads of the monthly statement run (a Temporal Schedule starts it on the 1st of each month)."""

from __future__ import annotations

from pydantic import Field

from messages.sessions import Payload

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"


class StatementRun(Payload):
    """Issue the draft statements of months before ``before_period`` ("YYYY-MM"; the month the run starts
    in when not given), optionally for one recipient only (``dp:<id>``; ``platform``: the self-billed
    revenue-share statements it issues in the partners' names)."""

    before_period: str | None = Field(default=None, pattern=PERIOD)
    recipient: str | None = None


class StatementRunResult(Payload):
    issued: list[str]  # the statements' numbers, in the order issued
    refused: list[str] = []  # drafts whose e-invoice failed (they stay drafts), each with the rule
