"""When a settled session may be corrected: the one rule a credit CDR and a dispute decision share.

A session can be corrected only while it is settled, not credited, with a clearing for its settlement in
force; and only one correction runs at a time. Callers add their own refusals (which CDR, whether a
discrepancy was flagged) and rank them between the two: a session that is not settled has nothing else
worth checking, while one being corrected is only asked to come back later.
"""

from __future__ import annotations

from enum import StrEnum

from domain.sessions.lifecycle import SessionStage


class CorrectionBlock(StrEnum):
    NOT_SETTLED = "NOT_SETTLED"  # not settled (yet), credited, or no clearing for the settlement in force
    IN_PROGRESS = "IN_PROGRESS"  # another correction of the session has not finished


def correction_block(
    stage: SessionStage, *, credited: bool, clearing_in_force: bool, correction_in_progress: bool
) -> CorrectionBlock | None:
    """What stops the session being corrected now (the graver block first), or None when nothing does."""
    if stage != SessionStage.SETTLED or credited or not clearing_in_force:
        return CorrectionBlock.NOT_SETTLED
    if correction_in_progress:
        return CorrectionBlock.IN_PROGRESS
    return None
