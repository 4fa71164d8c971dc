"""The payout queue and payout batches (stage 9), in the caller's transaction.

The queue holds one item per ledger entry and payee, written with the entry: a settlement queues what it
credited each payee, a correction's reversal queues the negative of it, and an issued revenue-share
document the VAT it owes the partner (an item of no session). A batch claims the
payee's unclaimed items when it is created and gives them back if the rail rejects it. Which money a
batch moves is the ledger's business (``domain.payouts.batches``); this module keeps the paperwork.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from domain.payouts.batches import Payee
from domain.settlement.plan import Payable
from persistence.db import dialect_insert
from persistence.tables import OPEN_PAYOUT_STATES, PayoutBatchRow, PayoutItemRow


def enqueue(db: Session, session_id: str | None, entry_key: str, payables: Iterable[Payable], *, now: datetime) -> None:
    """Queue what the entry ``entry_key`` booked to the session's payees (negative for a reversal; no session:
    the VAT of a revenue-share document); queuing the same entry again adds nothing."""
    rows = [
        {
            "session_id": session_id,
            "entry_key": entry_key,
            "payee": str(p.payee),
            "currency": p.currency,
            "amount_minor": p.amount_minor,
            "queued_at": now,
        }
        for p in payables
        if p.amount_minor != 0
    ]
    if rows:
        db.execute(dialect_insert(db, PayoutItemRow).on_conflict_do_nothing(), rows)


def payees_with_items(db: Session) -> list[tuple[Payee, str]]:
    """Every (payee, currency) that ever had a payable queued: each needs its payout workflow."""
    rows = db.execute(select(PayoutItemRow.payee, PayoutItemRow.currency).distinct().order_by("payee", "currency"))
    return [(Payee.parse(payee), currency) for payee, currency in rows]


def open_batch(db: Session, payee: Payee, currency: str) -> PayoutBatchRow | None:
    return db.scalar(
        select(PayoutBatchRow).where(
            PayoutBatchRow.payee == str(payee),
            PayoutBatchRow.currency == currency,
            PayoutBatchRow.state.in_(OPEN_PAYOUT_STATES),
        )
    )


def batch_by_idempotency_key(db: Session, key: str) -> PayoutBatchRow | None:
    return db.scalar(select(PayoutBatchRow).where(PayoutBatchRow.idempotency_key == key))


def batch(db: Session, message_id: str, *, for_update: bool = False) -> PayoutBatchRow:
    query = select(PayoutBatchRow).where(PayoutBatchRow.message_id == message_id)
    found = db.scalars(query.with_for_update() if for_update else query).one()
    return found


CLAIM_CHUNK = 1000  # item keys per statement, well within SQLite's and PostgreSQL's parameter limits


def claim_items(db: Session, batch_row: PayoutBatchRow, keys: Sequence[int] | None = None) -> int:
    """Attach the payee's unclaimed items (or those of them with ``keys``) to the batch; the number claimed."""
    claim = (
        update(PayoutItemRow)
        .where(
            PayoutItemRow.payee == batch_row.payee,
            PayoutItemRow.currency == batch_row.currency,
            PayoutItemRow.batch_key.is_(None),
        )
        .values(batch_key=batch_row.key)
    )
    if keys is None:
        return int(db.execute(claim).rowcount)  # type: ignore[attr-defined]
    claimed = 0
    for start in range(0, len(keys), CLAIM_CHUNK):
        chunk = list(keys[start : start + CLAIM_CHUNK])
        claimed += int(db.execute(claim.where(PayoutItemRow.key.in_(chunk))).rowcount)  # type: ignore[attr-defined]
    return claimed


def release_items(db: Session, batch_row: PayoutBatchRow) -> None:
    """A rejected batch's items go back to the queue for the next batch."""
    db.execute(update(PayoutItemRow).where(PayoutItemRow.batch_key == batch_row.key).values(batch_key=None))


def item_counts(db: Session, batch_keys: Sequence[int]) -> dict[int, int]:
    rows = db.execute(
        select(PayoutItemRow.batch_key, func.count())
        .where(PayoutItemRow.batch_key.in_(list(batch_keys)))
        .group_by(PayoutItemRow.batch_key)
    )
    return {key: int(count) for key, count in rows if key is not None}


def queued_minor(db: Session, payee: Payee, currency: str) -> int:
    """What the payee's unclaimed items add up to (what the next batch would carry before netting)."""
    return int(
        db.scalar(
            select(func.coalesce(func.sum(PayoutItemRow.amount_minor), 0)).where(
                PayoutItemRow.payee == str(payee),
                PayoutItemRow.currency == currency,
                PayoutItemRow.batch_key.is_(None),
            )
        )
        or 0
    )


def batches_of(db: Session, payee: Payee, *, limit: int = 100) -> Sequence[PayoutBatchRow]:
    return db.scalars(
        select(PayoutBatchRow)
        .where(PayoutBatchRow.payee == str(payee))
        .order_by(PayoutBatchRow.created_at.desc(), PayoutBatchRow.key.desc())
        .limit(limit)
    ).all()


def all_batches(db: Session) -> Sequence[PayoutBatchRow]:
    return db.scalars(select(PayoutBatchRow).order_by(PayoutBatchRow.key)).all()


def session_payouts(db: Session, session_id: str) -> list[tuple[PayoutItemRow, PayoutBatchRow | None]]:
    """A session's queued payables, each with the batch carrying it (if any)."""
    rows = db.execute(
        select(PayoutItemRow, PayoutBatchRow)
        .outerjoin(PayoutBatchRow, PayoutBatchRow.key == PayoutItemRow.batch_key)
        .where(PayoutItemRow.session_id == session_id)
        .order_by(PayoutItemRow.payee)
    ).all()
    return [(item, batch_row) for item, batch_row in rows]


def entry_items(db: Session, entry_key: str) -> Sequence[PayoutItemRow]:
    """What the entry ``entry_key`` queued, one item per payee."""
    return db.scalars(
        select(PayoutItemRow).where(PayoutItemRow.entry_key == entry_key).order_by(PayoutItemRow.key)
    ).all()
