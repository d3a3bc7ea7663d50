"""Event source mapping deliveries, linked to the request that produced the records they deliver.

Patched LocalStack behaviour (localstack-core 2026.3.0):

* `localstack.services.lambda_.event_source_mapping.pollers.sqs_poller.SqsPoller.handle_messages` gets the
  messages one ReceiveMessage of the mapping returned, filters them, invokes the function through the ESM
  processor and deletes what succeeded.
* `localstack.services.lambda_.event_source_mapping.esm_event_processor.EsmEventProcessor.process_events_batch`
  delivers one batch of any source (DynamoDB and Kinesis streams, SQS) to the function.

* `...pollers.stream_poller.StreamPoller.forward_events_to_target` delivers the records of one GetRecords of a
  DynamoDB/Kinesis stream: it retries `process_events_batch` and finally sends what failed to the mapping's
  OnFailure destination.

They bind the poller's thread, for that batch, to the span that produced its first record: the SendMessage
that put the message in the queue (sqs_hops records message id -> span when a message is stored; failing that,
the message's AWSTraceHeader), or the write that produced a DynamoDB stream record (stream_hops). The Invoke
the mapping makes is then that span's child, marked hop "esm", with the source as caller, the attempt (the
message's receive count, or the how-many-th delivery of this batch for streams) and links to the producers of
the other records of the batch. The mapping's DeleteMessageBatch joins the trace too.
"""

from __future__ import annotations

import json

from sandbox.observability import correlation
from sandbox.observability.engine import propagation
from sandbox.observability import recorder as recorder_mod
from sandbox.observability.recorder import GenerationMap
from sandbox.observability.spans import new_trace_id, parse_trace_header

MAX_LINKS = 20
_attempts = GenerationMap(20_000)


def _record_id(record: dict) -> str | None:
    return record.get("MessageId") or record.get("messageId") or record.get("eventID")


def _trace_attribute(record: dict) -> str | None:
    attrs = record.get("Attributes") or record.get("attributes") or {}
    return attrs.get("AWSTraceHeader") if isinstance(attrs, dict) else None


def _receive_count(record: dict) -> int | None:
    attrs = record.get("Attributes") or record.get("attributes") or {}
    try:
        return int(attrs.get("ApproximateReceiveCount"))
    except (TypeError, ValueError, AttributeError):
        return None


def _correlation(record: dict) -> str | None:
    return (correlation.from_attributes(record.get("MessageAttributes") or record.get("messageAttributes"))
            or correlation.from_payload(record.get("Body") or record.get("body")))


def current_for(records: list, source_arn: str | None, count_attempt: bool = True) -> propagation.Current | None:
    rec = recorder_mod._recorder
    if rec is None or not rec.enabled or not records:
        return None
    parents: list[tuple[str, str, str | None]] = []
    ids = []
    for record in records:
        if not isinstance(record, dict):
            continue
        rid = _record_id(record)
        ids.append(rid)
        producer = rec.producers.get(rid) if rid else None
        if producer is not None:
            parents.append((producer.trace_id, producer.span_id, producer.correlation_id))
            continue
        root, parent = parse_trace_header(_trace_attribute(record))
        if root:
            parents.append((root, parent, rec.inherited_correlation(parent)))
    first = records[0] if isinstance(records[0], dict) else {}
    source = source_arn or first.get("eventSourceARN")
    service = source.split(":")[2] if source and source.count(":") >= 2 else None
    attempt = _receive_count(first)
    if attempt is None and ids and ids[0] and count_attempt:
        key = (source, ids[0])
        attempt = (_attempts.get(key) or 0) + 1
        _attempts[key] = attempt
    if parents:
        trace_id, parent_id, corr = parents[0]
    else:
        trace_id, parent_id, corr = new_trace_id(), None, None
    links = sorted({p[1] for p in parents[1:] if p[1] and p[1] != parent_id})[:MAX_LINKS]
    hop = {
        "hop": "esm",
        "caller": {"kind": "service", "name": service, "source_arn": source},
        "attrs": {"batch_size": len(records), "attempt": attempt, "record_ids": [i for i in ids[:10] if i]},
        "links": links,
        "correlation_id": corr or _correlation(first),
    }
    return propagation.Current(trace_id, parent_id, hop=hop, hop_ops={"Invoke"})


def install() -> None:
    from localstack.services.lambda_.event_source_mapping.esm_event_processor import EsmEventProcessor
    from localstack.services.lambda_.event_source_mapping.senders.lambda_sender import LambdaSender
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller

    if not getattr(StreamPoller.forward_events_to_target, "_sandbox_observability", False):
        original_forward = StreamPoller.forward_events_to_target

        def forward_events_to_target(self, shard_id, records):
            cur = current_for(records, self.source_arn, count_attempt=False)
            if cur is None:
                return original_forward(self, shard_id, records)
            # the trace only (each delivery attempt below is marked by process_events_batch); an OnFailure
            # destination sent at the end joins the trace
            with propagation.bound(propagation.Current(cur.trace_id, cur.span_id)):
                return original_forward(self, shard_id, records)

        forward_events_to_target._sandbox_observability = True
        StreamPoller.forward_events_to_target = forward_events_to_target

    if not getattr(SqsPoller.handle_messages, "_sandbox_observability", False):
        original_handle = SqsPoller.handle_messages

        def handle_messages(self, messages):
            cur = current_for(messages, self.source_arn)
            if cur is None:
                return original_handle(self, messages)
            with propagation.bound(cur):
                return original_handle(self, messages)

        handle_messages._sandbox_observability = True
        SqsPoller.handle_messages = handle_messages

    if not getattr(EsmEventProcessor.process_events_batch, "_sandbox_observability", False):
        original_process = EsmEventProcessor.process_events_batch

        def process_events_batch(self, input_events):
            existing = propagation.current()
            if existing is not None and existing.hop_json is not None:
                return original_process(self, input_events)  # bound by handle_messages already
            events = input_events if isinstance(input_events, list) else [input_events]
            cur = current_for(events, None)
            if cur is None:
                return original_process(self, input_events)
            with propagation.bound(cur):
                return original_process(self, input_events)

        process_events_batch._sandbox_observability = True
        EsmEventProcessor.process_events_batch = process_events_batch

    if not getattr(LambdaSender.send_events, "_sandbox_observability", False):
        original_send = LambdaSender.send_events

        def send_events(self, events):
            # whether the mapping reads the function's batchItemFailures (FunctionResponseTypes): without it Lambda
            # deletes every record of a batch whose answer lists failed ones (gateway.service_span shows which)
            cur = propagation.current()
            if cur is None or cur.hop_json is None:
                return original_send(self, events)
            hop = json.loads(cur.hop_json)
            hop["attrs"] = {**(hop.get("attrs") or {}),
                            "report_batch_item_failures": bool(self.report_batch_item_failures)}
            with propagation.bound(propagation.Current(cur.trace_id, cur.span_id, hop=hop, hop_ops=cur.hop_ops)):
                return original_send(self, events)

        send_events._sandbox_observability = True
        LambdaSender.send_events = send_events
