"""Stage 9: payout batches. Each step is one transaction (or one call to the rail) and idempotent:

1. ``release_payout``: net what the payee owes, leave payable what its funding does not release yet
   (``domain.payouts.funding``: pay-when-paid items whose invoice is unpaid, guaranteed ones beyond the
   exposure limit, anything beyond the bank account's floor), and if what is left reaches the minimum,
   create the batch under the workflow's release key: the pain.001 (validated), the items it carries, and
   the entry payable -> cash in transit. Retried, it returns the same batch; while a batch is in flight,
   no other. What waits is released by a later release once its condition clears.
2. ``send_payout``: hand the file to the rail (idempotent by message id) and mark the batch SENT.
3. ``check_payout``: read the rail's pain.002; when final, book cash in transit -> bank (PAID) or back to
   the payable (REJECTED, items back in the queue), once, keyed by the batch.

A crash between any two steps repeats at most the step that was running, which changes nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from activities.clock import utcnow
from activities.errors import refusal
from adapters.iso20022 import CreditTransfer, PaymentMessageInvalid, credit_transfer_file
from adapters.payout_rails import PayoutRail
from domain.errors import DomainError
from domain.money import from_minor, to_minor
from domain.payouts.bank import AddressMissing, BankAccount, bank_account, payable_account
from domain.payouts.batches import (
    Payee,
    PayeeKind,
    PayoutRefused,
    instruction_entry,
    netting_entry,
    paid_entry,
    plan_payout,
    returned_entry,
)
from domain.payouts.funding import describe_waiting
from domain.payouts.schedule import next_release
from domain.sessions.authorisation import in_force
from domain.settlement.contracts import ContractTermsInvalid, payout_schedule
from messages.payouts import (
    BatchRef,
    BatchStatus,
    PayoutBatchState,
    PayoutInput,
    PayoutPlan,
    PayoutPlanRequest,
    PayoutSweep,
    PayoutSweepResult,
    ReleaseOutcome,
    ReleaseRequest,
)
from messages.workflow_ids import payout_workflow_id
from persistence import ledger, payout_funding, payouts, repositories
from persistence.parties import postal_address
from persistence.tables import ContractRow, CpoRow, DemandPartnerRow, PayoutBatchRow

PAYOUT_WORKFLOW = "PayoutWorkflow"
BANK_DETAILS_INVALID = "BankDetailsInvalid"
PAYOUT_REFUSED = "PayoutRefused"
PAYMENT_MESSAGE_INVALID = "PaymentMessageInvalid"
ADDRESS_MISSING = AddressMissing.__name__
# Refusals that stop a payee's payouts until ops fix the cause (bank details, postal address, contract, a
# currency with no debtor account); the workflow flags itself and tries again at the next release.
PAYOUT_REFUSALS = (
    BANK_DETAILS_INVALID,
    ADDRESS_MISSING,
    PAYOUT_REFUSED,
    PAYMENT_MESSAGE_INVALID,
    "ContractTermsInvalid",
)
_CONTRACT_KIND = {PayeeKind.CPO: "CPO", PayeeKind.DEMAND_PARTNER: "DEMAND_PARTNER"}


def _message_id(release_key: str, now: datetime) -> str:
    """pain.001 MsgId/EndToEndId (35 characters at most): the date and a digest of the release key."""
    return f"NCP-{now:%Y%m%d}-{hashlib.sha256(release_key.encode()).hexdigest()[:12].upper()}"


def _refused(error: DomainError | PaymentMessageInvalid) -> Exception:
    if isinstance(error, PaymentMessageInvalid):
        return refusal(PayoutRefused(str(error)), PAYMENT_MESSAGE_INVALID)
    return refusal(error, type(error).__name__)


def batch_status(row: PayoutBatchRow) -> BatchStatus:
    return BatchStatus(
        message_id=row.message_id,
        state=PayoutBatchState(row.state),
        status_code=row.status_code,
        reason=row.reason,
        amount=from_minor(row.amount_minor, row.currency),
    )


class PayoutActivities:
    def __init__(
        self,
        writes: sessionmaker[Session],
        *,
        rail: PayoutRail,
        debtor_accounts: Mapping[str, BankAccount],
        bank_floors: Mapping[str, Decimal] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._writes = writes
        self._rail = rail
        self._debtors = dict(debtor_accounts)
        # No payout takes the bank account of a currency below its floor; a currency without one has none.
        self._floors = dict(bank_floors or {})
        self._now = clock

    @staticmethod
    def _terms(db: Session, payee: Payee, at: datetime) -> dict[str, Any]:
        contract = in_force(repositories.contract_versions(db, _CONTRACT_KIND[payee.kind], payee.id), at)
        if contract is None:
            raise PayoutRefused(f"{payee} has no contract in force")
        return db.get_one(ContractRow, contract.key).terms

    @activity.defn
    def plan_payout_release(self, request: PayoutPlanRequest) -> PayoutPlan:
        """When the payee's next release is due, by the contract in force (read each time: a new contract
        version applies from the next release)."""
        try:
            with self._writes() as db:
                schedule = payout_schedule(self._terms(db, Payee.parse(request.payee), request.after))
        except (PayoutRefused, ContractTermsInvalid) as refused:
            raise _refused(refused) from refused
        return PayoutPlan(frequency=schedule.frequency.value, release_at=next_release(schedule, request.after))

    @activity.defn
    def release_payout(self, request: ReleaseRequest) -> ReleaseOutcome:
        payee = Payee.parse(request.payee)
        try:
            with self._writes.begin() as db:
                return self._release(db, payee, request)
        except (DomainError, PaymentMessageInvalid) as refused:
            raise _refused(refused) from refused

    def _release(self, db: Session, payee: Payee, request: ReleaseRequest) -> ReleaseOutcome:
        currency = request.currency
        existing = payouts.batch_by_idempotency_key(db, request.release_key) or payouts.open_batch(db, payee, currency)
        if existing is not None:
            return self._outcome(existing, "batch already created; resuming it")
        now = self._now()
        terms = self._terms(db, payee, now)
        minimum = payout_schedule(terms).minimum_for(currency)
        floor = self._floors.get(currency)
        if floor is not None:
            payout_funding.lock_bank(db, currency)
        funding = payout_funding.funding_plan(db, payee, currency, payout_funding.payee_funding(payee, terms), floor)
        waits = describe_waiting(funding.waiting, currency)
        receivable = payee.receivable_account
        plan = plan_payout(
            currency,
            payable_balance=ledger.account_balance(db, payee.payable_account, currency),
            receivable_balance=0 if receivable is None else ledger.account_balance(db, receivable, currency),
            minimum_minor=to_minor(minimum, currency),
            held_minor=funding.waiting_minor,
        )
        waiting = {reason.value: from_minor(amount, currency) for reason, amount in funding.waiting.items()}
        if plan.netted_minor:
            ledger.post(
                db, netting_entry(f"{request.release_key}:netting", payee, currency, plan.netted_minor), now=now
            )
        if plan.amount_minor == 0:
            note = (
                f"{from_minor(plan.rolled_over_minor, currency)} {currency} is below the minimum of "
                f"{minimum} {currency}: rolled over"
                if plan.rolled_over_minor
                else f"nothing to pay; {from_minor(plan.netted_minor, currency)} {currency} netted"
                if plan.netted_minor or not waits
                else "nothing to pay now"
            )
            return ReleaseOutcome(
                message_id=None,
                amount=from_minor(0, currency),
                netted=from_minor(plan.netted_minor, currency),
                rolled_over=from_minor(plan.rolled_over_minor, currency),
                note="; ".join(filter(None, (note, waits))),
                waiting=waiting,
            )
        creditor = self._creditor(db, payee)
        debtor = self._debtors.get(currency)
        if debtor is None:
            raise PayoutRefused(f"the platform has no {currency} bank account to pay from")
        message_id = _message_id(request.release_key, now)
        document = credit_transfer_file(
            CreditTransfer(
                message_id=message_id,
                created_at=now,
                execution_date=now.date(),
                debtor=debtor,
                creditor=creditor,
                currency=currency,
                amount=from_minor(plan.amount_minor, currency),
                remittance=f"NetworkCore payout {message_id}",
            )
        )
        row = PayoutBatchRow(
            idempotency_key=request.release_key,
            message_id=message_id,
            payee=str(payee),
            currency=currency,
            amount_minor=plan.amount_minor,
            netted_minor=plan.netted_minor,
            iban=creditor.iban,
            rail=self._rail.name,
            state=PayoutBatchState.INSTRUCTED.value,
            document=document.decode(),
            created_at=now,
        )
        db.add(row)
        db.flush()
        items = payouts.claim_items(db, row, funding.released if funding.waiting else None)
        ledger.post(
            db, instruction_entry(f"{request.release_key}:instructed", payee, currency, plan.amount_minor), now=now
        )
        outcome = self._outcome(row, "; ".join(filter(None, (f"{items} session(s) in this batch", waits))))
        return outcome.model_copy(update={"waiting": waiting})

    def _creditor(self, db: Session, payee: Payee) -> BankAccount:
        party: CpoRow | DemandPartnerRow = (
            db.get_one(CpoRow, payee.id) if payee.kind == PayeeKind.CPO else db.get_one(DemandPartnerRow, payee.id)
        )
        return payable_account(
            bank_account(party.legal_entity, party.country, party.iban, party.bic, postal_address(party))
        )

    @staticmethod
    def _outcome(row: PayoutBatchRow, note: str) -> ReleaseOutcome:
        return ReleaseOutcome(
            message_id=row.message_id,
            amount=from_minor(row.amount_minor, row.currency),
            netted=from_minor(row.netted_minor, row.currency),
            rolled_over=from_minor(0, row.currency),
            note=note,
        )

    @activity.defn
    def send_payout(self, ref: BatchRef) -> BatchStatus:
        with self._writes() as db:
            row = payouts.batch(db, ref.message_id)
            if row.state != PayoutBatchState.INSTRUCTED:
                return batch_status(row)
            document = row.document.encode()
        self._rail.submit(ref.message_id, document, now=self._now())
        with self._writes.begin() as db:
            row = payouts.batch(db, ref.message_id, for_update=True)
            if row.state == PayoutBatchState.INSTRUCTED:
                row.state = PayoutBatchState.SENT.value
                row.sent_at = self._now()
            return batch_status(row)

    @activity.defn
    def check_payout(self, ref: BatchRef) -> BatchStatus:
        """The rail's answer so far; a final one is booked (once) before it is returned."""
        with self._writes() as db:
            row = payouts.batch(db, ref.message_id)
            if row.state not in (PayoutBatchState.INSTRUCTED, PayoutBatchState.SENT):
                return batch_status(row)
        now = self._now()
        reported = self._rail.status(ref.message_id, now=now)
        if reported is None:
            return batch_status(row)
        report, document = reported
        if not (report.status.is_paid or report.status.is_rejected):
            return batch_status(row).model_copy(update={"status_code": report.status})
        with self._writes.begin() as db:
            row = payouts.batch(db, ref.message_id, for_update=True)
            if row.state in (PayoutBatchState.PAID, PayoutBatchState.REJECTED):
                return batch_status(row)
            payee = Payee.parse(row.payee)
            if report.status.is_paid:
                ledger.post(db, paid_entry(f"{row.idempotency_key}:paid", row.currency, row.amount_minor), now=now)
                row.state = PayoutBatchState.PAID.value
            else:
                entry = returned_entry(f"{row.idempotency_key}:returned", payee, row.currency, row.amount_minor)
                ledger.post(db, entry, now=now)
                payouts.release_items(db, row)
                row.state = PayoutBatchState.REJECTED.value
                row.reason = f"{report.reason_code or 'RJCT'}: {report.reason or 'rejected by the bank'}"
            row.status_code = report.status.value
            row.status_report = document.decode()
            row.settled_at = now
            return batch_status(row)


