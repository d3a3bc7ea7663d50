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

A throttled batch (the function's reserved concurrency reached: Invoke answers 429 TooManyRequestsException) backs
off as AWS's does ("Backoff strategy for failed invocations", Lambda operator guide): its slot stays taken for a
back-off that doubles with the mapping's throttles (THROTTLE_BACKOFF up to THROTTLE_BACKOFF_MAX; a quiet
THROTTLE_QUIET starts it over), so the mapping has fewer batches in flight while it is throttled, and the batch is
tried again while its messages' visibility timeout leaves room for a whole run of the function - at the end of its
back-off, or as soon as an invocation of the mapping ends (the function was left idle while throttled batches held
the last messages: a 30-message burst took 38-40 s for 15 s of work with a 6x visibility timeout); past that its
messages reappear when their visibility timeout ends. LocalStack has no back-off on a throttle (its poller logs the
failed batch and polls again), which one batch at a time hid; with five at once and reserved concurrency 1, four
pollers took every visible message within milliseconds, each was throttled and hidden for its visibility timeout,
over and over (upload-burst's broken variant: 136-164 throttled invokes for 24 jobs, receive counts up to 17, a
drain of 53-64 s or, past MaxReceiveCount, jobs in the DLQ).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from sandbox.localstack_ext import esm_wake

LOG = logging.getLogger(__name__)

CONCURRENCY = int(os.environ.get("SANDBOX_SQS_ESM_CONCURRENCY") or 5)
THROTTLE_BACKOFF = 0.5  # seconds a throttled batch's slot stays taken after the mapping's first throttle
THROTTLE_BACKOFF_MAX = 8.0
THROTTLE_QUIET = 10.0  # seconds without a throttle after which the back-off starts over
RETRY_MARGIN = 1.0  # seconds a retry leaves besides the function's timeout: a cold start, the messages' deletion


TARGET = "localstack.services.lambda_.event_source_mapping.pollers.sqs_poller"


def batches_in_flight(maximum_concurrency) -> int:
    """How many batches a mapping may have in flight: ours, capped by its ScalingConfig.MaximumConcurrency."""
    try:
        cap = int(maximum_concurrency)
    except (TypeError, ValueError):
        return CONCURRENCY
    return max(1, min(CONCURRENCY, cap))


def throttled(error: BaseException) -> bool:
    """Whether a batch failed because Invoke was throttled (botocore's ClientError of the mapping's Lambda client)."""
    return (getattr(error, "response", None) or {}).get("Error", {}).get("Code") == "TooManyRequestsException"


class ThrottleBackoff:
    """A mapping's back-off on throttles: each throttle within THROTTLE_QUIET of the last doubles the wait. A batch
    of the mapping whose invocation ended (its environment free again) wakes one batch that waits to retry."""

    def __init__(self):
        self._lock = threading.Lock()
        self._streak, self._last = 0, float("-inf")
        self._freed = threading.Condition()
        self._free = False  # an invocation ended that no waiting batch has taken yet (one: the environment it freed)

    def freed(self) -> None:
        with self._freed:
            self._free = True
            self._freed.notify()

    def wait_freed(self, seconds: float, stopped: threading.Event) -> bool:
        """Waits up to `seconds` for an invocation of the mapping to end (or takes one that ended since the last
        batch took one); False if the mapping stopped meanwhile. One waiter takes each: the others stay throttled
        less; a batch that gives up without waiting takes nothing, and one that ended while a batch was between its
        429 and this wait is still there to take."""
        deadline = time.monotonic() + seconds
        with self._freed:
            while not stopped.is_set():
                if self._free:
                    self._free = False
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                self._freed.wait(min(left, 0.25))
        return False

    def next_wait(self, now: float) -> float:
        with self._lock:
            self._streak = 1 if now - self._last > THROTTLE_QUIET else min(self._streak + 1, 16)  # 2**1024 overflows
            self._last = now
            return min(THROTTLE_BACKOFF * 2 ** (self._streak - 1), THROTTLE_BACKOFF_MAX)


