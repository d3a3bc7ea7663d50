"""SQS event source mappings process one batch at a time: a message whose visibility timeout expires while its
batch is still running is never received again before that batch ends, so retry storms cannot happen.

In localstack-core 2026.3.0 every event source mapping has one poller thread
(`localstack.services.lambda_.event_source_mapping.esm_worker.EsmWorker.poller_loop`) that receives a batch,
invokes the function synchronously (`SqsPoller.handle_messages`) and only then polls again. AWS runs several
pollers per SQS mapping (5 to start with, scaling up; `ScalingConfig.MaximumConcurrency` caps them), so batches
are processed concurrently and a message that reappears after its visibility timeout is delivered again while
the first delivery is still running.

Workaround: for standard queues, `handle_messages` runs on its own thread and the poller polls again at once,
with at most CONCURRENCY batches in flight per mapping (a poll waits for a free slot before receiving).
FIFO queues keep one batch at a time (ordering within a message group).

The mapping's `ScalingConfig.MaximumConcurrency` caps that number, as on AWS (LocalStack stores it and ignores it:
the poller never sees the mapping's configuration, so EsmWorker.__init__ hands it over).
"""

from __future__ import annotations

import logging
import os
import threading

LOG = logging.getLogger(__name__)

CONCURRENCY = int(os.environ.get("SANDBOX_SQS_ESM_CONCURRENCY") or 5)


TARGET = "localstack.services.lambda_.event_source_mapping.pollers.sqs_poller"


def batches_in_flight(maximum_concurrency) -> int:
    """How many batches a mapping may have in flight: ours, capped by its ScalingConfig.MaximumConcurrency."""
    try:
        cap = int(maximum_concurrency)
    except (TypeError, ValueError):
        return CONCURRENCY
    return max(1, min(CONCURRENCY, cap))


def apply() -> None:
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    original_worker_init = EsmWorker.__init__

    def worker_init(self, esm_config, poller, *args, **kwargs):
        original_worker_init(self, esm_config, poller, *args, **kwargs)
        if isinstance(poller, SqsPoller):
            scaling = esm_config.get("ScalingConfig") or {}
            poller.__dict__["_sandbox_slot_count"] = batches_in_flight(scaling.get("MaximumConcurrency"))

    EsmWorker.__init__ = worker_init

    original_poll_events = SqsPoller.poll_events
    original_handle_messages = SqsPoller.handle_messages
    local = threading.local()

    def slots(poller) -> threading.Semaphore:
        if "_sandbox_slots" not in poller.__dict__:
            count = poller.__dict__.get("_sandbox_slot_count", CONCURRENCY)
            poller.__dict__["_sandbox_slots"] = threading.BoundedSemaphore(count)
        return poller.__dict__["_sandbox_slots"]

    def poll_events(self):
        if self.is_fifo_queue:
            return original_poll_events(self)
        slot = slots(self)
        slot.acquire()
        local.handed_off = False
        try:
            return original_poll_events(self)
        finally:
            if not local.handed_off:
                slot.release()
            local.handed_off = None

    def handle_messages(self, messages):
        if getattr(local, "handed_off", None) is not False:  # FIFO, a second mini-batch, or outside poll_events
            return original_handle_messages(self, messages)
        local.handed_off = True
        slot = slots(self)

        def run():
            try:
                original_handle_messages(self, messages)
            except Exception as e:  # noqa: BLE001 - what poll_events would have logged
                LOG.warning("Polling or batch processing failed: %s", e)
            finally:
                slot.release()

        threading.Thread(target=run, name=f"sqs-esm-batch-{self.source_arn.rsplit(':', 1)[-1]}", daemon=True).start()

    SqsPoller.poll_events = poll_events
    SqsPoller.handle_messages = handle_messages
