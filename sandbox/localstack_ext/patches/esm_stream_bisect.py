"""A DynamoDB or Kinesis stream mapping with BisectBatchOnFunctionError retried the whole failing batch.

`localstack.services.lambda_.event_source_mapping.pollers.stream_poller.StreamPoller.forward_events_to_target`
(localstack-core 2026.3.0) retries a batch whose invocation failed, whole, until MaximumRetryAttempts or
MaximumRecordAgeInSeconds, then sends the whole batch's range to the OnFailure destination: BisectBatchOnFunctionError
is stored and never read (`bisect_events` says "(not implemented)"; the worker factory does not even hand the flag to
the poller). One bad record took its batch's good records with it: a1, a3, poison-1, a4 written together reached the
function 3 times as one batch, and the OnFailure message said batchSize 4; a1, a3 and a4 were never processed.

AWS ("Retaining discarded records for a DynamoDB event source in Lambda"): for function errors BisectBatchOnFunctionError
"splits a failed batch into two smaller batches, isolating bad records and avoiding timeouts. Splitting batches doesn't
consume the retry quota." So a failed invocation of a batch of several records splits it in two and each half is
processed in order, as a batch of its own (split again if it fails); a record that fails alone is retried
MaximumRetryAttempts times and then only its range goes to the OnFailure destination (batchSize 1).

Workaround: LocalStack's own loop, with the function invoked through a processor that bisects. For a mapping with
BisectBatchOnFunctionError (EsmWorker.__init__ hands the flag to its poller), a function error (BatchFailureError) on a
batch of more than one record runs LocalStack's loop again on each half - its retries with back-off, its record-age
check, its OnFailure message for what is finally discarded - and then counts as done for the batch it split, so the
split consumes no retry. Only function errors split: a throttle or an internal error is retried whole as before, and a
ReportBatchItemFailures answer keeps LocalStack's checkpoint (retry from the lowest failed sequence number; AWS: "the
batch is bisected at the returned sequence number and Lambda retries only the remaining records"). A mapping without
the flag runs LocalStack's loop unchanged.
"""

from __future__ import annotations

import copy

TARGET = "localstack.services.lambda_.event_source_mapping.pollers.stream_poller"
FLAG = "_sandbox_bisect_on_function_error"


def halves(events: list) -> tuple[list, list]:
    """The two halves a failed batch is split into (the first one is the smaller for an odd count)."""
    middle = len(events) // 2
    return events[:middle], events[middle:]


def _same(events, *args):
    return events


class BisectingProcessor:
    """The mapping's processor, except that a function error on a batch of several records is handled by running the
    poller's loop (`forward`) on each half; whatever else the processor does is the mapping's own."""

    def __init__(self, processor, forward):
        self._processor = processor
        self._forward = forward

    def process_events_batch(self, events):
        from localstack.services.lambda_.event_source_mapping.event_processor import BatchFailureError

        try:
            return self._processor.process_events_batch(events)
        except BatchFailureError:
            if not isinstance(events, list) or len(events) < 2:
                raise  # one record: LocalStack's retries, then the OnFailure destination
        for half in halves(events):  # the split is no retry: the batch it split counts as done
            self._forward(half)
        return None

    def __getattr__(self, name):
        return getattr(self._processor, name)


def apply() -> None:
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller

    if getattr(StreamPoller.forward_events_to_target, "_sandbox_bisect", False):
        return
    original_forward = StreamPoller.forward_events_to_target
    original_worker_init = EsmWorker.__init__

    def worker_init(self, esm_config, poller, *args, **kwargs):
        original_worker_init(self, esm_config, poller, *args, **kwargs)
        if isinstance(poller, StreamPoller):
            poller.__dict__[FLAG] = bool(esm_config.get("BisectBatchOnFunctionError"))

    def forward_events_to_target(self, shard_id, records):
        if not self.__dict__.get(FLAG):
            return original_forward(self, shard_id, records)
        # Copies of the poller, so that the poller itself is left as it is: `batch` delivers the records GetRecords
        # returned; `half` delivers a half of a failed batch, whose events are made already (the same events: not
        # transformed, filtered or given their source's metadata twice).
        batch, half = copy.copy(self), copy.copy(self)
        processor = BisectingProcessor(self.processor, lambda events: original_forward(half, shard_id, events))
        batch.processor = half.processor = processor
        for name in ("transform_into_events", "pre_filter", "filter_events", "post_filter", "add_source_metadata"):
            half.__dict__[name] = _same
        return original_forward(batch, shard_id, records)

    worker_init._sandbox_bisect = forward_events_to_target._sandbox_bisect = True
    EsmWorker.__init__ = worker_init
    StreamPoller.forward_events_to_target = forward_events_to_target
