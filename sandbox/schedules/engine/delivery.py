"""One firing of a schedule: the payload to each target, retried by the target's RetryPolicy, then its
DeadLetterConfig queue - recorded as a span ("schedule" hop) that is the parent of the target's request.

EventBridge Scheduler targets are called the way Scheduler calls them (templated targets: Lambda Invoke with
InvocationType Event, SQS SendMessage, SNS Publish, Step Functions StartExecution, EventBridge PutEvents with
EventBridgeParameters; universal targets: the named API action with Input as its parameters), through
LocalStack's internal clients with service principal `scheduler` and the schedule as source ARN.
EventBridge rule targets go through LocalStack's own `TargetSender`s (localstack.services.events.target), so
Input, InputPath and InputTransformer behave exactly as for events on a bus.

The span is bound to the delivering thread (sandbox.observability.engine.propagation), so the target's
request - and everything it causes - is in the firing's trace.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field

from sandbox.schedules import targets as T
from sandbox.schedules.engine.sources import Entry

LOG = logging.getLogger(__name__)


class DeliveryError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


@dataclass
class Delivery:
    """The outcome of one firing to one target (what `fire` answers and `list` shows as the last firing)."""

    schedule: str
    target_arn: str
    execution_id: str
    scheduled_time: float
    manual: bool
    trace_id: str | None = None
    attempts: int = 0
    outcome: str = "pending"  # pending | retrying | delivered | dead-lettered | dropped | cancelled
    error: dict | None = None
    dead_letter_arn: str | None = None
    started: float = field(default_factory=time.time)
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_dict(self) -> dict:
        return {"schedule": self.schedule, "target": self.target_arn, "execution_id": self.execution_id,
                "scheduled_time": T.now_iso(self.scheduled_time), "manual": self.manual, "trace_id": self.trace_id,
                "attempts": self.attempts, "outcome": self.outcome, "error": self.error,
                "dead_letter_queue": self.dead_letter_arn}


# --- calling a target -----------------------------------------------------------------------------------------
def _factory(account: str, region: str):
    """Internal clients that do not retry on their own: the schedule's RetryPolicy decides about retries (botocore's
    would make each attempt up to five calls, with back-off)."""
    from botocore.config import Config
    from localstack.aws.connect import connect_to

    return connect_to(aws_access_key_id=account, region_name=region, config=Config(retries={"max_attempts": 0}))


def _region_of(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else default


def _snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action[0].upper() + action[1:]).lower()


def _call_scheduler_target(entry: Entry, target: dict, payload: str) -> None:
    arn = target["Arn"]
    kind = T.target_kind(arn)
    factory = _factory(entry.account, _region_of(arn, entry.region))
    meta = {"service_principal": "scheduler", "source_arn": entry.arn}
    if kind == "lambda":
        factory.lambda_.request_metadata(**meta).invoke(FunctionName=arn, InvocationType="Event",
                                                        Payload=payload.encode())
    elif kind == "sqs":
        from localstack.utils.aws.arns import sqs_queue_url_for_arn

        extra = {}
        if group := (target.get("SqsParameters") or {}).get("MessageGroupId"):
            extra["MessageGroupId"] = group
        factory.sqs.request_metadata(**meta).send_message(QueueUrl=sqs_queue_url_for_arn(arn), MessageBody=payload,
                                                          **extra)
    elif kind == "sns":
        factory.sns.request_metadata(**meta).publish(TopicArn=arn, Message=payload)
    elif kind == "states":
        factory.stepfunctions.request_metadata(**meta).start_execution(stateMachineArn=arn, input=payload)
    elif kind == "events":
        params = target.get("EventBridgeParameters") or {}
        result = factory.events.request_metadata(**meta).put_events(Entries=[{
            "EventBusName": arn, "Source": params.get("Source") or "aws.scheduler",
            "DetailType": params.get("DetailType") or "Scheduled Event", "Detail": payload,
            "Resources": [entry.arn]}])
        if result.get("FailedEntryCount"):
            failed = result["Entries"][0]
            raise DeliveryError(failed.get("ErrorCode") or "PutEventsFailed", failed.get("ErrorMessage") or "", 400)
    else:  # universal target: arn:aws:scheduler:::aws-sdk:<service>:<apiAction>, Input = the action's parameters
        m = T.UNIVERSAL.match(arn)
        try:
            params = json.loads(payload)
        except ValueError:
            raise DeliveryError("ValidationException", "a universal target's Input must be the JSON parameters "
                                f"of {m['action']}", 400) from None
        client = factory.get_client(m["service"]).request_metadata(**meta)
        getattr(client, _snake(m["action"]))(**params)


_senders: dict[tuple, object] = {}
_senders_lock = threading.Lock()


def _call_rule_target(entry: Entry, target: dict, event: dict, trace_header) -> None:
    from localstack.services.events.target import TargetSenderFactory

    key = (entry.arn, target.get("Id"), json.dumps(target, sort_keys=True, default=str))
    with _senders_lock:
        sender = _senders.get(key)
        if sender is None:
            sender = TargetSenderFactory(target, entry.arn, entry.name, entry.region, entry.account) \
                .get_target_sender()
            if not target.get("RoleArn"):  # LocalStack's client, without botocore's retries (see _factory)
                client = _factory(entry.account, entry.region).get_client(sender.service)
                sender._client = client.request_metadata(service_principal="events", source_arn=entry.arn)
                sender._register_client_hooks(sender._client)
            _senders[key] = sender
    sender.process_event(json.loads(json.dumps(event)), trace_header=trace_header)


def _classify(e: Exception) -> DeliveryError:
    if isinstance(e, DeliveryError):
        return e
    from botocore.exceptions import ClientError

    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return DeliveryError(err.get("Code") or "ClientError", err.get("Message") or str(e), status)
    if isinstance(e, T.TargetError):
        return DeliveryError("ValidationException", str(e), 400)
    return DeliveryError(type(e).__name__, str(e), None)


# --- one firing -----------------------------------------------------------------------------------------------
def deliver(entry: Entry, target: dict, delivery: Delivery, *, clock, cancelled: threading.Event,
            event: dict | None = None) -> None:
    """Delivers one firing to one target, with retries and the dead-letter queue; records its span.
    `clock()` is the engine's time (it may run ahead of the wall clock, see timer.Timer.advance)."""
    from sandbox.observability import recorder as recorder_mod
    from sandbox.observability.engine import propagation
    from sandbox.observability.spans import new_span_id, new_trace_id

    rec = recorder_mod.get()
    trace_id, span_id = new_trace_id(), new_span_id()
    delivery.trace_id = trace_id
    caller = {"kind": "service", "name": "scheduler" if entry.kind == "schedule" else "events", "source_arn": None}
    if rec is not None:
        rec.open(span_id, trace_id, None, caller)
    policy = T.RetryPolicy.of(target)
    t0, first_at = time.perf_counter(), clock()
    payload = None
    error: DeliveryError | None = None
    exhausted = None
    try:
        while True:
            delivery.attempts += 1
            if entry.kind == "schedule":
                payload = T.render_input(target.get("Input"), schedule_arn=entry.arn,
                                         scheduled_time=delivery.scheduled_time,
                                         execution_id=delivery.execution_id, attempt=delivery.attempts)
            try:
                with propagation.bound(propagation.Current(trace_id, span_id)):
                    if entry.kind == "schedule":
                        _call_scheduler_target(entry, target, payload)
                    else:
                        from localstack.utils.xray.trace_header import TraceHeader

                        payload = json.dumps(event)
                        _call_rule_target(entry, target, event, TraceHeader(root=trace_id, parent=span_id, sampled=1))
                delivery.outcome, error = "delivered", None
                break
            except Exception as e:  # noqa: BLE001 - every failure of the target is the schedule's to handle
                error = _classify(e)
            if not T.is_retryable(error.code, error.status):
                exhausted = "NonRetryableError"
                break
            retries_done = delivery.attempts - 1
            wait = policy.delay(retries_done + 1)
            exhausted = policy.gives_up(retries_done, clock() - first_at, wait)
            if exhausted:
                break
            delivery.outcome = "retrying"
            if cancelled.wait(wait):
                delivery.outcome = "cancelled"
                return
        if error is not None:
            delivery.error = {"code": error.code, "message": error.message, "exhausted": exhausted}
            with propagation.bound(propagation.Current(trace_id, span_id)):  # the DLQ send is in the trace too
                _dead_letter(entry, target, delivery, payload or "{}", error, exhausted)
    finally:
        _record(rec, entry, target, delivery, trace_id, span_id, caller, payload, t0)
        delivery.done.set()


