"""The CI bench guard's comparison: a run's figures against the recorded baseline, and the baseline file itself."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from cli.bench_guard import (
    CPU_RATIO_MARGIN,
    Baseline,
    GuardFigures,
    RunShape,
    cpu_ratio,
    limits,
    load_baseline,
    regressions,
)

SHAPE = RunShape(sessions=30, concurrency=10, workers=1, database="sqlite")
BASELINE = Baseline(commit="abc1234", machine="2 vCPUs", shape=SHAPE, actions_per_session_max=12, cpu_ratio=3.2)
PASSING = GuardFigures(shape=SHAPE, actions_per_session_max=12, cpu_ratio=3.3, settled=True, books_ok=True)
REPOSITORY_BASELINE = Path(__file__).parents[2] / "docs" / "bench-baseline.json"


def test_a_run_like_the_baseline_passes() -> None:
    assert regressions(PASSING, BASELINE) == []


def test_the_cpu_ratio_is_our_processes_against_temporals() -> None:
    assert cpu_ratio({"api": 50.0, "worker": 110.0, "temporal": 50.0, "simulator": 15.0}) == pytest.approx(3.2)


def test_one_billable_action_more_per_session_fails_naming_the_figure_value_baseline_and_limit() -> None:
    failures = regressions(replace(PASSING, actions_per_session_max=13), BASELINE)

    assert failures == ["billable Temporal actions per session, max: 13.00 (baseline 12.00, limit 12.00) exceeded"]


def test_fewer_billable_actions_pass() -> None:
    assert regressions(replace(PASSING, actions_per_session_max=10), BASELINE) == []


def test_the_cpu_ratio_fails_only_beyond_the_margin() -> None:
    limit = BASELINE.cpu_ratio * CPU_RATIO_MARGIN

    assert regressions(replace(PASSING, cpu_ratio=limit), BASELINE) == []
    failures = regressions(replace(PASSING, cpu_ratio=limit + 0.01), BASELINE)
    assert failures == ["CPU per session, (API + worker) / Temporal: 4.81 (baseline 3.20, limit 4.80) exceeded"]


def test_the_limits_are_shown_whether_or_not_exceeded() -> None:
    assert [limit.exceeded for limit in limits(PASSING, BASELINE)] == [False, False]


def test_a_run_of_another_shape_unsettled_sessions_and_books_that_do_not_check_fail() -> None:
    figures = replace(PASSING, shape=replace(SHAPE, workers=2), settled=False, books_ok=False)

    assert regressions(figures, BASELINE) == [
        "run of 30 sessions, 10 at a time, 2 worker(s) on sqlite does not compare with the baseline's "
        "30 sessions, 10 at a time, 1 worker(s) on sqlite",
        "not every session settled",
        "the books do not check after the run (ledger check)",
    ]


def test_the_recorded_baseline_reads_and_has_its_run_shape_and_figures() -> None:
    baseline = load_baseline(REPOSITORY_BASELINE)

    assert baseline.shape == SHAPE  # what .ci/run measures
    assert baseline.actions_per_session_max == 12
    assert baseline.cpu_ratio > 0


def test_an_unreadable_baseline_says_which_file(tmp_path: Path) -> None:
    broken = tmp_path / "baseline.json"
    broken.write_text(json.dumps({"commit": "abc1234"}))

    with pytest.raises(SystemExit, match=r"baseline\.json is unreadable"):
        load_baseline(broken)
