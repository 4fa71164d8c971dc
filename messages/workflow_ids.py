"""Every workflow id, made here and nowhere else. Ids derive from business keys, so a repeated start finds
the workflow that exists instead of making a second one."""

from __future__ import annotations

from typing import Final

SESSION_PREFIX: Final = "session-"


def session_workflow_id(session_id: str) -> str:
    """One charging session, one workflow, ever."""
    return f"{SESSION_PREFIX}{session_id}"


def session_id_of(workflow_id: str) -> str | None:
    """The charging session a session or correction workflow id names; None for any other workflow."""
    if not workflow_id.startswith(SESSION_PREFIX):
        return None
    return workflow_id.removeprefix(SESSION_PREFIX).split(":", 1)[0]


def settlement_correction_workflow_id(session_id: str, generation: int) -> str:
    """The correction that settles a session again as ``generation`` (a re-issued CDR, a dispute)."""
    return f"{session_workflow_id(session_id)}:settlement-{generation}"


def credit_correction_workflow_id(session_id: str, generation: int) -> str:
    """The correction that reverses settlement ``generation`` (a credit CDR)."""
    return f"{session_workflow_id(session_id)}:credit-{generation}"


def payout_workflow_id(payee: str, currency: str) -> str:
    """One payout workflow per payee (``cpo:<id>`` or ``dp:<id>``) and currency."""
    return f"payout:{payee}:{currency}"


def cpo_sync_workflow_id(cpo_id: str) -> str:
    """A CPO's pull of its lists: one at a time (a second start joins the running one), again once ended."""
    return f"cpo-sync:{cpo_id}"
