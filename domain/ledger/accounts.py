"""The chart of accounts: one account per party, kind and currency, named by a readable code.

Codes are ``<party>:<kind>`` with the party as ``dp:<id>``, ``cpo:<id>`` or ``platform``; VAT payable
and VAT recoverable add the country (``platform:vat_payable:DE``). The currency is the account's other half: the
ledger keeps one book per currency (TigerBeetle's rule), and conversions go through FX trading accounts.
Sign convention as in ``entries``: a debit is positive, so what a party owes us is a positive balance
and what we owe a party is negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PLATFORM = "platform"


class AccountKind(StrEnum):
    RECEIVABLE = "receivable"  # a demand partner owes us for sessions
    CREDIT_HOLD = "credit_hold"  # a demand partner's credit reserved by pending holds (two-phase)
    REVENUE_SHARE_PAYABLE = "revenue_share_payable"  # we owe a demand partner its share
    PAYABLE = "payable"  # we owe a CPO for its charging
    COMMISSION = "commission"  # the platform's revenue
    VAT_PAYABLE = "vat_payable"  # output VAT owed to a country's tax authority
    VAT_RECOVERABLE = "vat_recoverable"  # input VAT the platform paid and reclaims in that country
    FX_TRADING = "fx_trading"  # one per currency: the two sides of every conversion
    FX_RESULT = "fx_result"  # executed-rate differences against the reference rate
    CASH_IN_TRANSIT = "cash_in_transit"  # payouts instructed, not yet confirmed by the rail
    BANK = "bank"  # the platform's bank account in the currency: mirrors the bank's booked statements
    SUSPENSE = "suspense"  # money on the bank account not yet assigned to anyone (unmatched receipts)
    CREDIT_BALANCE = "credit_balance"  # a demand partner's over-payments, ours to refund or set off
    OPENING_BALANCE = "opening_balance"  # equity: the bank balance before the first imported statement


@dataclass(frozen=True, slots=True)
class AccountCode:
    party: str  # "dp:<id>", "cpo:<id>" or "platform"
    kind: AccountKind
    qualifier: str | None = None  # the country of a VAT account

    def __str__(self) -> str:
        return ":".join(p for p in (self.party, self.kind.value, self.qualifier) if p)

    @classmethod
    def parse(cls, code: str) -> AccountCode:
        parts = code.split(":")
        if parts[0] == PLATFORM:
            party, rest = PLATFORM, parts[1:]
        else:
            party, rest = ":".join(parts[:2]), parts[2:]
        return cls(party, AccountKind(rest[0]), rest[1] if len(rest) > 1 else None)


def demand_partner(partner_id: str, kind: AccountKind) -> str:
    return str(AccountCode(f"dp:{partner_id}", kind))


def cpo(cpo_id: str, kind: AccountKind) -> str:
    return str(AccountCode(f"cpo:{cpo_id}", kind))


def platform(kind: AccountKind, qualifier: str | None = None) -> str:
    return str(AccountCode(PLATFORM, kind, qualifier))


def vat_payable(country: str) -> str:
    return platform(AccountKind.VAT_PAYABLE, country.upper())


def vat_recoverable(country: str) -> str:
    return platform(AccountKind.VAT_RECOVERABLE, country.upper())
