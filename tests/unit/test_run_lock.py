"""One scenario run at a time on a sandbox (scenarios/run_lock.py): a second run, from another process or the same
one, is refused naming the first; the lock is free again once the first ends."""

import subprocess
import sys

import pytest

from scenarios.run_lock import RunBusy, RunLock


def test_a_second_run_is_refused_naming_the_first_until_it_ends(tmp_path):
    first = RunLock.take(tmp_path, "retry-storm")
    with pytest.raises(RunBusy, match=r"already running on this sandbox \(retry-storm, pid \d+\)"):
        RunLock.take(tmp_path, "poison-message")
    other = subprocess.run([sys.executable, "-c", "import sys; from scenarios.run_lock import RunLock, RunBusy\n"
                            "try:\n    RunLock.take(sys.argv[1], 'throttling')\nexcept RunBusy as e:\n    print(e)",
                            str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert "already running on this sandbox (retry-storm" in other.stdout, other.stderr
    first.release()
    RunLock.take(tmp_path, "poison-message").release()


def test_a_run_that_died_leaves_the_lock_free(tmp_path):
    subprocess.run([sys.executable, "-c", "import sys, os; from scenarios.run_lock import RunLock\n"
                    "RunLock.take(sys.argv[1], 'crashed'); os._exit(1)", str(tmp_path)], timeout=60)
    RunLock.take(tmp_path, "next").release()
