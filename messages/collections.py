"""Payloads of the daily direct-debit collection run (a Temporal Schedule starts it every day)."""

from __future__ import annotations

from datetime import date

from messages.sessions import Payload


class CollectionRun(Payload):
    """Collect what is due on ``run_date`` (the day the run starts when not given)."""

    run_date: date | None = None


class CollectionRunResult(Payload):
    run_date: date
    settled: int  # collections whose collection date came: receivable -> cash in transit
    files: list[str]  # pain.008 message ids built in this run
    sent: list[str]  # message ids handed to the rail (this run's and any an earlier run left unsent)
    notes: list[str]  # invoices not collected, and why
