"""When a settled session may be corrected (a credit CDR, a dispute decision): one rule for both."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.sessions.lifecycle import SessionStage
from domain.settlement.corrections import CorrectionBlock, correction_block


def test_a_settled_session_with_nothing_running_may_be_corrected() -> None:
    block = correction_block(SessionStage.SETTLED, credited=False, clearing_in_force=True, correction_in_progress=False)
    assert block is None


def test_a_credited_session_is_no_longer_settled() -> None:
    block = correction_block(SessionStage.SETTLED, credited=True, clearing_in_force=True, correction_in_progress=False)
    assert block is CorrectionBlock.NOT_SETTLED


def test_a_running_correction_makes_the_next_one_wait() -> None:
    block = correction_block(SessionStage.SETTLED, credited=False, clearing_in_force=True, correction_in_progress=True)
    assert block is CorrectionBlock.IN_PROGRESS


@given(st.sampled_from(SessionStage), st.booleans(), st.booleans(), st.booleans())
def test_only_a_settled_uncredited_cleared_idle_session_may_be_corrected(
    stage: SessionStage, credited: bool, cleared: bool, running: bool
) -> None:
    block = correction_block(stage, credited=credited, clearing_in_force=cleared, correction_in_progress=running)
    settled = stage == SessionStage.SETTLED and not credited and cleared
    assert (block is None) == (settled and not running)
    # Not being settled outranks a running correction: there is nothing to come back for.
    assert (block is CorrectionBlock.NOT_SETTLED) == (not settled)
    assert (block is CorrectionBlock.IN_PROGRESS) == (settled and running)
