"""An idle SQS event source mapping took seconds to notice a message, and a busy one waited between batches.

localstack/services/lambda_/event_source_mapping/pollers/sqs_poller.py `SqsPoller.poll_events` receives with
`WaitTimeSeconds = MaximumBatchingWindowInSeconds`, 0 by default: a short poll. An empty short poll raises
`EmptyPollResultsException`, and esm_worker.EsmWorker.poller_loop then sleeps an exponential back-off (1 s up to
LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC), so the first upload after a quiet spell waited up to
that long (measured p50 3.2 s, up to 7.8 s). AWS's pollers long-poll.

Workaround, opt-in (SANDBOX_ESM_LONG_POLL_SECONDS, e.g. 5): a mapping without a batching window long-polls (SQS
answers as soon as a message is there) and an empty long poll is not an "empty poll" for the back-off: the worker
polls again at once. Idle cost: one ReceiveMessage per mapping every LONG_POLL_SECONDS. With a batching window,
LocalStack's own behaviour (wait for the window or a full batch) is kept.

Off by default: a mapping disabled (or deleted) while its long poll waits still receives and processes the next
message (LocalStack's EsmWorker.stop only signals the poller loop), so "disable the mapping, upload, see the jobs
queue" lessons and tests break. The default short polls with a back-off of at most 1 s
(`sandbox up --esm-max-empty-backoff`) keep the first upload after a quiet spell at about a second.
"""

from __future__ import annotations

import os

TARGET = "localstack.services.lambda_.event_source_mapping.pollers.sqs_poller"
LONG_POLL_SECONDS = int(os.environ.get("SANDBOX_ESM_LONG_POLL_SECONDS") or 0)


def apply() -> None:
    from localstack.services.lambda_.event_source_mapping.pollers.poller import EmptyPollResultsException
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    original_poll_events = SqsPoller.poll_events

    def poll_events(self):
        if self.maximum_batching_window or LONG_POLL_SECONDS <= 0:
            return original_poll_events(self)
        self.maximum_batching_window = LONG_POLL_SECONDS  # read by poll_events for WaitTimeSeconds only
        try:
            return original_poll_events(self)
        except EmptyPollResultsException:
            return None  # the wait happened in ReceiveMessage: poll again at once
        finally:
            self.maximum_batching_window = 0

    SqsPoller.poll_events = poll_events
