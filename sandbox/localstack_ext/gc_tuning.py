"""Python's cycle collector in LocalStack: what start-up built is frozen out of its full collections.

LocalStack holds a few hundred thousand long-lived objects after start-up (service specs, botocore models, moto's
backends, plugin registries). Python 3.13's full collection walks all of them whenever the young objects that
survived reach a quarter of them: in a media-pipeline drain about one full collection every 7 s, 0.3-0.4 s each,
with the young collections ~6 % of LocalStack's CPU (gc.callbacks, 2026-12-06). `gc.freeze()` after the warm-up
moves everything alive then into the permanent generation, which no collection walks. Reference counting still
frees those objects; only a reference cycle among them that becomes garbage later stays (start-up objects live as
long as the process).

`SANDBOX_GC_FREEZE=0` leaves the collector as it is (to compare in a benchmark).
"""

from __future__ import annotations

import gc
import logging
import os

LOG = logging.getLogger(__name__)


def freeze_start_up_objects() -> None:
    """Collects once, then freezes what is left (called at the end of the warm-up)."""
    if os.environ.get("SANDBOX_GC_FREEZE", "1") == "0":
        return
    gc.collect()
    gc.freeze()
    LOG.info("Froze %d start-up objects out of the cycle collector", gc.get_freeze_count())
