"""SQS: which request produced each message, and the move of a message to its dead-letter queue.

Patched LocalStack behaviour (localstack-core 2026.3.0, `localstack.services.sqs.models`):

* `StandardQueue.put` / `FifoQueue.put` store a message. They run in the thread of the request that sends it
  (SendMessage[Batch] by anyone, or S3/SNS/EventBridge/Lambda delivering through their internal clients), so
  the span bound to that thread is the message's producer: message id -> (trace, span, correlation id). Kept
  only the first time a message id is seen, so a DLQ move or a redrive does not replace the producer.
* `StandardQueue.receive` / `FifoQueue.receive` return, next to the messages received, the ones whose receive
  count passed the redrive policy's maxReceiveCount; `SqsProvider.receive_message` then puts those into the
  dead-letter queue. For each, a hop span "sqs-dlq" (operation MoveToDLQ) is recorded in the trace of the
  message's producer: source queue, dead-letter queue, receive count, message id.
"""

from __future__ import annotations

import time

from sandbox.observability.engine import propagation
from sandbox.observability import recorder as recorder_mod
from sandbox.observability.recorder import Producer
from sandbox.observability.preview import preview
from sandbox.observability.spans import hop_span, new_span_id, new_trace_id, parse_trace_header


def _remember_producer(message) -> None:
    rec = recorder_mod._recorder
    cur = propagation.current()
    if rec is None or cur is None or not cur.span_id or not isinstance(message, dict):
        return
    message_id = message.get("MessageId")
    if message_id and rec.producers.get(message_id) is None:
        info = rec.spans.get(cur.span_id)
        rec.producers[message_id] = Producer(cur.trace_id, cur.span_id, info.correlation_id if info else None)


def _record_dlq_moves(queue, dead_letter_messages) -> None:
    rec = recorder_mod._recorder
    if rec is None or not rec.enabled:
        return
    policy = getattr(queue, "redrive_policy", None) or {}
    dlq_arn = policy.get("deadLetterTargetArn")
    for sqs_message in dead_letter_messages:
        message = getattr(sqs_message, "message", None) or {}
        message_id = message.get("MessageId")
        producer = rec.producers.get(message_id) if message_id else None
        if producer is not None:
            trace_id, parent_id, corr = producer
        else:
            root, parent_id = parse_trace_header((message.get("Attributes") or {}).get("AWSTraceHeader"))
            cur = propagation.current()
            trace_id = root or (cur.trace_id if cur else None) or new_trace_id()
            parent_id = parent_id or (cur.span_id if cur and not root else None)
            corr = rec.inherited_correlation(parent_id)
        dlq_name = dlq_arn.rsplit(":", 1)[-1] if dlq_arn else None
        # ApproximateReceiveCount: the deliveries consumers saw (LocalStack's internal count includes this receive)
        try:
            received = int((message.get("Attributes") or {}).get("ApproximateReceiveCount"))
        except (TypeError, ValueError):
            received = getattr(sqs_message, "receive_count", None)
        arn_parts = queue.arn.split(":")
        rec.record(hop_span(
            ts=time.time(), duration_ms=0.0, hop="sqs-dlq", account=arn_parts[4] if len(arn_parts) > 4 else None,
            region=arn_parts[3] if len(arn_parts) > 3 else None, service="sqs", operation="MoveToDLQ",
            resource=dlq_arn, resource_name=dlq_name, trace_id=trace_id, span_id=new_span_id(),
            parent_id=parent_id, caller={"kind": "service", "name": "sqs", "source_arn": queue.arn},
            error={"code": "MaxReceiveCountExceeded",
                   "message": f"moved to {dlq_name} after {received} receives"},
            correlation_id=corr, request=preview(message.get("Body")),
            attrs={"message_id": message_id, "source_queue": queue.arn, "dead_letter_queue": dlq_arn,
                   "receive_count": received,
                   "max_receive_count": policy.get("maxReceiveCount")},
        ))


def install() -> None:
    from localstack.services.sqs.models import FifoQueue, StandardQueue

    for cls in (StandardQueue, FifoQueue):
        if getattr(cls.put, "_sandbox_observability", False):
            continue
        original_put, original_receive = cls.put, cls.receive

        def put(self, message, *args, _original=original_put, **kwargs):
            result = _original(self, message, *args, **kwargs)
            _remember_producer(message)
            return result

        def receive(self, *args, _original=original_receive, **kwargs):
            result = _original(self, *args, **kwargs)
            if getattr(result, "dead_letter_messages", None):
                _record_dlq_moves(self, result.dead_letter_messages)
            return result

        put._sandbox_observability = receive._sandbox_observability = True
        cls.put, cls.receive = put, receive
