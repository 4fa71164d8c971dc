"""How an open item is paid: what every invoice and statement the platform issues to a demand partner
states besides its amounts. Its due date (issue date plus the contract's payment terms), the account to pay
into (ours, in the invoice's currency) and the payment reference, an ISO 11649 RF derived from the document
number (``domain.invoicing.creditor_reference``), which the bank statement brings back.

Credit notes are no open items to collect and self-billed invoices are settled by our payout to the CPO:
neither carries payment instructions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.invoicing.creditor_reference import creditor_reference
from domain.payouts.bank import BankAccount

# Payment terms of a demand partner's contract that states none (``invoicing.payment_terms_days``).
DEFAULT_PAYMENT_TERMS_DAYS = 14
MAX_PAYMENT_TERMS_DAYS = 120


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    due_date: date
    reference: str  # ISO 11649, compact ("RF18NC000123")
    account: BankAccount | None  # None: no account of ours in the invoice's currency

    def to_json(self) -> dict[str, Any]:
        account = self.account
        return {
            "due_date": self.due_date.isoformat(),
            "reference": self.reference,
            "account": None
            if account is None
            else {"holder": account.holder, "iban": account.iban, "bic": account.bic},
        }


def payment_instructions(
    number: str, issue_date: date, terms_days: int, currency: str, accounts: Mapping[str, BankAccount]
) -> PaymentInstructions:
    """Due ``terms_days`` after the issue date, into our account for ``currency``, quoting the RF of ``number``."""
    assert 0 <= terms_days <= MAX_PAYMENT_TERMS_DAYS
    return PaymentInstructions(
        due_date=issue_date + timedelta(days=terms_days),
        reference=creditor_reference(number),
        account=accounts.get(currency),
    )
