"""DynamoDB stream records, linked to the write that produced them.

Patched behaviour: `sandbox.dynamodb_moto.streams._record` (the sandbox's DynamoDB Streams over moto; moto-ext
shipped with LocalStack 2026.3.0) appends one stream record to a table's shard. It runs at the end of the
writing request (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems), in that request's
thread, so the span bound there is the record's producer: event id -> (trace, span, correlation id). The
event source mapping that delivers the record to a function links its Invoke to it (esm_hops).
"""

from __future__ import annotations

from sandbox.observability.engine import propagation
from sandbox.observability import recorder as recorder_mod
from sandbox.observability.recorder import Producer


def install() -> None:
    from sandbox.dynamodb_moto import streams

    original = streams._record
    if getattr(original, "_sandbox_observability", False):
        return

    def _record(shard, old, new):
        before = len(shard.items)
        original(shard, old, new)
        rec = recorder_mod._recorder
        cur = propagation.current()
        if rec is None or cur is None or not cur.span_id or len(shard.items) <= before:
            return
        event_id = getattr(shard.items[-1], "record", {}).get("eventID")
        if event_id:
            info = rec.spans.get(cur.span_id)
            rec.producers[event_id] = Producer(cur.trace_id, cur.span_id, info.correlation_id if info else None)

    _record._sandbox_observability = True
    streams._record = _record
