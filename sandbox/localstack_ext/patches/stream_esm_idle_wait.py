"""An idle DynamoDB or Kinesis stream mapping kept a core busy: it asked for records without pause.

`localstack.services.lambda_.event_source_mapping.pollers.stream_poller.StreamPoller.poll_events_from_shard`
(localstack-core 2026.3.0) never reports an empty GetRecords ("an iterator may have to move multiple times until
records are returned"), so the worker's back-off after empty polls never applies to streams; its only pause is
LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC, which the sandbox sets to 0 so that SQS batches follow each other at
once. With stream-audit deployed, an idle sandbox spent 90-107 % of a core on ~1,000 GetRecords a second, and the
recorder's history filled with them (70 MB of spans in minutes).

Workaround: after a round over every shard of the stream that found no records, the poller waits IDLE_POLL_SECONDS
(AWS polls a DynamoDB stream's shards 4 times a second); stopping, deleting or shutting down the mapping ends the
wait at once. A round that found records polls again at once.
"""

from __future__ import annotations

import time

from sandbox.localstack_ext import esm_wake

TARGET = "localstack.services.lambda_.event_source_mapping.pollers.stream_poller"
IDLE_POLL_SECONDS = 0.25


def apply() -> None:
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller

    if getattr(StreamPoller.poll_events, "_sandbox_patch", False):
        return
    original_get_records, original_poll_events = StreamPoller.get_records, StreamPoller.poll_events

    def get_records(self, shard_iterator):
        response = original_get_records(self, shard_iterator)
        self.__dict__["_sandbox_found"] = bool(response.get("Records"))
        return response

    def poll_events(self):
        self.__dict__["_sandbox_found"] = None
        try:
            return original_poll_events(self)
        finally:
            found = self.__dict__.get("_sandbox_found")
            if found:
                self.__dict__["_sandbox_empty_shards"] = 0
            elif found is False:  # one shard polled, nothing in it
                empty = self.__dict__["_sandbox_empty_shards"] = self.__dict__.get("_sandbox_empty_shards", 0) + 1
                if empty >= max(1, len(self.shards or ())):  # a whole round: wait, as AWS's pollers do
                    self.__dict__["_sandbox_empty_shards"] = 0
                    stopped = esm_wake.stopped(self)
                    if stopped is not None:  # a stop during the poll or the wait ends it at once
                        stopped.wait(IDLE_POLL_SECONDS)
                    else:
                        time.sleep(IDLE_POLL_SECONDS)

    get_records._sandbox_patch = poll_events._sandbox_patch = True
    StreamPoller.get_records = get_records
    StreamPoller.poll_events = poll_events

    # a mapping stopped, deleted or shut down ends its wait at once: its worker then leaves the loop (a deleted
    # mapping stayed "Deleting" through the wait)
    esm_wake.install()
