"""CloudWatch Logs subscription filter deliveries, in the trace of the request that put the log events.

Patched LocalStack behaviour (localstack-core 2026.3.0): `localstack.services.logs.provider` patches moto's
`LogStream.put_log_events` to forward the events each subscription filter of the group matches to its
destination - a Lambda Invoke, a Kinesis PutRecord or a Firehose PutRecord, made with an internal client in the
PutLogEvents request's thread. That thread is bound to the PutLogEvents span (gateway.py), so the delivery is
already its child; a function's own log lines are shipped in the trace of its execution (lambda_logs_hops).

The patch marks the deliveries hop "logs-subscription", with the log group and stream (the caller, logs with
the log group's ARN, comes from LocalStack's client metadata).
"""

from __future__ import annotations

from sandbox.observability.engine import propagation

DELIVERY_OPERATIONS = frozenset({"Invoke", "PutRecord", "PutRecords", "PutRecordBatch"})


def install() -> None:
    import localstack.services.logs.provider  # noqa: F401 - its patch of put_log_events comes first
    from moto.logs.models import LogStream

    original = LogStream.put_log_events
    if getattr(original, "_sandbox_observability", False):
        return

    def put_log_events(self, *args, **kwargs):
        cur = propagation.current()
        group = getattr(self, "log_group", None)
        if cur is None or group is None or not getattr(group, "subscription_filters", None):
            return original(self, *args, **kwargs)
        hop = {"hop": "logs-subscription",
               "attrs": {"log_group": group.name, "log_stream": getattr(self, "log_stream_name", None)}}
        with propagation.bound(propagation.Current(cur.trace_id, cur.span_id, hop=hop,
                                                   hop_ops=DELIVERY_OPERATIONS)):
            return original(self, *args, **kwargs)

    put_log_events._sandbox_observability = True
    LogStream.put_log_events = put_log_events
