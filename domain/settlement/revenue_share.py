"""Stage 8, pure: split a session's net price between the CPO, the platform and the demand partner, and
the one balanced journal entry that books the session as its two invoice lines say (stage 7); and the
entry that books the VAT of the partner's self-billed revenue-share invoice when it is issued.

The demand partner pays the official price. The platform's commission is carved out of the net price
(the CPO sells the electricity to the platform for the rest) and the demand partner's revenue share out
of the commission. VAT is whatever the invoice lines charged: output VAT on the sale to the partner is
payable, input VAT on the purchase from the CPO is recoverable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.invoicing.lines import InvoiceLine, invoice_totals
from domain.ledger import accounts
from domain.ledger.accounts import AccountKind
from domain.ledger.entries import JournalEntry, Posting
from domain.money import allocate, quantize, to_minor
from domain.settlement.contracts import CommissionTerms, RevenueShareTerms, ShareBasis

HUNDRED = Decimal(100)


def settlement_key(session_id: str, generation: int = 0) -> str:
    """The idempotency key of a session's stage-8 entry: workflow id + stage (+ the generation of a
    correction: a session settled again after a credit CDR or a dispute)."""
    key = f"session-{session_id}:settlement"
    return key if generation == 0 else f"{key}-{generation}"


def reversal_key(session_id: str, generation: int) -> str:
    """The idempotency key of the entry that reverses a settlement generation."""
    return f"{settlement_key(session_id, generation)}:reversed"


@dataclass(frozen=True, slots=True)
class RevenueSplit:
    currency: str
    cpo_minor: int  # what the CPO sells the electricity for: the net price minus the commission
    platform_minor: int  # the commission the platform keeps after the partner's share
    demand_partner_minor: int  # the partner's revenue share

    @property
    def commission_minor(self) -> int:
        return self.platform_minor + self.demand_partner_minor

    @property
    def net_minor(self) -> int:
        return self.cpo_minor + self.platform_minor + self.demand_partner_minor


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


def split_revenue(net_minor: int, currency: str, commission: CommissionTerms, share: RevenueShareTerms) -> RevenueSplit:
    """Parts that sum exactly to the net price. The partner's share comes out of the commission: the
    platform never pays out more than it earned on the session (a PRICE share is capped at the commission)."""
    taken = commission_minor(net_minor, currency, commission)
    if share.basis == ShareBasis.COMMISSION:
        partner = _percentage(taken, share.percent)
    else:
        partner = min(_percentage(net_minor, share.percent), taken)
    return RevenueSplit(
        currency=currency,
        cpo_minor=net_minor - taken,
        platform_minor=taken - partner,
        demand_partner_minor=partner,
    )


def settlement_entry(
    key: str,
    *,
    demand_partner_id: str,
    cpo_id: str,
    split: RevenueSplit,
    bought: InvoiceLine,
    sold: InvoiceLine,
) -> JournalEntry | None:
    """The session's balanced transfer set, from its two invoice lines; ``None`` for a free session.

    The partner owes the gross of the line it is invoiced (billing currency); the CPO is owed the gross
    of its self-billed line (tariff currency); output VAT on the sale is payable, input VAT on the
    purchase recoverable, both in the charging country's currency; the commission and the partner's
    share stay in the tariff currency. Each currency that does not balance on its own meets the others
    in the FX trading accounts.
    """
    assert bought.currency == split.currency, "the CPO's line is in the tariff currency"
    assert bought.net_minor == split.cpo_minor, "and sells at the net price less the commission"
    country = sold.vat.place_of_supply
    postings = [
        Posting(accounts.demand_partner(demand_partner_id, AccountKind.RECEIVABLE), sold.currency, sold.gross_minor),
        Posting(accounts.vat_payable(country), sold.national.currency, -sold.national.vat_minor),
        Posting(
            accounts.vat_recoverable(bought.vat.place_of_supply), bought.national.currency, bought.national.vat_minor
        ),
        Posting(accounts.cpo(cpo_id, AccountKind.PAYABLE), bought.currency, -bought.gross_minor),
        Posting(accounts.platform(AccountKind.COMMISSION), split.currency, -split.platform_minor),
        Posting(
            accounts.demand_partner(demand_partner_id, AccountKind.REVENUE_SHARE_PAYABLE),
            split.currency,
            -split.demand_partner_minor,
        ),
    ]
    return _entry(key, postings)


def revenue_share_vat_key(number: str) -> str:
    """The idempotency key of the entry that books the VAT of a revenue-share document (and the key of the
    payout item that pays it)."""
    return f"revenue-share-{number}:vat"


def revenue_share_vat_entry(
    key: str, *, demand_partner_id: str, currency: str, lines: Sequence[InvoiceLine]
) -> JournalEntry | None:
    """What a self-billed revenue-share document (or its credit note: negative lines) books when it is
    issued: the VAT it charges, as input VAT the platform recovers in its country (that country's currency),
    owed to the partner on top of its share, so that its payout pays both. ``None`` when it charges none:
    a reverse-charged share books nothing (the platform self-accounts for it in its VAT return)."""
    totals = invoice_totals(currency, lines)
    postings = [
        Posting(accounts.vat_recoverable(group.place_of_supply), group.national_currency, group.national_vat_minor)
        for group in totals.groups
    ]
    postings.append(
        Posting(
            accounts.demand_partner(demand_partner_id, AccountKind.REVENUE_SHARE_PAYABLE), currency, -totals.vat_minor
        )
    )
    return _entry(key, postings)


def _entry(key: str, postings: list[Posting]) -> JournalEntry | None:
    """The balanced entry of ``postings`` (through FX trading where currencies differ), zero postings left
    out; ``None`` when nothing is left."""
    postings = postings + _through_trading(postings)
    nonzero = tuple(p for p in postings if p.amount_minor != 0)
    return JournalEntry(key, nonzero) if nonzero else None


def _through_trading(postings: list[Posting]) -> list[Posting]:
    """The FX trading legs that close each currency of a multi-currency entry. A one-currency entry gets
    none: if it does not balance, ``JournalEntry`` refuses it, as it should."""
    sums: dict[str, int] = {}
    for posting in postings:
        sums[posting.currency] = sums.get(posting.currency, 0) + posting.amount_minor
    if len(sums) < 2:
        return []
    trading = accounts.platform(AccountKind.FX_TRADING)
    return [Posting(trading, currency, -total) for currency, total in sorted(sums.items()) if total != 0]
