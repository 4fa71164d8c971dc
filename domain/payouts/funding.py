"""How payouts are funded (``money-in.md`` §5.4): which of a payee's queued items (one per settled session
and payee, oldest first) the next release may pay, and why the others wait.

CPO contract section::

    "payout_funding": {"mode": "PAY_WHEN_PAID"}
    "payout_funding": {"mode": "GUARANTEED", "exposure_limit": {"EUR": "20000.00"}}

(``"payout_funding": "PAY_WHEN_PAID"`` is short for the first.)

* PAY_WHEN_PAID: the CPO carries the demand partner's credit risk. An item is released once the platform
  invoice that billed its session is paid in full (for a monthly statement: the statement); a partly paid
  invoice releases nothing of its sessions until the rest comes in.
* GUARANTEED: the platform carries it. Items are released on the schedule, paid or not, as long as the
  platform's exposure to the payee in that currency (what it released for the payee's sessions that the
  demand partners have not paid yet) stays within the ``exposure_limit`` of that currency; a currency the
  limit does not list has none. What does not fit waits; it is released as invoices are paid.
* A contract without the section is GUARANTEED without a limit (how payouts worked before funding existed).
* Demand partners' revenue share is paid out of the platform's commission after netting what they owe:
  GUARANTEED without a limit.

Whatever the funding, a payout never takes the platform's bank account in that currency below its floor:
the headroom (book balance of the bank account, less what is in flight, less the floor) bounds what is
released; what does not fit waits. Items that lower what is owed (a correction's reversal) always go.
Amounts are minor units; items are whole (a session is never split between batches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from domain.money import from_minor, to_minor


class FundingMode(StrEnum):
    PAY_WHEN_PAID = "PAY_WHEN_PAID"
    GUARANTEED = "GUARANTEED"


class WaitReason(StrEnum):
    AWAITING_COLLECTION = "AWAITING_COLLECTION"  # pay when paid: the session's invoice is not paid yet
    EXPOSURE_LIMIT = "EXPOSURE_LIMIT"  # guaranteed: paying it would take the exposure above the limit
    BANK_FLOOR = "BANK_FLOOR"  # paying it would take the bank account below its floor


@dataclass(frozen=True, slots=True)
class PayoutFunding:
    mode: FundingMode = FundingMode.GUARANTEED
    exposure_limit: dict[str, Decimal] = field(default_factory=dict)  # per currency; absent means none

    def __post_init__(self) -> None:
        assert self.mode == FundingMode.GUARANTEED or not self.exposure_limit, "a limit bounds guaranteed payouts"

    def limit_minor(self, currency: str) -> int | None:
        limit = self.exposure_limit.get(currency)
        return None if limit is None else to_minor(limit, currency)


GUARANTEED_WITHOUT_LIMIT = PayoutFunding()


@dataclass(frozen=True, slots=True)
class QueuedItem:
    key: int
    amount_minor: int
    collected: bool  # the invoice that billed the session is paid in full


@dataclass(frozen=True, slots=True)
class FundingPlan:
    released: tuple[int, ...]  # the keys of the items the release may pay
    released_minor: int
    waiting: dict[WaitReason, int]  # what waits, by reason (reasons with nothing waiting left out)

    @property
    def waiting_minor(self) -> int:
        return sum(self.waiting.values())


def plan_funding(
    items: Sequence[QueuedItem],
    *,
    currency: str,
    funding: PayoutFunding,
    exposure_minor: int,
    headroom_minor: int | None,
) -> FundingPlan:
    """Which ``items`` (oldest first) go now. ``exposure_minor`` is what the platform already released for
    the payee unpaid by its partners; ``headroom_minor`` what the bank account can give above its floor
    (None: no floor). Each item that does not fit waits, and later (smaller) ones may still go."""
    limit = funding.limit_minor(currency) if funding.mode == FundingMode.GUARANTEED else None
    released = [item for item in items if item.amount_minor <= 0]
    total = sum(item.amount_minor for item in released)
    waiting: dict[WaitReason, int] = {}
    for item in items:
        if item.amount_minor <= 0:
            continue
        reason = None
        if not item.collected and funding.mode == FundingMode.PAY_WHEN_PAID:
            reason = WaitReason.AWAITING_COLLECTION
        elif not item.collected and limit is not None and exposure_minor + item.amount_minor > limit:
            reason = WaitReason.EXPOSURE_LIMIT
        elif headroom_minor is not None and total + item.amount_minor > headroom_minor:
            reason = WaitReason.BANK_FLOOR
        if reason is not None:
            waiting[reason] = waiting.get(reason, 0) + item.amount_minor
            continue
        released.append(item)
        total += item.amount_minor
        if not item.collected:
            exposure_minor += item.amount_minor
    return FundingPlan(tuple(item.key for item in released), total, waiting)


def describe_waiting(waiting: dict[WaitReason, int], currency: str) -> str:
    """``"12.30 EUR waits (AWAITING_COLLECTION 10.00, BANK_FLOOR 2.30)"``; "" when nothing waits."""
    if not waiting:
        return ""
    parts = ", ".join(f"{reason.value} {from_minor(amount, currency)}" for reason, amount in sorted(waiting.items()))
    return f"{from_minor(sum(waiting.values()), currency)} {currency} waits ({parts})"
