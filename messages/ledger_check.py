"""Payloads of the periodic ledger check (a Temporal Schedule starts it every ``ledger_check_interval_s``)."""

from __future__ import annotations

from messages.sessions import Payload


class LedgerCheck(Payload):
    """Check the books and record the result."""


class LedgerCheckResult(Payload):
    ok: bool
    problems: int