def retry_window(source_arn: str, function_arn: str | None) -> float:
    """Seconds after a receive within which a throttled batch may be invoked again: the queue's visibility timeout
    less the function's timeout and RETRY_MARGIN (a later run could outlive the messages' invisibility: delivered twice)."""
    try:
        from localstack.services.lambda_.provider_utils import get_function_version_from_arn
        from localstack.services.sqs.models import sqs_stores
        from localstack.utils.aws.arns import parse_arn

        arn = parse_arn(source_arn)
        queue = sqs_stores[arn["account"]][arn["region"]].queues[arn["resource"]]
        timeout = get_function_version_from_arn(function_arn).config.timeout
        return float(queue.visibility_timeout) - timeout - RETRY_MARGIN
    except Exception:  # noqa: BLE001 - a queue or function gone meanwhile: no retry
        return 0.0


def apply() -> None:
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    original_worker_init = EsmWorker.__init__

    def worker_init(self, esm_config, poller, *args, **kwargs):
        original_worker_init(self, esm_config, poller, *args, **kwargs)
        if isinstance(poller, SqsPoller):
            scaling = esm_config.get("ScalingConfig") or {}
            poller.__dict__["_sandbox_slot_count"] = batches_in_flight(scaling.get("MaximumConcurrency"))
            # what a throttled batch's back-off needs besides the mapping's stop (esm_wake.stopped): the function
            poller.__dict__["_sandbox_function_arn"] = esm_config.get("FunctionArn")
            poller.__dict__["_sandbox_throttles"] = ThrottleBackoff()

    EsmWorker.__init__ = worker_init
    esm_wake.install()  # the mapping's stop, handed to its poller: ends a back-off or a wait for a slot at once

    original_poll_events = SqsPoller.poll_events
    original_handle_messages = SqsPoller.handle_messages
    local = threading.local()

    def slots(poller) -> threading.Semaphore:
        if "_sandbox_slots" not in poller.__dict__:
            count = poller.__dict__.get("_sandbox_slot_count", CONCURRENCY)
            poller.__dict__["_sandbox_slots"] = threading.BoundedSemaphore(count)
        return poller.__dict__["_sandbox_slots"]

    def poll_events(self):
        """Receives (LocalStack's) once a slot is free; a stop while every slot is taken receives nothing."""
        if self.is_fifo_queue:
            return original_poll_events(self)
        slot = slots(self)
        stopped = esm_wake.stopped(self)
        while not slot.acquire(timeout=0.5):
            if stopped is not None and stopped.is_set():
                return  # the mapping stopped while every slot was taken (batches backing off): no new batch
        local.handed_off = False
        local.polled_at = time.monotonic()  # before the receive: a batching window gathers after the first message
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
        received = getattr(local, "polled_at", None) or time.monotonic()

        def run():
            ran = False  # an invocation ran (not only throttled): its environment is free again at the end
            try:
                while True:
                    try:
                        original_handle_messages(self, messages)
                        ran = True
                        break
                    except Exception as e:  # noqa: BLE001 - a throttle backs off; anything else as poll_events did
                        ran = not throttled(e)
                        if ran or not back_off(self, received):
                            raise
            except Exception as e:  # noqa: BLE001 - what poll_events would have logged
                LOG.warning("Polling or batch processing failed: %s", e)
            finally:
                slot.release()
                throttles = self.__dict__.get("_sandbox_throttles")
                if ran and throttles is not None:
                    throttles.freed()  # a batch waiting to retry goes now, not at the end of its back-off

        threading.Thread(target=run, name=f"sqs-esm-batch-{self.source_arn.rsplit(':', 1)[-1]}", daemon=True).start()

    def back_off(poller, received: float) -> bool:
        """Waits out a throttle holding the batch's slot; True when the batch may be invoked again."""
        throttles, stopped = poller.__dict__.get("_sandbox_throttles"), esm_wake.stopped(poller)
        if throttles is None or stopped is None:
            return False
        wait = throttles.next_wait(time.monotonic())
        window = retry_window(poller.source_arn, poller.__dict__.get("_sandbox_function_arn"))
        left = window - (time.monotonic() - received)
        if left <= 0:  # no retry: the slot is held for the whole back-off (a new batch would only be throttled)
            stopped.wait(wait)
            return False
        # a retry: at the end of the back-off, or as soon as an invocation of the mapping ends (within the window)
        if not throttles.wait_freed(min(wait, left), stopped):
            return False
        return time.monotonic() - received <= window

    SqsPoller.poll_events = poll_events
    SqsPoller.handle_messages = handle_messages
