"""Payout batches as the API, the CLI and the demo show them: frozen values with the sessions each carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from domain.payouts.batches import Payee
from persistence import payouts
from persistence.tables import PayoutBatchRow


@dataclass(frozen=True, slots=True)
class PayoutBatchView:
    message_id: str  # the pain.001 MsgId, also the EndToEndId the payee's bank shows
    payee: str
    currency: str
    amount_minor: int
    netted_minor: int
    state: str
    reason: str | None
    rail: str
    iban: str
    sessions: int  # payout items (one per session and entry) the batch carries
    document: str  # the pain.001 file, as validated
    created_at: datetime
    settled_at: datetime | None


def _views(db: Session, rows: Sequence[PayoutBatchRow]) -> list[PayoutBatchView]:
    counts = payouts.item_counts(db, [row.key for row in rows])
    return [
        PayoutBatchView(
            message_id=row.message_id,
            payee=row.payee,
            currency=row.currency,
            amount_minor=row.amount_minor,
            netted_minor=row.netted_minor,
            state=row.state,
            reason=row.reason,
            rail=row.rail,
            iban=row.iban,
            sessions=counts.get(row.key, 0),
            document=row.document,
            created_at=row.created_at,
            settled_at=row.settled_at,
        )
        for row in rows
    ]


def payee_batches(db: Session, payee: Payee) -> list[PayoutBatchView]:
    """The payee's latest batches, newest first."""
    return _views(db, payouts.batches_of(db, payee))


def all_batches(db: Session, *, since: datetime | None = None) -> list[PayoutBatchView]:
    """Every batch (or those created since ``since``), oldest first."""
    return _views(db, [row for row in payouts.all_batches(db) if since is None or row.created_at >= since])
