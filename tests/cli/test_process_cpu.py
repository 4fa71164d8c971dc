"""``cpu_seconds``, which ``networkcore bench`` reads per process: a process tree's CPU, children included,
whether they still run or have been reaped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from cli.processes import cpu_seconds


def burn(seconds: float, then: str = "") -> str:
    """A Python program that spends ``seconds`` of CPU, then runs ``then``."""
    return f"import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n{then}"


# The parent burns 0.3 s itself, runs a child that burns 0.4 s and is reaped (the parent's cutime), then
# starts another that burns 0.4 s and stays (its own utime).
PARENT = burn(
    0.3,
    "import subprocess, sys\n"
    f"subprocess.run([sys.executable, '-c', {burn(0.4)!r}], check=True)\n"
    f"child = subprocess.Popen([sys.executable, '-c', {burn(0.4, 'time.sleep(30)')!r}])\n"
    "print('ready', flush=True)\n"
    "time.sleep(30)\n",
)


def test_a_process_tree_is_charged_for_its_children_running_and_reaped() -> None:
    assert cpu_seconds(1 << 22) == 0  # no such process: nothing
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # the second child burns its 0.4 s
        spent = cpu_seconds(parent.pid)
    finally:
        os.killpg(parent.pid, signal.SIGKILL)  # the child that stays too
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
    # 1.1 s burnt, plus three interpreters starting: a lower bound only the whole tree reaches.
    assert 1.05 <= spent < 3.0
