"""Payout batches: what a payee is owed in one currency, netted against what it owes, and the entries
that move the money payable -> cash in transit -> paid (or back to payable when the rail rejects it).

A payee is a CPO (paid its ``payable``) or a demand partner (paid its ``revenue_share_payable``, netted
against its ``receivable``). Netting and payouts are per currency: nothing is converted here.
Amounts are minor units; ledger signs as in ``domain.ledger.entries`` (a debit is positive).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import DomainError
from domain.ledger.accounts import AccountKind, platform
from domain.ledger.entries import JournalEntry, Posting


class PayoutRefused(DomainError):
    code = "PAYOUT_REFUSED"


class PayeeKind(StrEnum):
    CPO = "cpo"
    DEMAND_PARTNER = "dp"


@dataclass(frozen=True, slots=True)
class Payee:
    kind: PayeeKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"

    @classmethod
    def parse(cls, party: str) -> Payee:
        kind, _, payee_id = party.partition(":")
        try:
            return cls(PayeeKind(kind), payee_id)
        except ValueError as error:
            raise PayoutRefused(f"{party!r} is not a payee (cpo:<id> or dp:<id>)") from error

    @property
    def payable_account(self) -> str:
        kind = AccountKind.PAYABLE if self.kind == PayeeKind.CPO else AccountKind.REVENUE_SHARE_PAYABLE
        return f"{self}:{kind.value}"

    @property
    def receivable_account(self) -> str | None:
        """Where what the payee owes us is booked (a CPO's debts show as a negative payable instead)."""
        return f"{self}:{AccountKind.RECEIVABLE.value}" if self.kind == PayeeKind.DEMAND_PARTNER else None


CASH_IN_TRANSIT = platform(AccountKind.CASH_IN_TRANSIT)
BANK = platform(AccountKind.BANK)


@dataclass(frozen=True, slots=True)
class PayoutPlan:
    currency: str
    payable_minor: int  # what we owed the payee before netting (never negative)
    netted_minor: int  # set off against what the payee owes us
    amount_minor: int  # to pay now; 0 when below the minimum (it rolls over)
    minimum_minor: int
    held_minor: int = 0  # left payable because its funding waits (``domain.payouts.funding``)

    @property
    def rolled_over_minor(self) -> int:
        return self.payable_minor - self.netted_minor - self.held_minor - self.amount_minor


def plan_payout(
    currency: str, *, payable_balance: int, receivable_balance: int, minimum_minor: int, held_minor: int = 0
) -> PayoutPlan:
    """Net first, then pay what is left, less what waits for its funding (``held_minor``), if it reaches
    the minimum.

    ``payable_balance`` and ``receivable_balance`` are ledger balances: a payable we owe is negative, a
    receivable owed to us positive. A payee that owes us more than we owe it is paid nothing.
    """
    assert minimum_minor >= 0, "a minimum is never negative"
    assert held_minor >= 0, "what waits is never negative"
    payable = max(-payable_balance, 0)
    netted = min(payable, max(receivable_balance, 0))
    held = min(payable - netted, held_minor)
    left = payable - netted - held
    amount = left if left > 0 and left >= minimum_minor else 0
    return PayoutPlan(currency, payable, netted, amount, minimum_minor, held)


def netting_entry(key: str, payee: Payee, currency: str, netted_minor: int) -> JournalEntry:
    """Settle what the payee owes us out of what we owe it."""
    receivable = payee.receivable_account
    assert receivable is not None, "only a demand partner's receivable is netted"
    assert netted_minor > 0, "an entry has no zero postings"
    return JournalEntry(
        key, (Posting(payee.payable_account, currency, netted_minor), Posting(receivable, currency, -netted_minor))
    )


def instruction_entry(key: str, payee: Payee, currency: str, amount_minor: int) -> JournalEntry:
    """The payout leaves the payable when its instruction is created: it is cash in transit until the rail
    confirms or rejects it."""
    return JournalEntry(
        key, (Posting(payee.payable_account, currency, amount_minor), Posting(CASH_IN_TRANSIT, currency, -amount_minor))
    )


def paid_entry(key: str, currency: str, amount_minor: int) -> JournalEntry:
    """The rail confirmed: the money left the platform's bank account."""
    return JournalEntry(key, (Posting(CASH_IN_TRANSIT, currency, amount_minor), Posting(BANK, currency, -amount_minor)))


def returned_entry(key: str, payee: Payee, currency: str, amount_minor: int) -> JournalEntry:
    """The rail rejected: the money is owed to the payee again and the next release retries it."""
    return JournalEntry(
        key, (Posting(CASH_IN_TRANSIT, currency, amount_minor), Posting(payee.payable_account, currency, -amount_minor))
    )
