"""The supervisor's memory sampling (sandbox/lambda_process/environment/supervisor.py) under a burst of short
invocations: each one's start and end wake it, but it walks /proc at most every FAST_INTERVAL, and still while the
invocations run. Run in a subprocess: the supervisor owns its process (signals, children, exit)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ENVIRONMENT = Path(__file__).resolve().parents[2] / "sandbox" / "lambda_process" / "environment"

SCRIPT = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import proctree, supervisor

walks = []
real = proctree.descendants
def counting(pid):
    walks.append(time.monotonic())
    return real(pid)
proctree.descendants = counting
finish = supervisor._finish
def report(spec, child):
    with open(sys.argv[2], "w") as f:
        json.dump({"walks": walks, "started": started}, f)
    finish(spec, child)
supervisor._finish = report

child = os.fork()
if child == 0:  # the environment's runtime: idle until killed
    time.sleep(60)
    os._exit(0)
activity_r, activity_w = os.pipe()
if os.fork() == 0:  # its invocations: 40 of ~4 ms, one after another, then the runtime ends
    for _ in range(40):
        os.write(activity_w, b"i"); time.sleep(0.002); os.write(activity_w, b"d"); time.sleep(0.002)
    time.sleep(0.1)
    os.kill(child, 9)
    os._exit(0)
os.close(activity_w)
started = time.monotonic()
spec = supervisor.Spec({"env": {}, "cwd": "/", "env_dir": sys.argv[3], "tmp": sys.argv[3], "memory_mb": 512})
supervisor._supervise(spec, child, os.getppid(), None, activity_r)
"""


def test_a_burst_of_short_invocations_is_sampled_at_most_every_fast_interval(tmp_path):
    out = tmp_path / "walks.json"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(ENVIRONMENT), str(out), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert out.exists(), done.stderr
    seen = json.loads(out.read_text())
    walks, started = seen["walks"], seen["started"]
    burst = max(walks[-1] - started, 0.2)
    # 80 wake-ups (a start and an end each); one walk each was the old behaviour
    assert 3 <= len(walks) <= burst / 0.025 + 3, (len(walks), burst)
    gaps = [b - a for a, b in zip(walks, walks[1:])]
    # FAST_INTERVAL apart (25 ms; the clock is read just before each walk, so a stalled test machine can shorten one
    # gap): one walk per wake-up was ~2 ms apart
    assert min(gaps) >= 0.010, "walks closer than FAST_INTERVAL"
