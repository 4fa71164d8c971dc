"""Payouts reconciled with the ledger, from two records kept apart: the payout queue and batches on one
side, the journal on the other.

For every payee and currency: paid + pending + payable = earned - netted, where

* earned is what the payee's queue items add up to, and must equal what settlement entries (and their
  reversals) and the VAT entries of revenue-share documents credited to its payable;
* netted is what netting entries set off against what the payee owed us;
* paid and pending are its PAID and in-flight batches (the batches table);
* payable is the ledger balance of its payable account.

Every batch has its instruction entry, a PAID one its paid entry, a REJECTED one its returned entry (or,
returned by the beneficiary's bank after it was paid, its paid entry and the statement's return) and no
items; cash in transit holds exactly the batches in flight and the bank account has paid out exactly
the PAID ones (and the returned ones, whose money came back by a statement entry of its own).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.collections.postings import KEY_PREFIX, return_key
from domain.payouts.batches import BANK, CASH_IN_TRANSIT, Payee
from domain.settlement.revenue_share import revenue_share_vat_key
from persistence import ledger
from persistence.tables import (
    OPEN_PAYOUT_STATES,
    LedgerAccountRow,
    LedgerEntryRow,
    LedgerPostingRow,
    PayoutBatchRow,
    PayoutItemRow,
)

PAID = "PAID"
REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class PayeePosition:
    payee: str
    currency: str
    earned_minor: int
    netted_minor: int
    paid_minor: int
    pending_minor: int
    payable_minor: int  # what we still owe (the payable's balance, sign turned)

    @property
    def reconciles(self) -> bool:
        return self.paid_minor + self.pending_minor + self.payable_minor == self.earned_minor - self.netted_minor


def _credits_by_entry_kind(db: Session, key_pattern: str) -> dict[tuple[str, str], int]:
    """What entries whose key matches ``key_pattern`` booked to payable accounts, by (account, currency)."""
    rows = db.execute(
        select(LedgerAccountRow.code, LedgerPostingRow.currency, func.sum(LedgerPostingRow.amount_minor))
        .join(LedgerAccountRow, LedgerAccountRow.key == LedgerPostingRow.account_key)
        .join(LedgerEntryRow, LedgerEntryRow.key == LedgerPostingRow.entry_key)
        .where(LedgerEntryRow.idempotency_key.like(key_pattern), LedgerAccountRow.code.like("%payable"))
        .group_by(LedgerAccountRow.code, LedgerPostingRow.currency)
    )
    return {(code, currency): int(total) for code, currency, total in rows}


def payee_positions(db: Session, *, payee: Payee | None = None) -> list[PayeePosition]:
    """Every payee's position per currency, or one payee's."""
    earned_query = select(PayoutItemRow.payee, PayoutItemRow.currency, func.sum(PayoutItemRow.amount_minor))
    batch_query = select(
        PayoutBatchRow.payee, PayoutBatchRow.currency, PayoutBatchRow.state, func.sum(PayoutBatchRow.amount_minor)
    )
    if payee is not None:
        earned_query = earned_query.where(PayoutItemRow.payee == str(payee))
        batch_query = batch_query.where(PayoutBatchRow.payee == str(payee))
    earned: dict[tuple[str, str], int] = defaultdict(int)
    for who, currency, total in db.execute(earned_query.group_by(PayoutItemRow.payee, PayoutItemRow.currency)):
        earned[(who, currency)] = int(total)
    paid: dict[tuple[str, str], int] = defaultdict(int)
    pending: dict[tuple[str, str], int] = defaultdict(int)
    for who, currency, state, total in db.execute(
        batch_query.group_by(PayoutBatchRow.payee, PayoutBatchRow.currency, PayoutBatchRow.state)
    ):
        if state == PAID:
            paid[(who, currency)] += int(total)
        elif state in OPEN_PAYOUT_STATES:
            pending[(who, currency)] += int(total)
    netting = _credits_by_entry_kind(db, "%:netting")
    positions = []
    for who, currency in sorted(set(earned) | set(paid) | set(pending)):
        account = Payee.parse(who).payable_account
        positions.append(
            PayeePosition(
                payee=who,
                currency=currency,
                earned_minor=earned[(who, currency)],
                netted_minor=netting.get((account, currency), 0),
                paid_minor=paid[(who, currency)],
                pending_minor=pending[(who, currency)],
                payable_minor=-ledger.account_balance(db, account, currency),
            )
        )
    return positions


def payout_problems(db: Session) -> list[str]:
    problems = []
    # Settlements, corrections' settlements and their reversals: session-<id>:settlement[-g][:reversed];
    # and the VAT of revenue-share documents (revenue_share_vat_key).
    settled: dict[tuple[str, str], int] = defaultdict(int)
    for pattern in ("session-%:settlement%", revenue_share_vat_key("%")):
        for account_currency, credited in _credits_by_entry_kind(db, pattern).items():
            settled[account_currency] += credited
    for position in payee_positions(db):
        account = Payee.parse(position.payee).payable_account
        booked = -settled.get((account, position.currency), 0)
        if booked != position.earned_minor:
            problems.append(
                f"{position.payee} {position.currency}: payout queue holds {position.earned_minor}, "
                f"settlements credited {booked}"
            )
        if not position.reconciles:
            problems.append(
                f"{position.payee} {position.currency}: paid {position.paid_minor} + pending {position.pending_minor}"
                f" + payable {position.payable_minor} != earned {position.earned_minor} - netted "
                f"{position.netted_minor}"
            )
    in_transit: dict[str, int] = defaultdict(int)
    paid_out: dict[str, int] = defaultdict(int)
    released = db.execute(
        select(PayoutBatchRow.message_id, func.count(PayoutItemRow.key))
        .join(PayoutItemRow, PayoutItemRow.batch_key == PayoutBatchRow.key)
        .where(PayoutBatchRow.state == REJECTED)
        .group_by(PayoutBatchRow.message_id)
    ).all()
    problems += [f"batch {message_id} was rejected but still carries {n} item(s)" for message_id, n in released]
    for batch in db.scalars(select(PayoutBatchRow).order_by(PayoutBatchRow.key)):
        expected = {"instructed": batch.amount_minor}
        if batch.state == PAID:
            expected["paid"] = batch.amount_minor
            paid_out[batch.currency] += batch.amount_minor
        elif batch.state == REJECTED and ledger.entry_postings(db, return_key(batch.message_id)) is not None:
            # Paid, then returned by the beneficiary's bank (a bank statement booked the return).
            expected["paid"] = batch.amount_minor
            paid_out[batch.currency] += batch.amount_minor
        elif batch.state == REJECTED:
            expected["returned"] = batch.amount_minor
        else:
            in_transit[batch.currency] += batch.amount_minor
        for step in ("instructed", "paid", "returned"):
            postings = ledger.entry_postings(db, f"{batch.idempotency_key}:{step}")
            moved = None if postings is None else max(abs(amount) for _, _, amount in postings)
            if moved != expected.get(step):
                problems.append(
                    f"batch {batch.message_id} ({batch.state}): {step} entry moved {moved}, expected "
                    f"{expected.get(step)}"
                )
    for currency in sorted(
        set(in_transit) | set(paid_out) | _currencies_of(db, CASH_IN_TRANSIT) | _currencies_of(db, BANK)
    ):
        transit = -ledger.account_balance(db, CASH_IN_TRANSIT, currency)
        if transit != in_transit[currency]:
            problems.append(f"cash in transit is {transit} {currency}, batches in flight {in_transit[currency]}")
        # What payouts took from the bank account: statements' own movements (receipts, returns) aside.
        bank = -ledger.account_balance(db, BANK, currency) + _statement_movements(db, currency)
        if bank != paid_out[currency]:
            problems.append(f"the bank account paid out {bank} {currency}, PAID batches {paid_out[currency]}")
    return problems


def _statement_movements(db: Session, currency: str) -> int:
    """What entries booked from bank statements moved on the bank account (``domain.collections.postings``)."""
    return int(
        db.scalar(
            select(func.coalesce(func.sum(LedgerPostingRow.amount_minor), 0))
            .join(LedgerAccountRow, LedgerAccountRow.key == LedgerPostingRow.account_key)
            .join(LedgerEntryRow, LedgerEntryRow.key == LedgerPostingRow.entry_key)
            .where(
                LedgerAccountRow.code == BANK,
                LedgerAccountRow.currency == currency,
                LedgerEntryRow.idempotency_key.startswith(KEY_PREFIX),
            )
        )
        or 0
    )


def _currencies_of(db: Session, code: str) -> set[str]:
    return set(db.scalars(select(LedgerAccountRow.currency).where(LedgerAccountRow.code == code)))
