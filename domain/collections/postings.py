"""The ledger entries of money in (``money-in.md`` §6), in minor units; keys derive from the statement file
or entry (``bank-receipts:<file>``, ``bank-entry:<entry>:<line>``), so a retried import books nothing twice.

* a receipt matched to a demand partner (all of a file's receipts in one entry, summed per account: the
  lines are in ``bank_matches``): Dr bank / Cr its receivable (what was applied to invoices) and
  Cr its credit balance (the excess); the receivable going down restores its available credit;
* unmatched: Dr bank / Cr suspense (a debit: the other way round); ops' assignment later moves it:
  Dr suspense / Cr receivable, credit balance;
* a payout returned by the beneficiary's bank: Dr bank / Cr the payee's payable (owed again);
* the balance before the first statement: Dr bank / Cr opening balance (equity).
"""

from __future__ import annotations

from domain.collections.matching import Match, Outcome
from domain.collections.statements import Direction
from domain.ledger.accounts import AccountKind, demand_partner, platform
from domain.ledger.entries import JournalEntry, Posting

BANK = platform(AccountKind.BANK)
SUSPENSE = platform(AccountKind.SUSPENSE)
OPENING_BALANCE = platform(AccountKind.OPENING_BALANCE)
KEY_PREFIX = "bank-"  # every entry booked from a statement (not the payouts' own ``:paid``)


def entry_key(bank_entry_key: int, line: int) -> str:
    return f"{KEY_PREFIX}entry:{bank_entry_key}:{line}"


def receipts_key(statement_file_key: int) -> str:
    """The one entry of a statement file's receipts (each file is booked once; its lines are in
    ``bank_matches``)."""
    return f"{KEY_PREFIX}receipts:{statement_file_key}"


def assignment_key(bank_entry_key: int, line: int) -> str:
    return f"{KEY_PREFIX}assign:{bank_entry_key}:{line}"


def return_key(message_id: str) -> str:
    return f"{KEY_PREFIX}return:{message_id}"


def opening_key(iban: str) -> str:
    return f"{KEY_PREFIX}opening:{iban}"


def _to_partner(partner_id: str, currency: str, allocated_minor: int, excess_minor: int) -> list[Posting]:
    postings = []
    if allocated_minor:
        postings.append(Posting(demand_partner(partner_id, AccountKind.RECEIVABLE), currency, -allocated_minor))
    if excess_minor:
        postings.append(Posting(demand_partner(partner_id, AccountKind.CREDIT_BALANCE), currency, -excess_minor))
    return postings


def receipt_postings(match: Match, direction: Direction, currency: str) -> tuple[Posting, ...]:
    """What a partner payment or an unmatched line books (payouts and collections book their own entries);
    a statement's receipts are booked together, as one entry (``receipts_key``)."""
    amount = match.amount_minor
    if match.outcome == Outcome.PARTNER:
        assert match.partner_id is not None
        assert direction == Direction.CREDIT
        assert match.allocated_minor + match.excess_minor == amount, "a payment is applied in full"
        return (
            Posting(BANK, currency, amount),
            *_to_partner(match.partner_id, currency, match.allocated_minor, match.excess_minor),
        )
    assert match.outcome == Outcome.SUSPENSE, f"{match.outcome} books its own entry"
    signed = amount if direction == Direction.CREDIT else -amount
    return (Posting(BANK, currency, signed), Posting(SUSPENSE, currency, -signed))


def assignment_entry(key: str, partner_id: str, currency: str, allocated_minor: int, excess_minor: int) -> JournalEntry:
    """Ops assign a receipt in suspense to a partner: applied to its invoices, the rest its credit balance."""
    postings = [Posting(SUSPENSE, currency, allocated_minor + excess_minor)]
    return JournalEntry(key, (*postings, *_to_partner(partner_id, currency, allocated_minor, excess_minor)))


def payout_return_entry(key: str, payable_account: str, currency: str, amount_minor: int) -> JournalEntry:
    return JournalEntry(key, (Posting(BANK, currency, amount_minor), Posting(payable_account, currency, -amount_minor)))


def opening_entry(key: str, currency: str, amount_minor: int) -> JournalEntry:
    """The bank balance before the first statement (negative: an overdraft)."""
    return JournalEntry(key, (Posting(BANK, currency, amount_minor), Posting(OPENING_BALANCE, currency, -amount_minor)))
