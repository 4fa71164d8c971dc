"""Where a charging session is in its life, and which moves are legal.

Stages are what ops filter on in the Temporal UI and what demand partners read through the API.
They only move forward: a late or duplicated CPO message can never send a session back.
"""

from __future__ import annotations

from enum import StrEnum


class SessionStage(StrEnum):
    STARTING = "STARTING"  # authorising, then asking the CPO to start and waiting for its confirmation
    CHARGING = "CHARGING"  # the CPO reported the session ACTIVE
    AWAITING_CDR = "AWAITING_CDR"  # the session ended; waiting for the CPO's CDR
    CDR_RECEIVED = "CDR_RECEIVED"  # a valid CDR is in hand (final for sessions from before clearing)
    CLEARED = "CLEARED"  # rated at the official price, CPO's claim compared (final for pre-settlement sessions)
    SETTLED = "SETTLED"  # final: converted to the DP's currency and booked in the ledger, hold captured
    REJECTED = "REJECTED"  # final: authorisation refused, nothing was asked of the CPO
    START_FAILED = "START_FAILED"  # final: the CPO refused or never confirmed the start
    INVALID = "INVALID"  # final: the CPO declared the session invalid; it will not be billed


FINAL_STAGES = frozenset({SessionStage.SETTLED, SessionStage.REJECTED, SessionStage.START_FAILED, SessionStage.INVALID})

_RANK: dict[SessionStage, int] = {
    SessionStage.STARTING: 0,
    SessionStage.CHARGING: 1,
    SessionStage.AWAITING_CDR: 2,
    SessionStage.CDR_RECEIVED: 3,
    SessionStage.CLEARED: 4,
    SessionStage.SETTLED: 5,
    SessionStage.REJECTED: 5,
    SessionStage.START_FAILED: 5,
    SessionStage.INVALID: 5,
}


_SETTLEMENT_PATH = frozenset({SessionStage.CDR_RECEIVED, SessionStage.CLEARED, SessionStage.SETTLED})


def is_final(stage: SessionStage) -> bool:
    return stage in FINAL_STAGES


def is_behind(current: SessionStage, recorded: SessionStage) -> bool:
    """Whether a record of ``recorded`` comes from before where the session is: only a late copy of an
    earlier record can be (the workflow records its stages in order, and nothing else moves past them)."""
    return _RANK[recorded] < _RANK[current]


def can_move(current: SessionStage, new: SessionStage) -> bool:
    """A stage may only move forward, nothing leaves a final stage, and once a CDR is in hand only
    settlement follows (a billed session cannot turn into a rejected or invalid one)."""
    if is_final(current):
        return False
    if _RANK[current] >= _RANK[SessionStage.CDR_RECEIVED] and new not in _SETTLEMENT_PATH:
        return False
    return _RANK[new] > _RANK[current]


class CpoSessionStatus(StrEnum):
    """OCPI 2.2.1 SessionStatus (the enum value is RESERVATION, whatever the prose says)."""

    RESERVATION = "RESERVATION"
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"


_CPO_RANK: dict[CpoSessionStatus, int] = {
    CpoSessionStatus.RESERVATION: 0,
    CpoSessionStatus.PENDING: 1,
    CpoSessionStatus.ACTIVE: 2,
    CpoSessionStatus.COMPLETED: 3,
    CpoSessionStatus.INVALID: 3,
}


def cpo_status_advances(previous: CpoSessionStatus | None, new: CpoSessionStatus) -> bool:
    """True when ``new`` is news for the workflow; repeats and regressions are not."""
    if previous is None:
        return True
    if previous in (CpoSessionStatus.COMPLETED, CpoSessionStatus.INVALID):
        return False
    return _CPO_RANK[new] > _CPO_RANK[previous]


def stage_for_cpo_status(current: SessionStage, status: CpoSessionStatus) -> SessionStage:
    """The stage a CPO status report moves a session to (or the current one if it is not a move)."""
    target = {
        CpoSessionStatus.ACTIVE: SessionStage.CHARGING,
        CpoSessionStatus.COMPLETED: SessionStage.AWAITING_CDR,
        CpoSessionStatus.INVALID: SessionStage.INVALID,
    }.get(status)
    # Once a CDR is in hand the CPO's Session reports no longer decide anything.
    if target is None or _RANK[current] >= _RANK[SessionStage.CDR_RECEIVED] or not can_move(current, target):
        return current
    return target
