"""Stage 8, pure: split what a session costs between the CPO, the platform, the demand partner and the
tax authority, and the one balanced journal entry that books it.

The demand partner pays the official price (VAT included). In the tariff currency that gross amount
splits into VAT payable (as the tariff states it, until invoicing decides it), the CPO's payable (the net
price minus the platform's commission), the platform's commission and the demand partner's revenue share
(carved out of the commission). When the partner is billed in another currency its receivable is booked
in that currency and both sides meet in the FX trading accounts, one per currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import DomainError
from domain.ledger import accounts
from domain.ledger.accounts import AccountKind
from domain.ledger.entries import JournalEntry, Posting
from domain.money import allocate, quantize, to_minor
from domain.settlement.contracts import CommissionTerms, RevenueShareTerms, ShareBasis

HUNDRED = Decimal(100)


def settlement_key(session_id: str) -> str:
    """The idempotency key of a session's stage-8 entry: workflow id + stage."""
    return f"session-{session_id}:settlement"


class NegativeVat(DomainError):
    code = "NEGATIVE_VAT"


@dataclass(frozen=True, slots=True)
class SessionCharge:
    """What the session costs in the tariff currency, in minor units."""

    currency: str
    net_minor: int
    vat_minor: int

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.vat_minor


def session_charge(currency: str, total_excl_vat: Decimal, total_incl_vat: Decimal) -> SessionCharge:
    """The ledger's rounding point: the rated session totals, each rounded once to the minor unit."""
    net = to_minor(quantize(total_excl_vat, currency), currency)
    gross = to_minor(quantize(total_incl_vat, currency), currency)
    if gross < net:
        raise NegativeVat(f"the price including VAT ({total_incl_vat}) is below the price without ({total_excl_vat})")
    return SessionCharge(currency, net, gross - net)


@dataclass(frozen=True, slots=True)
class RevenueSplit:
    currency: str
    vat_minor: int
    cpo_minor: int  # the CPO's payable: net price minus commission
    platform_minor: int  # the commission the platform keeps after the partner's share
    demand_partner_minor: int  # the partner's revenue share

    @property
    def commission_minor(self) -> int:
        return self.platform_minor + self.demand_partner_minor

    @property
    def gross_minor(self) -> int:
        return self.vat_minor + self.cpo_minor + self.platform_minor + self.demand_partner_minor


def _percentage(total_minor: int, percent: Decimal) -> int:
    """``percent`` of ``total_minor`` as the larger-remainder part of a two-way split."""
    return allocate(total_minor, [HUNDRED - percent, percent])[1]


def commission_minor(net_minor: int, currency: str, terms: CommissionTerms) -> int:
    """The platform's commission from the CPO: a percentage of the net price, clamped to the contract's
    per-session minimum and maximum, and never more than the net price itself."""
    commission = _percentage(net_minor, terms.percent)
    if terms.minimum is not None:
        commission = max(commission, to_minor(quantize(terms.minimum, currency), currency))
    if terms.maximum is not None:
        commission = min(commission, to_minor(quantize(terms.maximum, currency), currency))
    return min(commission, net_minor)


def split_revenue(charge: SessionCharge, commission: CommissionTerms, share: RevenueShareTerms) -> RevenueSplit:
    """Parts that sum exactly to the gross. The partner's share comes out of the commission: the platform
    never pays out more than it earned on the session (a PRICE share is capped at the commission)."""
    taken = commission_minor(charge.net_minor, charge.currency, commission)
    if share.basis == ShareBasis.COMMISSION:
        partner = _percentage(taken, share.percent)
    else:
        partner = min(_percentage(charge.net_minor, share.percent), taken)
    return RevenueSplit(
        currency=charge.currency,
        vat_minor=charge.vat_minor,
        cpo_minor=charge.net_minor - taken,
        platform_minor=taken - partner,
        demand_partner_minor=partner,
    )


def settlement_entry(
    key: str,
    *,
    demand_partner_id: str,
    cpo_id: str,
    country: str,
    split: RevenueSplit,
    billing_currency: str,
    billed_minor: int,
) -> JournalEntry | None:
    """The session's balanced transfer set; ``None`` for a session that cost nothing."""
    currency = split.currency
    receivable = accounts.demand_partner(demand_partner_id, AccountKind.RECEIVABLE)
    postings: list[Posting] = []
    if billing_currency == currency:
        assert billed_minor == split.gross_minor, "no conversion, no difference"
        postings.append(Posting(receivable, currency, split.gross_minor))
    else:
        trading = accounts.platform(AccountKind.FX_TRADING)
        postings += [
            Posting(receivable, billing_currency, billed_minor),
            Posting(trading, billing_currency, -billed_minor),
            Posting(trading, currency, split.gross_minor),
        ]
    postings += [
        Posting(accounts.vat_payable(country), currency, -split.vat_minor),
        Posting(accounts.cpo(cpo_id, AccountKind.PAYABLE), currency, -split.cpo_minor),
        Posting(accounts.platform(AccountKind.COMMISSION), currency, -split.platform_minor),
        Posting(
            accounts.demand_partner(demand_partner_id, AccountKind.REVENUE_SHARE_PAYABLE),
            currency,
            -split.demand_partner_minor,
        ),
    ]
    nonzero = tuple(p for p in postings if p.amount_minor != 0)
    return JournalEntry(key, nonzero) if nonzero else None
