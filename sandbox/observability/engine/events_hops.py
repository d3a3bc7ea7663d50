"""EventBridge rule targets, in the trace of the PutEvents whose event they deliver.

Patched LocalStack behaviour (localstack-core 2026.3.0, `localstack.services.events`): `provider.EventsProvider.
_process_entry` matches rules on a worker thread of its own ("events-process-rules"), so the PutEvents request's
thread - and its span - is gone when a target is called. It hands each target
`target.TargetSender.process_event(event, trace_header)` the request's trace header (which the gateway handler
rewrote to name the PutEvents span), but of the senders only Lambda and event-bus targets put it on their call:
an SQS, SNS, Step Functions, Firehose or Logs target started a new trace. Scheduled rules call `process_event`
with a fresh trace header (a scheduled event starts a trace, as in AWS).

The patch binds the thread, for one `process_event`, to that header's trace and parent, marking the target's
call hop "events-target" with the rule, the target id, the bus and the event id. Every internal call the sender
makes then carries the trace (propagation.inject_headers): the target call itself, the AWSTraceHeader of an
SQS message it sends, the trace of a state machine it starts. The caller (events, with the rule's ARN) comes
from the sender's client metadata as before.
"""

from __future__ import annotations

from sandbox.observability.engine import propagation
from sandbox.observability import recorder as recorder_mod
from sandbox.observability.spans import new_trace_id, parse_trace_header

# The calls a target sender makes for its target (not the STS AssumeRole of a target with a RoleArn)
TARGET_OPERATIONS = frozenset({
    "Invoke", "SendMessage", "Publish", "StartExecution", "StartSyncExecution", "PutEvents", "PutRecord",
    "PutRecordBatch", "PutRecords", "CreateLogStream", "PutLogEvents", "SendCommand", "RunTask", "SubmitJob",
})


def bus_of_rule(rule_arn: str | None) -> str:
    """"arn:...:rule/<bus>/<rule>" -> "<bus>"; "arn:...:rule/<rule>" (the default bus) -> "default"."""
    resource = (rule_arn or "").split(":", 5)[-1]
    parts = resource.split("/")
    return parts[1] if len(parts) == 3 else "default"


def _root_and_parent(trace_header) -> tuple[str | None, str | None]:
    if trace_header is None:
        return None, None
    if isinstance(trace_header, str):
        return parse_trace_header(trace_header)
    return getattr(trace_header, "root", None), getattr(trace_header, "parent", None)


def current_for(sender, event, trace_header) -> propagation.Current | None:
    rec = recorder_mod._recorder
    if rec is None or not rec.enabled:
        return None
    root, parent = _root_and_parent(trace_header)
    cur = propagation.current()
    if not root and cur is not None:
        root, parent = cur.trace_id, cur.span_id
    attrs = {"rule": sender.rule_name, "target_id": sender.target_id, "event_bus": bus_of_rule(sender.rule_arn)}
    if isinstance(event, dict) and event.get("id"):
        attrs["event_id"] = event["id"]
    return propagation.Current(root or new_trace_id(), parent, hop={"hop": "events-target", "attrs": attrs},
                               hop_ops=TARGET_OPERATIONS)


def _wrap(cls) -> None:
    original = cls.__dict__["process_event"]
    if getattr(original, "_sandbox_observability", False):
        return

    def process_event(self, event, trace_header):
        cur = current_for(self, event, trace_header)
        if cur is None:
            return original(self, event, trace_header)
        with propagation.bound(cur):
            return original(self, event, trace_header)

    process_event._sandbox_observability = True
    cls.process_event = process_event


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def install() -> None:
    from localstack.services.events.target import TargetSender

    # the base class, and a subclass that overrides process_event without calling it through the class
    # attribute (sandbox.localstack_ext.patches.events_sfn_input_path wraps the base method it found)
    for cls in (TargetSender, *_subclasses(TargetSender)):
        if "process_event" in cls.__dict__:
            _wrap(cls)
