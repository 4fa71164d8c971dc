"""What funds a payee's next payout (``domain.payouts.funding``), read in the caller's transaction: its
queued items with whether the invoice that billed each session is paid, the platform's exposure to it,
and the headroom of the bank account above its floor.

A session counts as collected when the platform invoice carrying its latest line (the highest settlement
generation; a monthly statement once issued) is issued and its payments (``bank_allocations``) cover its
total. The release (``activities.payouts``) plans with the contract in force; what ``payouts list`` and
``GET /v1/payouts`` show waiting is planned the same way with the latest contract, at the time of asking.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.invoicing.documents import PLATFORM_ISSUER, DocumentKind
from domain.money import to_minor
from domain.payouts.batches import BANK, CASH_IN_TRANSIT, Payee, PayeeKind
from domain.payouts.funding import (
    GUARANTEED_WITHOUT_LIMIT,
    FundingPlan,
    PayoutFunding,
    QueuedItem,
    WaitReason,
    plan_funding,
)
from domain.settlement.contracts import ContractTermsInvalid, funding_terms
from persistence import direct_debits, ledger, payouts
from persistence.contract_terms import latest_terms_by_party
from persistence.tables import (
    OPEN_PAYOUT_STATES,
    BankAllocationRow,
    InvoiceLineRow,
    InvoiceRow,
    LedgerAccountRow,
    PayoutBatchRow,
    PayoutItemRow,
)

ISSUED = "ISSUED"
PAID = "PAID"
# Items in these batches left the platform's money (or are on their way): they count towards its exposure.
RELEASED_STATES = (*OPEN_PAYOUT_STATES, PAID)


def collected_sessions(db: Session, payee: Payee, currency: str) -> set[str]:
    """The sessions of the payee's items in ``currency`` whose demand partner paid the invoice billing them
    (by transfer, or collected by a direct debit not returned)."""
    applied = (
        select(BankAllocationRow.invoice_key, func.sum(BankAllocationRow.amount_minor).label("applied"))
        .group_by(BankAllocationRow.invoice_key)
        .subquery()
    )
    debited = direct_debits.collected_by_invoice().subquery()
    sessions = select(PayoutItemRow.session_id).where(
        PayoutItemRow.payee == str(payee), PayoutItemRow.currency == currency
    )
    rows = db.execute(
        select(
            InvoiceLineRow.session_id,
            InvoiceLineRow.generation,
            InvoiceRow.status,
            InvoiceRow.net_minor,
            InvoiceRow.vat_minor,
            applied.c.applied,
            debited.c.collected,
        )
        .join(InvoiceRow, InvoiceRow.key == InvoiceLineRow.invoice_key)
        .outerjoin(applied, applied.c.invoice_key == InvoiceRow.key)
        .outerjoin(debited, debited.c.invoice_key == InvoiceRow.key)
        .where(
            InvoiceRow.issuer == PLATFORM_ISSUER,
            InvoiceRow.kind == DocumentKind.INVOICE.value,
            InvoiceRow.recipient.startswith("dp:"),
            InvoiceLineRow.session_id.in_(sessions),
        )
    )
    latest: dict[str, tuple[int, bool]] = {}
    for session_id, generation, status, net, vat, paid, collected in rows:
        covered = status == ISSUED and int(paid or 0) + int(collected or 0) >= (net or 0) + (vat or 0)
        if session_id not in latest or generation > latest[session_id][0]:
            latest[session_id] = (generation, covered)
    return {session_id for session_id, (_, covered) in latest.items() if covered}


def bank_headroom(db: Session, currency: str, floor: Decimal | None) -> int | None:
    """What the platform's bank account in ``currency`` can pay above its floor: its book balance, less the
    payouts in flight, less the floor (None: no floor)."""
    if floor is None:
        return None
    in_flight = -ledger.account_balance(db, CASH_IN_TRANSIT, currency)
    return ledger.account_balance(db, BANK, currency) - in_flight - to_minor(floor, currency)


def lock_bank(db: Session, currency: str) -> None:
    """Serialise releases that draw on the bank account in ``currency`` (on PostgreSQL; SQLite serialises
    writers already), so that two payees' releases never both spend the same headroom."""
    key = ledger.account_key(db, BANK, currency)
    db.execute(select(LedgerAccountRow.key).where(LedgerAccountRow.key == key).with_for_update())


def funding_plan(
    db: Session, payee: Payee, currency: str, funding: PayoutFunding, floor: Decimal | None
) -> FundingPlan:
    """Which of the payee's queued items its next release may pay, and what waits and why."""
    collected = collected_sessions(db, payee, currency)
    queued: list[QueuedItem] = []
    exposure = 0
    for key, session_id, amount, batch_key, state in db.execute(
        select(
            PayoutItemRow.key,
            PayoutItemRow.session_id,
            PayoutItemRow.amount_minor,
            PayoutItemRow.batch_key,
            PayoutBatchRow.state,
        )
        .outerjoin(PayoutBatchRow, PayoutBatchRow.key == PayoutItemRow.batch_key)
        .where(PayoutItemRow.payee == str(payee), PayoutItemRow.currency == currency)
        .order_by(PayoutItemRow.key)
    ):
        if batch_key is None:
            queued.append(QueuedItem(key, amount, session_id in collected))
        elif state in RELEASED_STATES and session_id not in collected:
            exposure += amount
    return plan_funding(
        queued,
        currency=currency,
        funding=funding,
        exposure_minor=max(exposure, 0),
        headroom_minor=bank_headroom(db, currency, floor),
    )


def payee_funding(payee: Payee, terms: dict[str, Any]) -> PayoutFunding:
    """A CPO's funding by its contract terms; a demand partner's revenue share is guaranteed without a limit."""
    return funding_terms(terms) if payee.kind == PayeeKind.CPO else GUARANTEED_WITHOUT_LIMIT


def waiting(
    db: Session, floors: Mapping[str, Decimal], *, payee: Payee | None = None
) -> dict[tuple[str, str], dict[WaitReason, int]]:
    """What each payee's next release would leave waiting, by (payee, currency) and reason, as of now and by
    each CPO's latest contract (payees with nothing waiting left out)."""
    terms = latest_terms_by_party(db, "CPO")
    found: dict[tuple[str, str], dict[WaitReason, int]] = {}
    for who, currency in payouts.payees_with_items(db):
        if payee is not None and who != payee:
            continue
        try:
            funding = payee_funding(who, terms.get(who.id, {}))
        except ContractTermsInvalid:
            continue  # the release refuses it and flags the payee's workflow for ops
        plan = funding_plan(db, who, currency, funding, floors.get(currency))
        if plan.waiting:
            found[(str(who), currency)] = plan.waiting
    return found
