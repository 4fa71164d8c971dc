"""What the correction workflow of a settled session takes and gives (credit CDRs, re-issued CDRs, disputes)."""

from __future__ import annotations

from enum import StrEnum

from messages.sessions import Payload
from messages.workflow_ids import credit_correction_workflow_id, settlement_correction_workflow_id


class CorrectionCause(StrEnum):
    CREDIT_CDR = "CREDIT_CDR"  # the CPO cancelled its CDR: reverse the settlement it made
    REISSUED_CDR = "REISSUED_CDR"  # the CPO's new CDR after a credit: settle the session again
    DISPUTE = "DISPUTE"  # an operator accepted the CPO's claim or agreed another amount: both


class CorrectionState(StrEnum):
    PENDING = "PENDING"
    STOPPED = "STOPPED"  # a business refusal (a missing rate, an unratable CDR): waits for a retry
    DONE = "DONE"


class CorrectionRequest(Payload):
    session_id: str
    demand_partner_id: str
    cpo_id: str
    country: str  # the charger's
    cause: CorrectionCause
    reverses_generation: int | None = None  # the settlement to reverse, if any
    settles_generation: int | None = None  # the settlement to make, if any
    cdr_key: int  # the CDR the new settlement rates (a dispute keeps the one it disputed)
    # Started with every change workflow.patched guards in this workflow so far: it takes them without asking
    # (see workflows/patches.py for why asking can fail a replay). False for runs started before.
    patched_from_start: bool = False

    @property
    def workflow_id(self) -> str:
        """One workflow per correction step of a session, ever: a repeated request finds it."""
        if self.settles_generation is not None:
            return settlement_correction_workflow_id(self.session_id, self.settles_generation)
        assert self.reverses_generation is not None, "a correction reverses or settles a generation"
        return credit_correction_workflow_id(self.session_id, self.reverses_generation)


class ReversalInput(Payload):
    session_id: str
    generation: int


class ReversalOutcome(Payload):
    entry_id: int | None  # None: a free session books nothing
    credit_notes: list[str]


class CorrectionRecord(Payload):
    workflow_id: str
    state: CorrectionState
    reason: str | None = None
    error_type: str | None = None  # the ErrorType the reason names (None clears it)


class CorrectionResult(Payload):
    session_id: str
    state: CorrectionState
    credit_notes: list[str] = []
    invoice: str | None = None
    self_billed_invoice: str | None = None
    entry_id: int | None = None
