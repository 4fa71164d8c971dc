"""Two-phase transfers for credit holds (TigerBeetle's pending transfers): a hold reserves part of a
demand partner's credit without moving posted balances; it is then posted (possibly for less),
voided, or expires. Pure rules; storage is ``persistence.holds``.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal
from enum import StrEnum

from domain.errors import AuthorisationRefused, DomainError, RefusalReason
from domain.money import from_minor, quantize, to_minor


class HoldState(StrEnum):
    PENDING = "PENDING"
    POSTED = "POSTED"
    VOIDED = "VOIDED"
    EXPIRED = "EXPIRED"


class HoldNotPending(DomainError):
    code = "HOLD_NOT_PENDING"


def limit_minor(limit: Decimal, currency: str) -> int:
    """A credit limit in minor units, rounded down: never more credit than the contract grants."""
    return to_minor(quantize(limit, currency, ROUND_DOWN), currency)


def cap_minor(cap: Decimal, currency: str) -> int:
    """A session cap in minor units, rounded up: never reserve less than the cap."""
    return to_minor(quantize(cap, currency, ROUND_UP), currency)


def check_credit(*, limit_minor: int, owed_minor: int, held_minor: int, cap_minor: int, currency: str) -> None:
    """Refuse a new hold of ``cap_minor`` when what the partner owes plus what is held would pass the limit."""
    assert cap_minor > 0, "a hold reserves a positive amount"
    available = limit_minor - owed_minor - held_minor
    if cap_minor > available:
        raise AuthorisationRefused(
            RefusalReason.CREDIT_LIMIT_EXCEEDED,
            f"a hold of {from_minor(cap_minor, currency)} {currency} exceeds the available credit of "
            f"{from_minor(max(available, 0), currency)} {currency} "
            f"(limit {from_minor(limit_minor, currency)}, owed {from_minor(owed_minor, currency)}, "
            f"held {from_minor(held_minor, currency)})",
        )


def posted_amount(pending_minor: int, captured_minor: int) -> int:
    """What a hold posts when the session is captured: the captured amount, never more than was held
    (a session that costs more than its cap is still owed in full; the excess was simply not reserved)."""
    assert captured_minor >= 0
    return min(pending_minor, captured_minor)


def resolve(state: HoldState, target: HoldState) -> HoldState:
    """Only a pending hold can be posted, voided or expire; resolving it again the same way is a no-op."""
    assert target != HoldState.PENDING
    if state == target:
        return state
    if state != HoldState.PENDING:
        raise HoldNotPending(f"the hold is {state.value}; it cannot become {target.value}")
    return target
