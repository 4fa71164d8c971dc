"""Payloads of the payout workflows (stage 9): one PayoutWorkflow per payee and currency, and the sweep
that makes sure each payee with a queued payable has one."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from messages.sessions import Payload

PAYEE = r"^(cpo|dp):[A-Za-z0-9._-]{1,64}$"
CURRENCY = r"^[A-Z]{3}$"


class PayoutBatchState(StrEnum):
    INSTRUCTED = "INSTRUCTED"  # booked to cash in transit, pain.001 built and validated
    SENT = "SENT"  # handed to the rail
    PAID = "PAID"  # the rail confirmed (pain.002 ACSC/ACCC); booked as paid
    REJECTED = "REJECTED"  # the rail rejected (RJCT); the money is payable again


class PayoutInput(Payload):
    payee: str = Field(pattern=PAYEE)
    currency: str = Field(pattern=CURRENCY)
    # Carried over continue-as-new: the batch still waiting for the rail, and the release count.
    open_batch: str | None = None
    releases: int = 0
    release_requested: bool = False  # a release_now not yet served
    poll_seconds: int = Field(default=60, ge=1)  # INSTANT payees and the rail's status are checked this often
    # Started with every change workflow.patched guards in this workflow so far: it takes them without asking
    # (see workflows/patches.py for why asking can fail a replay). False for runs started before.
    patched_from_start: bool = False


class ReleaseRequest(Payload):
    payee: str = Field(pattern=PAYEE)
    currency: str = Field(pattern=CURRENCY)
    release_key: str  # the batch's idempotency key: workflow id, run id and release number
    manual: bool = False


class ReleaseOutcome(Payload):
    message_id: str | None  # the batch made (or still open), None when nothing was due
    amount: Decimal
    netted: Decimal
    rolled_over: Decimal  # payable left for the next release (below the minimum)
    note: str
    # Payable left for a later release because its funding waits, by reason (``domain.payouts.funding``:
    # AWAITING_COLLECTION, EXPOSURE_LIMIT, BANK_FLOOR); empty in outcomes recorded before funding existed.
    waiting: dict[str, Decimal] = Field(default_factory=dict)


class PayoutPlanRequest(Payload):
    payee: str = Field(pattern=PAYEE)
    currency: str = Field(pattern=CURRENCY)
    after: datetime


class PayoutPlan(Payload):
    frequency: str
    release_at: datetime


class BatchRef(Payload):
    message_id: str


class BatchStatus(Payload):
    message_id: str
    state: PayoutBatchState
    status_code: str | None = None
    reason: str | None = None
    amount: Decimal | None = None  # in the workflow's currency; None in statuses recorded before it was added


class PayoutView(Payload):
    payee: str
    currency: str
    frequency: str | None
    next_release_at: datetime | None
    open_batch: str | None
    releases: int
    last_batch: BatchStatus | None
    last_note: str | None
    needs_attention: bool
    reason: str | None


class ReleaseNow(Payload):
    requested_by: str = "ops"


class PayoutSweep(Payload):
    """Start the payout workflow of every payee and currency with a queued payable (idempotent)."""

    poll_seconds: int = Field(default=60, ge=1)


class PayoutSweepResult(Payload):
    workflows: list[str]
