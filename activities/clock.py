"""The wall clock of activities: when a row was written, never a decision a retry must repeat (those take
their time from the workflow's input)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
