"""sandbox/localstack_ext/gc_tuning.py: what is alive after the warm-up leaves the cycle collector's walks, what is
made later is still collected, and SANDBOX_GC_FREEZE=0 leaves the collector alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import gc, json
from sandbox.localstack_ext import gc_tuning
start_up = [[i] for i in range(20_000)]       # long-lived objects made at start-up
gc_tuning.freeze_start_up_objects()
frozen = gc.get_freeze_count()
later = []; later.append(later)                # a reference cycle made after the freeze, then dropped
del later
print(json.dumps({"frozen": frozen, "collected": gc.collect(), "start_up_kept": len(start_up)}))
"""


def run(env_extra: dict[str, str]) -> dict:
    env = {**os.environ, **env_extra, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_start_up_objects_are_frozen_and_later_cycles_still_collected():
    result = run({})
    assert result["frozen"] >= 20_000
    assert result["collected"] >= 1
    assert result["start_up_kept"] == 20_000


def test_the_switch_leaves_the_collector_as_it_is():
    assert run({"SANDBOX_GC_FREEZE": "0"})["frozen"] == 0


REFREEZE = """
import gc, json, weakref
from sandbox.localstack_ext import gc_tuning

class Node:
    pass

state = []                                     # a state loaded before the warm-up: cycles
for _ in range(1000):
    a, b = Node(), Node()
    a.b, b.a = b, a
    state.append(a)
del a, b
probe = weakref.ref(state[0])
unfreezes = []
unfreeze = gc.unfreeze
gc.unfreeze = lambda: (unfreezes.append(1), unfreeze())[1]
gc_tuning.freeze_start_up_objects()
state.clear()                                  # a reset drops it
kept_after_collect = (gc.collect(), probe() is not None)[1]
freed = gc_tuning.refreeze_after_reset()
print(json.dumps({"kept": kept_after_collect, "freed": freed, "gone": probe() is None,
                  "frozen_again": gc.get_freeze_count(), "second": gc_tuning.refreeze_after_reset(),
                  "unfreezes": len(unfreezes)}))
"""


def test_the_first_reset_collects_the_cycles_frozen_with_start_up_and_freezes_again():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", REFREEZE], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["kept"] is True  # what the freeze costs until then: the collector leaves frozen cycles alone
    assert result["freed"] >= 2000 and result["gone"] is True
    assert result["frozen_again"] > 0
    assert result["second"] == 0 and result["unfreezes"] == 1  # once per freeze, not a full collection per reset


BUSY_COLLECTOR = """
import gc, json
from sandbox.localstack_ext import gc_tuning

gc_tuning.freeze_start_up_objects()
collect = gc.collect
gc.collect = lambda *a: 0            # as while another thread's collection runs: nothing collected, no callback
first = gc_tuning.refreeze_after_reset()
gc.collect = collect
print(json.dumps({"first": first, "still_due": gc_tuning._refreeze_due, "second_ran": gc_tuning.refreeze_after_reset()
                  >= 0 and not gc_tuning._refreeze_due}))
"""


def test_a_reset_during_another_collection_leaves_the_refreeze_to_the_next_reset():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", BUSY_COLLECTOR], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result == {"first": 0, "still_due": True, "second_ran": True}


THRESHOLD = """
import gc, json
from sandbox.localstack_ext import gc_tuning
before = gc.get_threshold()
gc_tuning.set_young_threshold()
gc_tuning.freeze_start_up_objects()
print(json.dumps({"before": before, "after": gc.get_threshold()}))
"""


def test_the_young_threshold_is_set_with_the_freeze_and_only_when_asked():
    def thresholds(env_extra):
        env = {k: v for k, v in os.environ.items() if k != "SANDBOX_GC_YOUNG_THRESHOLD"}
        env.update(env_extra, PYTHONPATH=str(ROOT))
        out = subprocess.run([sys.executable, "-c", THRESHOLD], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    asked = thresholds({"SANDBOX_GC_YOUNG_THRESHOLD": "20000"})
    assert asked["after"] == [20000, *asked["before"][1:]]
    assert thresholds({"SANDBOX_GC_YOUNG_THRESHOLD": "20000", "SANDBOX_GC_FREEZE": "0"})["after"][0] == 20000
    for unset in ({}, {"SANDBOX_GC_YOUNG_THRESHOLD": ""}, {"SANDBOX_GC_YOUNG_THRESHOLD": "lots"},
                  {"SANDBOX_GC_YOUNG_THRESHOLD": "0"}):
        result = thresholds(unset)
        assert result["after"] == result["before"], unset  # Python's own