def _dead_letter(entry: Entry, target: dict, delivery: Delivery, payload: str, error: DeliveryError,
                 exhausted: str | None) -> None:
    dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not dlq:
        delivery.outcome = "dropped"
        LOG.info("schedule %s: delivery to %s failed (%s) and there is no DeadLetterConfig: dropped", entry.label,
                 target.get("Arn"), error)
        return
    if entry.kind == "schedule":
        attrs = T.scheduler_dlq_attributes(code=error.code, message=error.message,
                                           execution_id=delivery.execution_id, schedule_arn=entry.arn,
                                           scheduled_time=delivery.scheduled_time, target_arn=target["Arn"],
                                           attempts=delivery.attempts)
    else:
        attrs = T.rule_dlq_attributes(code=error.code, message=error.message, rule_arn=entry.arn,
                                      target_arn=target["Arn"], attempts=delivery.attempts,
                                      exhausted=exhausted or "")
    from localstack.utils.aws.arns import sqs_queue_url_for_arn

    try:
        factory = _factory(entry.account, _region_of(dlq, entry.region))
        principal = "scheduler" if entry.kind == "schedule" else "events"
        factory.sqs.request_metadata(service_principal=principal, source_arn=entry.arn).send_message(
            QueueUrl=sqs_queue_url_for_arn(dlq), MessageBody=payload, MessageAttributes=attrs)
        delivery.outcome, delivery.dead_letter_arn = "dead-lettered", dlq
    except Exception as e:  # noqa: BLE001
        delivery.outcome = "dropped"
        delivery.error = {**(delivery.error or {}), "dead_letter_error": str(_classify(e))}
        LOG.warning("schedule %s: could not send to its dead-letter queue %s: %s", entry.label, dlq, e)


def _record(rec, entry: Entry, target: dict, delivery: Delivery, trace_id: str, span_id: str, caller: dict,
            payload: str | None, t0: float) -> None:
    if rec is None or not rec.enabled:
        return
    from sandbox.observability.preview import preview
    from sandbox.observability.spans import hop_span

    error = None
    if delivery.error:
        error = {"code": delivery.error["code"], "message": delivery.error["message"]}
    rec.record(hop_span(
        ts=delivery.started, duration_ms=(time.perf_counter() - t0) * 1000, hop="schedule", account=entry.account,
        region=entry.region, service="scheduler" if entry.kind == "schedule" else "events", operation="Fire",
        resource=entry.arn, resource_name=entry.label, trace_id=trace_id, span_id=span_id, parent_id=None,
        caller=caller, error=error, request=preview(payload) if payload else None,
        attrs={"expression": entry.expression, "timezone": entry.timezone, "target": target.get("Arn"),
               "execution_id": delivery.execution_id, "scheduled_time": T.now_iso(delivery.scheduled_time),
               "attempts": delivery.attempts, "outcome": delivery.outcome, "manual": delivery.manual,
               "dead_letter_queue": delivery.dead_letter_arn}))
