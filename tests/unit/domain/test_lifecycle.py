import itertools

from hypothesis import given
from hypothesis import strategies as st

from domain.sessions.lifecycle import (
    FINAL_STAGES,
    CpoSessionStatus,
    SessionStage,
    can_move,
    cpo_status_advances,
    is_behind,
    stage_for_cpo_status,
)

stages = st.sampled_from(list(SessionStage))
statuses = st.sampled_from(list(CpoSessionStatus))


HAPPY_PATH = [
    SessionStage.STARTING,
    SessionStage.CHARGING,
    SessionStage.AWAITING_CDR,
    SessionStage.CDR_RECEIVED,
    SessionStage.CLEARED,
    SessionStage.SETTLED,
]


def test_a_session_moves_forward_through_the_happy_path() -> None:
    for current, following in itertools.pairwise(HAPPY_PATH):
        assert can_move(current, following)
        assert not can_move(following, current)


@given(stages, stages)
def test_nothing_leaves_a_final_stage(current: SessionStage, new: SessionStage) -> None:
    if current in FINAL_STAGES:
        assert not can_move(current, new)


@given(stages)
def test_a_session_with_its_cdr_can_only_go_on_to_settle(new: SessionStage) -> None:
    for current in (SessionStage.CDR_RECEIVED, SessionStage.CLEARED):
        if can_move(current, new):
            assert new in (SessionStage.CLEARED, SessionStage.SETTLED)


@given(stages, stages)
def test_a_record_the_row_could_still_move_to_or_of_its_own_stage_is_never_behind(
    current: SessionStage, recorded: SessionStage
) -> None:
    if can_move(current, recorded) or recorded == current:
        assert not is_behind(current, recorded)


def test_every_earlier_stage_of_the_happy_path_is_behind_a_later_one() -> None:
    for reached, current in enumerate(HAPPY_PATH):
        behind = [is_behind(current, recorded) for recorded in HAPPY_PATH]
        assert behind == [True] * reached + [False] * (len(HAPPY_PATH) - reached)


@given(stages)
def test_no_stage_moves_to_itself(stage: SessionStage) -> None:
    assert not can_move(stage, stage)


@given(st.lists(statuses, min_size=1, max_size=12))
def test_replaying_cpo_reports_in_any_order_never_moves_a_stage_backwards(reports: list[CpoSessionStatus]) -> None:
    order = [SessionStage.STARTING, SessionStage.CHARGING, SessionStage.AWAITING_CDR]
    stage = SessionStage.STARTING
    for status in reports:
        following = stage_for_cpo_status(stage, status)
        if stage in order and following in order:
            assert order.index(following) >= order.index(stage)
        stage = following


def test_cpo_reports_map_to_stages() -> None:
    assert stage_for_cpo_status(SessionStage.STARTING, CpoSessionStatus.PENDING) == SessionStage.STARTING
    assert stage_for_cpo_status(SessionStage.STARTING, CpoSessionStatus.ACTIVE) == SessionStage.CHARGING
    assert stage_for_cpo_status(SessionStage.CHARGING, CpoSessionStatus.COMPLETED) == SessionStage.AWAITING_CDR
    assert stage_for_cpo_status(SessionStage.AWAITING_CDR, CpoSessionStatus.ACTIVE) == SessionStage.AWAITING_CDR
    assert stage_for_cpo_status(SessionStage.CHARGING, CpoSessionStatus.INVALID) == SessionStage.INVALID
    assert stage_for_cpo_status(SessionStage.CDR_RECEIVED, CpoSessionStatus.INVALID) == SessionStage.CDR_RECEIVED


def test_only_news_from_the_cpo_is_forwarded() -> None:
    assert cpo_status_advances(None, CpoSessionStatus.PENDING)
    assert cpo_status_advances(CpoSessionStatus.PENDING, CpoSessionStatus.ACTIVE)
    assert not cpo_status_advances(CpoSessionStatus.ACTIVE, CpoSessionStatus.ACTIVE)
    assert not cpo_status_advances(CpoSessionStatus.COMPLETED, CpoSessionStatus.ACTIVE)
    assert not cpo_status_advances(CpoSessionStatus.COMPLETED, CpoSessionStatus.INVALID)
    assert cpo_status_advances(CpoSessionStatus.ACTIVE, CpoSessionStatus.INVALID)
