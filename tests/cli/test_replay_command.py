"""`networkcore replay` as an engineer runs it: a real process replays a recorded history against this
code, says plainly when it would not replay, and refuses bad input."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_rate_command import networkcore

HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"


def test_a_recorded_history_replays_cleanly() -> None:
    done = networkcore("replay", "--file", str(HISTORIES / "payout_rejected_then_paid.json"))
    assert done.returncode == 0, done.stderr
    assert "events replay cleanly against this code" in done.stdout


def test_a_history_the_code_no_longer_matches_is_reported_as_non_determinism(tmp_path: Path) -> None:
    # A payout history that sent the batch with another activity: as if the code had changed under it.
    history = json.loads((HISTORIES / "payout_rejected_then_paid.json").read_text())
    text = json.dumps(history).replace('"send_payout"', '"renamed_activity"')
    assert text != json.dumps(history)
    changed = tmp_path / "changed.json"
    changed.write_text(text)
    done = networkcore("replay", "--file", str(changed))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "do NOT replay against this code" in done.stdout
    assert (
        "Nondeterminism error: Activity type of scheduled event 'renamed_activity' does not match activity type "
        "of activity command 'send_payout'" in done.stdout
    )
    assert "workflow.patched" in done.stdout


def test_bad_input_is_refused_with_a_reason(tmp_path: Path) -> None:
    assert networkcore("replay").returncode == 2
    missing = networkcore("replay", "--file", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "networkcore replay:" in missing.stderr
