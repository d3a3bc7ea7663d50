"""Python's cycle collector in LocalStack: what start-up built is frozen out of its full collections.

LocalStack holds about half a million long-lived objects after start-up (service specs, botocore models, moto's
backends, plugin registries). Python 3.13's full collection walks all of them whenever the young objects that
survived reach a quarter of them: in a media-pipeline drain about one full collection every 7 s, 0.3-0.4 s each,
with the young collections ~6 % of LocalStack's CPU (gc.callbacks, 2026-12-06). `gc.freeze()` after the warm-up
moves everything alive then into the permanent generation, which no collection walks. Reference counting still
frees those objects; what the collector no longer frees is a reference cycle that holds a frozen object and
becomes garbage later (with whatever it holds, frozen or not).

What is alive at the end of the warm-up is not only LocalStack's: a state loaded by `up --persist` (loaded
before the warm-up), and whatever was deployed while the warm-up ran. So the first reset after the freeze (the
next one, when the warm-up ended after a reset) unfreezes, collects what that state left in cycles, and freezes
again whatever is alive then - LocalStack's own objects, empty stores, and what outlives a reset by design, such
as the recorder's spans (`refreeze_after_reset`, a reset hook). That reset pays one full collection (~0.3-0.4 s,
holding the GIL), once. Until it, the cycles of such a state that a delete drops stay.

`SANDBOX_GC_FREEZE=0` leaves the collector as it is (to compare in a benchmark).

The young generation's threshold is raised too, at the same moment (`SANDBOX_GC_YOUNG_THRESHOLD`, 20,000 as
`sandbox up` sets it; Python's is 2,000; `0` keeps Python's). A full collection may come after ten middle ones,
that is a hundred young ones. Counted by `bench/pipeline.py --census` (docs/benchmarks.md, tenth round), three
rounds in each order, 1,000-file media-pipeline bursts: with Python's threshold 0.56-0.60 ms per file in full
collections (each holds the GIL, ~0.3-0.4 s) and 1.1 ms of collections per file in all; with 20,000 no full one,
0.7 ms per file (young ones 0.2 ms dearer): -0.4 ms of LocalStack's CPU per file, and up to ~20 MB more PSS after
a burst (garbage in cycles waits longer for a full collection). Files/s moved more than that, both ways round, but
so did the functions' CPU, which this setting cannot touch: the host's speed, not the setting.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time

LOG = logging.getLogger(__name__)

_lock = threading.Lock()
_refreeze_due = False  # the freeze holds state that was not LocalStack's own (see the module docstring)


def enabled() -> bool:
    return os.environ.get("SANDBOX_GC_FREEZE", "1") != "0"


YOUNG_THRESHOLD_MAX = 10_000_000  # gc.set_threshold takes a C int; past this the young generation is just memory


def set_young_threshold() -> None:
    """SANDBOX_GC_YOUNG_THRESHOLD: allocations between two young collections; unset, empty or 0: Python's own
    (called at the end of the warm-up, with the freeze)."""
    value = os.environ.get("SANDBOX_GC_YOUNG_THRESHOLD", "").strip()
    if value.isdigit() and int(value) > 0:
        gc.set_threshold(min(int(value), YOUNG_THRESHOLD_MAX), *gc.get_threshold()[1:])


def freeze_start_up_objects() -> None:
    """Collects once, then freezes what is left (called at the end of the warm-up)."""
    global _refreeze_due
    if not enabled():
        return
    with _lock:
        gc.collect()
        gc.freeze()
        _refreeze_due = True
    LOG.info("Froze %d start-up objects out of the cycle collector", gc.get_freeze_count())


def refreeze_after_reset() -> int:
    """After the first reset that follows the freeze: unfreezes, collects, freezes again. Returns what the collection
    found unreachable (`gc.collect()`'s count; 0 when nothing was due).

    Python 3.13's `gc.collect()` does nothing and returns 0 while another thread's automatic collection is running
    (a finalizer can release the GIL mid-collection): the full collection is retried until one is seen to end, and
    if none does the refreeze stays due for the next reset."""
    global _refreeze_due
    ended: list[int] = []

    def watch(phase: str, info: dict) -> None:
        if phase == "stop" and info.get("generation") == 2:
            ended.append(info.get("collected", 0))

    with _lock:
        if not _refreeze_due:
            return 0
        freed = 0
        gc.callbacks.append(watch)
        try:
            gc.unfreeze()
            for _ in range(50):
                freed = gc.collect()
                if ended:
                    break
                time.sleep(0.01)
        finally:
            gc.callbacks.remove(watch)
            gc.freeze()
        _refreeze_due = not ended
    if ended:
        LOG.info("Froze %d objects again after the first reset (%d found unreachable)", gc.get_freeze_count(), freed)
    else:
        LOG.warning("No full collection could run during this reset; the next reset collects and freezes again")
    return freed