async def start_payout_workflows(
    client: Client, wanted: list[tuple[Payee, str]], *, task_queue: str, poll_seconds: int
) -> list[str]:
    """The payout workflow of each (payee, currency), started unless it runs already; their ids."""
    started: list[str] = []
    for payee, currency in wanted:
        handle: WorkflowHandle[object, object] = await client.start_workflow(
            PAYOUT_WORKFLOW,
            PayoutInput(payee=str(payee), currency=currency, poll_seconds=poll_seconds, patched_from_start=True),
            id=payout_workflow_id(str(payee), currency),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Payouts to {payee} in {currency}",
        )
        started.append(handle.id)
    return started


class PayoutSweepActivities:
    """Starts the payout workflow of each payee and currency with queued payables (an existing one is
    left alone), so a new payee is paid without a per-session signal."""

    def __init__(self, writes: sessionmaker[Session], client: Client, *, task_queue: str) -> None:
        self._writes = writes
        self._client = client
        self._task_queue = task_queue

    @activity.defn
    async def start_payout_workflows(self, sweep: PayoutSweep) -> PayoutSweepResult:
        with self._writes() as db:
            wanted = payouts.payees_with_items(db)
        return PayoutSweepResult(
            workflows=await start_payout_workflows(
                self._client, wanted, task_queue=self._task_queue, poll_seconds=sweep.poll_seconds
            )
        )
