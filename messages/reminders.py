"""Payloads of the daily reminder run (a Temporal Schedule starts it every morning)."""

from __future__ import annotations

from datetime import date

from messages.sessions import Payload


class ReminderRun(Payload):
    """Issue the reminders due on ``on`` (the day the run starts when not given)."""

    on: date | None = None


class ReminderRunResult(Payload):
    issued: list[str]  # the reminders' numbers, in the order issued
