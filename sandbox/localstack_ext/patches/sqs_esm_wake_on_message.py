"""An idle SQS event source mapping took seconds to notice a message; woken by the queue, it takes milliseconds.

localstack/services/lambda_/event_source_mapping/pollers/sqs_poller.py `SqsPoller.poll_events` short-polls (its
`WaitTimeSeconds` is the batching window, 0 by default). An empty poll raises `EmptyPollResultsException` and
esm_worker.EsmWorker.poller_loop sleeps an exponential back-off (1 s up to
LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC): the first upload after a quiet spell waited up to that
long (measured p50 3.2 s, up to 7.8 s). AWS's pollers long-poll, so they see a message at once.

A long poll (ReceiveMessage with WaitTimeSeconds) cannot be interrupted: a mapping disabled while its long poll
waits still takes and processes the next message (EsmWorker.stop only signals the loop), which breaks "disable the
mapping, upload, see the jobs queue" lessons. So instead the poller waits on an in-process signal:

- every place a message becomes visible in a queue (localstack/services/sqs/models.py `_put_message` of standard
  and FIFO queues: a send, a delay or visibility timeout that ends - LocalStack's queue update worker moves those
  every second -, a visibility set to 0, a redrive) wakes the pollers of that queue;
- stopping, disabling or deleting the mapping wakes its poller too, and the worker's loop then ends without polling;
- an empty poll makes the poller wait for a wake-up (at most IDLE_WAIT seconds, a safety net) instead of raising
  `EmptyPollResultsException`, so LocalStack's back-off never starts.

Idle cost: one ReceiveMessage per mapping every IDLE_WAIT seconds. With a batching window LocalStack's own
behaviour (wait for the window or a full batch) is kept. `SANDBOX_ESM_WAKE_ON_MESSAGE=0` turns this off (short polls
and LocalStack's back-off, at most `sandbox up --esm-max-empty-backoff` seconds).
"""

from __future__ import annotations

import os
import threading
import weakref

from sandbox.localstack_ext import esm_wake

TARGET = "localstack.services.lambda_.event_source_mapping.pollers.sqs_poller"
ENABLED = (os.environ.get("SANDBOX_ESM_WAKE_ON_MESSAGE") or "1") not in ("0", "false", "no")
IDLE_WAIT = float(os.environ.get("SANDBOX_ESM_IDLE_WAIT_SECONDS") or 10)

_lock = threading.Lock()
_waiters: dict[str, weakref.WeakSet[threading.Event]] = {}  # queue ARN -> the wake-up events of its pollers


def wake(queue_arn: str) -> None:
    """Wakes every poller of the queue (called when a message becomes visible in it)."""
    with _lock:
        events = list(_waiters.get(queue_arn, ()))
    for event in events:
        event.set()


def wake_event(poller) -> threading.Event:
    """The poller's own wake-up event (sandbox/localstack_ext/esm_wake.py), registered under its queue."""
    if esm_wake.KEY in poller.__dict__:
        return poller.__dict__[esm_wake.KEY]
    event = esm_wake.wake_event(poller)
    with _lock:
        _waiters.setdefault(poller.source_arn, weakref.WeakSet()).add(event)
    return event


def apply() -> None:
    if not ENABLED:
        return
    from localstack.services.lambda_.event_source_mapping.pollers.poller import EmptyPollResultsException
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller
    from localstack.services.sqs.models import FifoQueue, StandardQueue

    for queue_class in (StandardQueue, FifoQueue):
        def _put_message(self, message, _original=queue_class._put_message):
            _original(self, message)
            wake(self.arn)

        queue_class._put_message = _put_message

    original_poll_events = SqsPoller.poll_events

    def poll_events(self):
        if self.maximum_batching_window:
            return original_poll_events(self)
        event = wake_event(self)
        event.clear()  # before the poll: a message that arrives after it sets the event again
        try:
            return original_poll_events(self)
        except EmptyPollResultsException:
            event.wait(IDLE_WAIT)  # a message, the mapping stopping, or the safety net
            return None  # not an empty poll for the back-off: the worker's loop polls again at once (or ends)

    SqsPoller.poll_events = poll_events

    esm_wake.install()  # stopping, disabling or deleting the mapping wakes its poller too
