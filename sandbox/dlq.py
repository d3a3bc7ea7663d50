"""Dead-letter queues: find them, look inside without consuming, send their messages back, empty them.

    from sandbox import Sandbox
    dlqs = Sandbox().dlq                      # or DeadLetterQueues(sb, region="eu-west-1")
    for q in dlqs.list():
        print(q.name, q.depth, [s.describe() for s in q.sources])
    dlqs.peek("jobs-dlq")                     # PeekedMessage objects; the queue is left as it was
    dlqs.redrive("jobs-dlq")                  # back to the one source queue (or to="other-queue")
    dlqs.purge("jobs-dlq")

A queue counts as a dead-letter queue when something sends its failures there:
  - an SQS queue's RedrivePolicy (deadLetterTargetArn, with its maxReceiveCount),
  - a Lambda function's DeadLetterConfig (async invokes whose retries are exhausted: the original event),
  - a Lambda event invoke config's OnFailure destination (async invokes: a record wrapping event and error),
  - an event source mapping's OnFailure destination (stream batches that could not be processed),
  - an SNS subscription's RedrivePolicy, an EventBridge rule target's DeadLetterConfig.

Peeking. SQS has no read-only view of a queue: peek *receives* the messages, with a visibility timeout as a
safety net, and at once makes them visible again (ChangeMessageVisibilityBatch to 0). The depth does not change
and consumers see the messages again a moment later. But every receive counts, on AWS as here: each peek adds
one to the messages' ApproximateReceiveCount (peek reports the count as it was *before* the peek), and if the
DLQ has a RedrivePolicy of its own (a DLQ chain), peeks count toward its maxReceiveCount. In a FIFO queue a
peek sees at most 10 messages per message group: a group's later messages wait while earlier ones are in flight.

Redriving uses SQS StartMessageMoveTask, which LocalStack 2026.3.0 implements (ListMessageMoveTasks to follow
it). It applies only to a queue that is some queue's RedrivePolicy target and it moves the messages that are
visible. For anything else — a Lambda DLQ, FIFO queues, a refused or failed task — the messages are moved by
hand: receive, send (same body, message attributes, AWSTraceHeader, message group), delete.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from sandbox.errors import SandboxError

# What sends failures to a DLQ: kind -> how it is shown.
SOURCE_KINDS = {
    "sqs-redrive": "queue",
    "lambda-dlq": "function",
    "lambda-on-failure": "function",
    "esm-on-failure": "function",
    "sns-redrive": "SNS topic",
    "eventbridge-target": "EventBridge rule",
}
_LINK = {
    "sqs-redrive": "RedrivePolicy",
    "lambda-dlq": "DeadLetterConfig",
    "lambda-on-failure": "async OnFailure destination",
    "esm-on-failure": "event source mapping OnFailure destination",
    "sns-redrive": "subscription RedrivePolicy",
    "eventbridge-target": "DeadLetterConfig",
}
_NONEXISTENT = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "ResourceNotFoundException")
_PEEK_VISIBILITY = 30  # seconds a peeked message stays hidden should we die before making it visible again
_BATCH_BYTES = 200_000  # under SendMessageBatch's 256 KiB total


def _code(e: ClientError) -> str:
    return e.response.get("Error", {}).get("Code", "")


def _message(e: ClientError) -> str:
    return e.response.get("Error", {}).get("Message", "") or str(e)


def _arn_name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def _arn_region(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[3] else None


def _is_sqs_arn(arn: str | None) -> bool:
    return bool(arn) and arn.startswith("arn:") and ":sqs:" in arn


def _function_name(arn: str) -> tuple[str, str | None]:
    """(name, qualifier) of a function ARN arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[5] == "function":
        return parts[6], (parts[7] if len(parts) > 7 else None)
    return arn, None


def parse_queue_ref(ref: str) -> tuple[str | None, str]:
    """(region or None, queue name) of a queue name, URL or ARN."""
    ref = ref.strip()
    if ref.startswith("arn:"):
        return _arn_region(ref), _arn_name(ref)
    if "://" in ref:
        parts = urlsplit(ref)
        segments = [s for s in parts.path.split("/") if s]
        if not segments:
            raise SandboxError(f"{ref!r} is not a queue URL (no queue name in its path)")
        region = None
        if len(segments) >= 4 and segments[-4] == "queue":  # path strategy: /queue/REGION/ACCOUNT/NAME
            region = segments[-3]
        elif m := re.match(r"^sqs\.([a-z0-9-]+)\.", parts.hostname or ""):  # sqs.REGION.localhost...
            region = m.group(1)
        return region, segments[-1]
    return None, ref


def ms_to_iso(value: str | int | None) -> str | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (TypeError, ValueError):
        return None


# --- what the API returns ------------------------------------------------------------------------------------
@dataclass
class DlqSource:
    """Something that sends its failures to a DLQ."""

    kind: str  # one of SOURCE_KINDS
    name: str  # the queue, function, topic or rule name
    arn: str
    max_receive_count: int | None = None  # sqs-redrive only
    detail: str | None = None  # qualifier, event source, subscription endpoint, target id

    def describe(self) -> str:
        text = f"{SOURCE_KINDS.get(self.kind, self.kind)} {self.name} ({_LINK.get(self.kind, self.kind)}"
        if self.max_receive_count is not None:
            text += f", maxReceiveCount {self.max_receive_count}"
        if self.detail:
            text += f", {self.detail}"
        return text + ")"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "arn": self.arn, "max_receive_count": self.max_receive_count,
                "detail": self.detail, "description": self.describe()}


@dataclass
class DeadLetterQueue:
    name: str
    arn: str
    region: str
    url: str | None
    exists: bool = True  # False: configured as a DLQ, but there is no such queue
    visible: int = 0  # ApproximateNumberOfMessages
    in_flight: int = 0  # ApproximateNumberOfMessagesNotVisible
    delayed: int = 0  # ApproximateNumberOfMessagesDelayed
    fifo: bool = False
    redrive_policy: dict | None = None  # the DLQ's own RedrivePolicy: a DLQ chain
    sources: list[DlqSource] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return self.visible + self.in_flight

    @property
    def max_receive_count(self) -> int | None:
        """The maxReceiveCount of the queues redriving here, when they agree (each source has its own)."""
        counts = {s.max_receive_count for s in self.sources if s.max_receive_count is not None}
        return counts.pop() if len(counts) == 1 else None

    @property
    def source_queues(self) -> list[DlqSource]:
        return [s for s in self.sources if s.kind == "sqs-redrive"]

    def as_dict(self) -> dict:
        return {"name": self.name, "url": self.url, "arn": self.arn, "region": self.region, "exists": self.exists,
                "depth": self.depth, "visible": self.visible, "in_flight": self.in_flight, "delayed": self.delayed,
                "fifo": self.fifo, "max_receive_count": self.max_receive_count, "redrive_policy": self.redrive_policy,
                "sources": [s.as_dict() for s in self.sources]}


@dataclass
class PeekedMessage:
    message_id: str
    body: str
    attributes: dict[str, str]  # system attributes, ApproximateReceiveCount as it was before the peek
    message_attributes: dict[str, dict]  # name -> {"type": DataType, "value": str (binary as base64)}
    receive_count: int  # receives before this peek
    failure: dict | None = None  # what went wrong, when the message says (Lambda, SQS redrive, EventBridge)
    json: object = None  # the body parsed, when it is JSON
    is_json: bool = False

    @property
    def sent(self) -> str | None:
        return ms_to_iso(self.attributes.get("SentTimestamp"))

    def pretty_body(self) -> str:
        return json.dumps(self.json, indent=2, ensure_ascii=False) if self.is_json else self.body

    def as_dict(self) -> dict:
        return {"message_id": self.message_id, "body": self.body, "json": self.json if self.is_json else None,
                "is_json": self.is_json, "sent": self.sent, "receive_count": self.receive_count,
                "attributes": self.attributes, "message_attributes": self.message_attributes,
                "failure": self.failure}

    @classmethod
    def from_sqs(cls, m: dict) -> "PeekedMessage":
        attributes = dict(m.get("Attributes", {}))
        # Our own receive counted: report the message as it was before we looked.
        count = max(int(attributes.get("ApproximateReceiveCount", "1")) - 1, 0)
        attributes["ApproximateReceiveCount"] = str(count)
        if count == 0:
            attributes.pop("ApproximateFirstReceiveTimestamp", None)  # that first receive was ours
        mattrs = {}
        for name, value in (m.get("MessageAttributes") or {}).items():
            if "StringValue" in value:
                text = value["StringValue"]
            elif "BinaryValue" in value:
                raw = value["BinaryValue"]
                text = base64.b64encode(raw if isinstance(raw, bytes) else str(raw).encode()).decode()
            else:
                text = ""
            mattrs[name] = {"type": value.get("DataType", "String"), "value": text}
        body = m.get("Body", "")
        try:
            parsed, is_json = json.loads(body), True
        except ValueError:
            parsed, is_json = None, False
        return cls(message_id=m["MessageId"], body=body, attributes=attributes, message_attributes=mattrs,
                   receive_count=count, failure=_failure(parsed if is_json else None, attributes, mattrs),
                   json=parsed, is_json=is_json)


def _failure(body, attributes: dict, mattrs: dict) -> dict | None:
    """What the message tells about the failure that put it here."""
    values = {k: v["value"] for k, v in mattrs.items()}
    if isinstance(body, dict) and isinstance(body.get("requestContext"), dict) and (
            "responsePayload" in body or "responseContext" in body or "condition" in body["requestContext"]):
        # A Lambda destination record (async OnFailure, or an event source mapping's OnFailure).
        ctx = body["requestContext"]
        payload = body.get("responsePayload") if isinstance(body.get("responsePayload"), dict) else {}
        out = {"kind": "lambda-destination", "condition": ctx.get("condition"),
               "approximate_invoke_count": ctx.get("approximateInvokeCount"), "function_arn": ctx.get("functionArn"),
               "request_id": ctx.get("requestId"),
               "function_error": (body.get("responseContext") or {}).get("functionError"),
               "error_type": payload.get("errorType"), "error_message": payload.get("errorMessage")}
        for key in ("DDBStreamBatchInfo", "KinesisBatchInfo", "SQSBatchInfo", "KafkaBatchInfo"):
            if key in body:
                out["batch_info"] = body[key]
        return out
    if {"ErrorCode", "ErrorMessage", "RequestID"} & values.keys():
        # Lambda DeadLetterConfig (and SNS subscription DLQs in LocalStack).
        return {"kind": "lambda-dlq", "request_id": values.get("RequestID"), "error_code": values.get("ErrorCode"),
                "error_message": values.get("ErrorMessage")}
    if {"ERROR_CODE", "ERROR_MESSAGE", "RULE_ARN", "TARGET_ARN"} & values.keys():
        return {"kind": "eventbridge", "error_code": values.get("ERROR_CODE"),
                "error_message": values.get("ERROR_MESSAGE"), "rule_arn": values.get("RULE_ARN"),
                "target_arn": values.get("TARGET_ARN"),
                "retry_condition": values.get("EXHAUSTED_RETRY_CONDITION")}
    if attributes.get("DeadLetterQueueSourceArn"):
        return {"kind": "sqs-redrive", "source_arn": attributes["DeadLetterQueueSourceArn"],
                "source": _arn_name(attributes["DeadLetterQueueSourceArn"])}
    return None


@dataclass
class RedriveResult:
    queue: str
    queue_arn: str
    destination: str
    destination_arn: str
    moved: int
    method: str  # "StartMessageMoveTask", "receive-send-delete", or both joined by "+"
    seconds: float
    remaining: int  # depth of the DLQ afterwards (in flight elsewhere, or arrived meanwhile)
    note: str | None = None  # why the fallback was used

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class PurgeResult:
    queue: str
    queue_arn: str
    deleted: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class _MoveTaskUnavailable(Exception):
    pass


# --- the engine ------------------------------------------------------------------------------------------
class DeadLetterQueues:
    """The DLQs of one region of a sandbox, through its boto3 clients only."""

    def __init__(self, sb, region: str | None = None):
        self.sb = sb
        self.region = region or sb.settings.region

    def in_region(self, region: str | None) -> "DeadLetterQueues":
        return self if not region or region == self.region else DeadLetterQueues(self.sb, region)

    def _client(self, service: str, region: str | None = None):
        """For looking (discovery, depth, peek): an observer client, whose requests the recorder files as platform
        noise. What changes queues (redrive, purge) goes through `mover`, as your traffic."""
        return self.sb.client(service, region or self.region, observer=True)

    @property
    def sqs(self):
        return self._client("sqs")

    @property
    def mover(self):
        """The SQS client of redrive and purge: visible in the recorder like any other request of yours."""
        return self.sb.client("sqs", self.region)

    # --- discovery -----------------------------------------------------------------------------------------
    def list(self) -> list[DeadLetterQueue]:
        """Every queue something sends its failures to, with depth and sources, sorted by name."""
        queues = self._queues()
        links: dict[str, list[DlqSource]] = {}
        for arn, q in queues.items():
            policy = _json(q["attributes"].get("RedrivePolicy"))
            target = policy.get("deadLetterTargetArn")
            if target:
                links.setdefault(target, []).append(DlqSource(
                    "sqs-redrive", q["name"], arn, max_receive_count=_int(policy.get("maxReceiveCount"))))
        running = self._running_services()
        for service, finder in (("lambda", self._lambda_links), ("sns", self._sns_links),
                                ("events", self._eventbridge_links)):
            if running is None or service in running:  # a service never started has no resources
                try:
                    for target, source in finder():
                        links.setdefault(target, []).append(source)
                except ClientError:
                    pass  # one service's trouble must not hide the other DLQs
        out = []
        for arn, sources in links.items():
            dlq = self._dlq(arn, queues.get(arn))
            dlq.sources = sorted(sources, key=lambda s: (s.kind, s.name, s.detail or ""))
            out.append(dlq)
        return sorted(out, key=lambda d: (d.name, d.arn))

    def get(self, queue: "str | DeadLetterQueue") -> DeadLetterQueue:
        """The DLQ named by a queue name, URL or ARN; a SandboxError listing the DLQs if it is not one."""
        if isinstance(queue, DeadLetterQueue):
            return self.in_region(queue.region)._refresh(queue)
        region, name = parse_queue_ref(queue)
        if region and region != self.region:
            return self.in_region(region).get(queue)
        dlqs = self.list()
        for dlq in dlqs:
            if dlq.name == name and (not queue.startswith("arn:") or dlq.arn == queue):
                if not dlq.exists:
                    raise SandboxError(f"queue {name!r} is the DLQ of {_sources_text(dlq)}, but it does not exist in "
                                       f"{self.region}: create it, or the failures sent there are lost")
                return dlq
        known = ", ".join(d.name for d in dlqs if d.exists) or "none"
        if self._queue_url(name):
            raise SandboxError(
                f"queue {name!r} is not a dead-letter queue: no queue RedrivePolicy, Lambda DeadLetterConfig or "
                f"OnFailure destination, SNS subscription or EventBridge target sends to it. "
                f"DLQs in {self.region}: {known}")
        raise SandboxError(f"no queue {name!r} in {self.region}. DLQs in {self.region}: {known}")

    # --- peek ----------------------------------------------------------------------------------------------
    def peek(self, queue: "str | DeadLetterQueue", max_messages: int = 10) -> list[PeekedMessage]:
        """Up to `max_messages` messages of the DLQ, left in place and visible again right away.

        Each message's ApproximateReceiveCount goes up by one (as on AWS); it is reported as before the peek.
        """
        dlq = self.get(queue)
        if dlq.region != self.region:
            return self.in_region(dlq.region).peek(dlq, max_messages)
        if max_messages < 1:
            return []
        seen: dict[str, dict] = {}
        handles: list[str] = []
        try:
            while len(seen) < max_messages:
                resp = self.sqs.receive_message(
                    QueueUrl=dlq.url, MaxNumberOfMessages=min(10, max_messages - len(seen)), WaitTimeSeconds=0,
                    VisibilityTimeout=_PEEK_VISIBILITY, MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"])
                messages = resp.get("Messages", [])
                if not messages:
                    break
                for m in messages:
                    handles.append(m["ReceiptHandle"])
                    seen.setdefault(m["MessageId"], m)
        finally:
            self._make_visible(dlq.url, handles)
        peeked = [PeekedMessage.from_sqs(m) for m in seen.values()]
        if not dlq.fifo:  # a FIFO queue's receive order is its order; otherwise oldest first
            peeked.sort(key=lambda p: int(p.attributes.get("SentTimestamp") or 0))
        return peeked

    def _make_visible(self, url: str, handles: list[str]) -> None:
        for i in range(0, len(handles), 10):
            chunk = handles[i:i + 10]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                    {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0} for n, h in enumerate(chunk)])
            except ClientError:
                for h in chunk:  # one by one, so one gone message does not keep the others hidden
                    try:
                        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=h, VisibilityTimeout=0)
                    except ClientError:
                        pass

    # --- redrive -------------------------------------------------------------------------------------------
    def redrive(self, queue: "str | DeadLetterQueue", to: str | None = None, timeout: float = 60.0) -> RedriveResult:
        """Moves the DLQ's messages back to its one source queue, or to the queue `to`; waits until done."""
        dlq = self.get(queue)
        if dlq.region != self.region:
            return self.in_region(dlq.region).redrive(dlq, to, timeout)
        dest_name, dest_url, dest_arn, dest_attrs = self._destination(dlq, to)
        dest_fifo = dest_attrs.get("FifoQueue") == "true"

        started = time.monotonic()
        deadline = started + timeout
        moved, methods, note = 0, [], None
        if dlq.fifo:
            # LocalStack's move task re-sends with the original deduplication id: back in the source within 5
            # minutes, the message would be silently dropped as a duplicate.
            note = "FIFO queues are moved by hand, with new deduplication ids"
        else:
            try:
                n, failure = self._move_task(dlq, dest_arn, deadline)
                moved += n
                methods.append("StartMessageMoveTask")
                if failure:
                    note = f"the message move task failed ({failure}) after {n} message(s); moved the rest by hand"
            except _MoveTaskUnavailable as e:
                note = str(e)
        if note:
            moved += self._move_by_hand(dlq.url, dest_url, dest_fifo, deadline)
            methods.append("receive-send-delete")
        remaining = self._refresh(dlq).depth
        return RedriveResult(queue=dlq.name, queue_arn=dlq.arn, destination=dest_name, destination_arn=dest_arn,
                             moved=moved, method="+".join(methods), seconds=round(time.monotonic() - started, 3),
                             remaining=remaining, note=note)

    def _move_task(self, dlq: DeadLetterQueue, dest_arn: str, deadline: float) -> tuple[int, str | None]:
        """(moved, failure reason or None) of an SQS message move task, followed until it ends."""
        try:
            handle = self.mover.start_message_move_task(SourceArn=dlq.arn, DestinationArn=dest_arn)["TaskHandle"]
        except ClientError as e:
            if "already a task running" in _message(e):
                raise SandboxError(f"a message move task is already running for {dlq.name}: wait for it, or cancel it "
                                   f"(aws sqs cancel-message-move-task)") from None
            raise _MoveTaskUnavailable(f"StartMessageMoveTask was refused ({_code(e)}: {_message(e)}); "
                                       f"moved the messages by hand") from None
        while True:
            results = self.mover.list_message_move_tasks(SourceArn=dlq.arn, MaxResults=10).get("Results", [])
            # Most recent first; only one task per source can be active, so the newest one is ours.
            task = next((t for t in results if t.get("TaskHandle") == handle), results[0] if results else None)
            status = task.get("Status") if task else None
            moved = int((task or {}).get("ApproximateNumberOfMessagesMoved") or 0)
            if status == "COMPLETED":
                return moved, None
            if status in ("FAILED", "CANCELLED"):
                return moved, task.get("FailureReason") or status.lower()
            if time.monotonic() > deadline:
                try:
                    self.mover.cancel_message_move_task(TaskHandle=handle)
                except ClientError:
                    pass
                raise SandboxError(f"the message move task of {dlq.name} did not finish in time ({moved} message(s) "
                                   f"moved so far); it was cancelled")
            time.sleep(0.05)

    def _move_by_hand(self, src_url: str, dest_url: str, dest_fifo: bool, deadline: float) -> int:
        moved = 0
        while time.monotonic() < deadline:
            messages = self.mover.receive_message(
                QueueUrl=src_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=_PEEK_VISIBILITY,
                MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
            if not messages:
                return moved
            for batch in _size_batches(messages):
                entries = {str(i): _send_entry(str(i), m, dest_fifo) for i, m in enumerate(batch)}
                resp = self.mover.send_message_batch(QueueUrl=dest_url, Entries=list(entries.values()))
                sent = [batch[int(ok["Id"])] for ok in resp.get("Successful", [])]
                if sent:
                    self.mover.delete_message_batch(QueueUrl=src_url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(sent)])
                    moved += len(sent)
                if failed := resp.get("Failed", []):
                    self._make_visible(src_url, [batch[int(f["Id"])]["ReceiptHandle"] for f in failed])
                    reasons = "; ".join(sorted({f"{f.get('Code')}: {f.get('Message')}" for f in failed}))
                    raise SandboxError(f"{len(failed)} message(s) could not be sent ({reasons}); {moved} moved, the "
                                       f"rest left in place")
        raise SandboxError(f"redrive did not finish in time: {moved} message(s) moved, the rest left in place")

    # --- purge ---------------------------------------------------------------------------------------------
    def purge(self, queue: "str | DeadLetterQueue", timeout: float = 10.0) -> PurgeResult:
        """Deletes every message of the DLQ (visible, in flight and delayed); returns how many there were."""
        dlq = self.get(queue)
        if dlq.region != self.region:
            return self.in_region(dlq.region).purge(dlq, timeout)
        count = dlq.depth + dlq.delayed
        try:
            self.mover.purge_queue(QueueUrl=dlq.url)
        except ClientError as e:
            if _code(e) in ("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress"):
                raise SandboxError(f"{dlq.name} was purged less than 60 s ago (one purge a minute, as on AWS): "
                                   f"try again shortly") from None
            raise
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self._refresh(dlq)
            if now.depth + now.delayed == 0:
                break
            time.sleep(0.05)
        return PurgeResult(queue=dlq.name, queue_arn=dlq.arn, deleted=count)

    # --- helpers -------------------------------------------------------------------------------------------
    def _queues(self) -> dict[str, dict]:
        """arn -> {name, url, attributes} of every queue of the region."""
        urls: list[str] = []
        for page in self.sqs.get_paginator("list_queues").paginate(PaginationConfig={"PageSize": 1000}):
            urls.extend(page.get("QueueUrls", []))
        out = {}
        for url in urls:
            try:
                attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            except ClientError as e:
                if _code(e) in _NONEXISTENT:
                    continue  # deleted meanwhile
                raise
            out[attrs["QueueArn"]] = {"name": _arn_name(attrs["QueueArn"]), "url": url, "attributes": attrs}
        return out

    def _dlq(self, arn: str, queue: dict | None) -> DeadLetterQueue:
        region = _arn_region(arn) or self.region
        if queue is None and region != self.region:  # a DLQ in another region than its sources
            try:
                url = self._client("sqs", region).get_queue_url(QueueName=_arn_name(arn))["QueueUrl"]
                attrs = self._client("sqs", region).get_queue_attributes(
                    QueueUrl=url, AttributeNames=["All"])["Attributes"]
                queue = {"name": _arn_name(arn), "url": url, "attributes": attrs}
            except ClientError:
                queue = None
        if queue is None:
            return DeadLetterQueue(name=_arn_name(arn), arn=arn, region=region, url=None, exists=False,
                                   fifo=arn.endswith(".fifo"))
        a = queue["attributes"]
        return DeadLetterQueue(
            name=queue["name"], arn=arn, region=region, url=queue["url"],
            visible=_int(a.get("ApproximateNumberOfMessages")) or 0,
            in_flight=_int(a.get("ApproximateNumberOfMessagesNotVisible")) or 0,
            delayed=_int(a.get("ApproximateNumberOfMessagesDelayed")) or 0,
            fifo=a.get("FifoQueue") == "true", redrive_policy=_json(a.get("RedrivePolicy")) or None)

    def _refresh(self, dlq: DeadLetterQueue) -> DeadLetterQueue:
        """The same DLQ with its current depth."""
        try:
            attrs = self.sqs.get_queue_attributes(QueueUrl=dlq.url, AttributeNames=["All"])["Attributes"]
        except ClientError as e:
            if _code(e) in _NONEXISTENT:
                raise SandboxError(f"queue {dlq.name} no longer exists") from None
            raise
        fresh = self._dlq(dlq.arn, {"name": dlq.name, "url": dlq.url, "attributes": attrs})
        fresh.sources = dlq.sources
        return fresh

    def _queue_url(self, name: str) -> str | None:
        try:
            return self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as e:
            if _code(e) in _NONEXISTENT:
                return None
            raise

    def check_destination(self, queue: "str | DeadLetterQueue", to: str | None = None) -> str:
        """The name of the queue `redrive(queue, to)` would move the messages to; SandboxError saying why it would
        refuse (no such queue, the DLQ itself, FIFO into standard or back, no one source queue without `to`)."""
        dlq = self.get(queue)
        if dlq.region != self.region:
            return self.in_region(dlq.region).check_destination(dlq, to)
        return self._destination(dlq, to)[0]

    def _destination(self, dlq: DeadLetterQueue, to: str | None) -> tuple[str, str, str, dict]:
        if to:
            dest_name, dest_url, dest_arn, dest_attrs = self._any_queue(to)
        else:
            if len(dlq.sources) != 1 or dlq.sources[0].kind != "sqs-redrive":
                listed = "; ".join(s.describe() for s in dlq.sources)
                why = ("it has several sources" if len(dlq.sources) > 1 else
                       "its source is not a queue, so its messages have no queue to go back to")
                raise SandboxError(f"cannot redrive {dlq.name} without --to: {why}: {listed}. "
                                   f"Choose the destination with --to QUEUE.")
            dest_name, dest_url, dest_arn, dest_attrs = self._any_queue(dlq.sources[0].arn)
        if dest_arn == dlq.arn:
            raise SandboxError(f"cannot redrive {dlq.name} into itself")
        if dlq.fifo != (dest_attrs.get("FifoQueue") == "true"):
            kinds = ("FIFO", "standard") if dlq.fifo else ("standard", "FIFO")
            raise SandboxError(f"cannot redrive the {kinds[0]} queue {dlq.name} into the {kinds[1]} queue {dest_name}")
        return dest_name, dest_url, dest_arn, dest_attrs

    def _any_queue(self, ref: str) -> tuple[str, str, str, dict]:
        """(name, url, arn, attributes) of any existing queue named by name, URL or ARN."""
        region, name = parse_queue_ref(ref)
        sqs = self._client("sqs", region)
        url = self.in_region(region)._queue_url(name)
        if not url:
            raise SandboxError(f"no queue {name!r} in {region or self.region} to redrive to")
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return name, url, attrs["QueueArn"], attrs

    def _running_services(self) -> set[str] | None:
        """Services the backend has started (resources exist only there); None if it does not say."""
        try:
            services = self.sb.http.get(f"{self.sb.endpoint}/_localstack/health", timeout=5).json()["services"]
        except Exception:  # noqa: BLE001 - then every service is asked
            return None
        return {name for name, state in services.items() if state == "running"}

    def _lambda_links(self):
        lam = self._client("lambda")
        for page in lam.get_paginator("list_functions").paginate():
            for fn in page.get("Functions", []):
                name, arn = fn["FunctionName"], fn["FunctionArn"]
                target = (fn.get("DeadLetterConfig") or {}).get("TargetArn")
                if _is_sqs_arn(target):
                    yield target, DlqSource("lambda-dlq", name, arn)
                try:
                    configs = lam.list_function_event_invoke_configs(FunctionName=name).get(
                        "FunctionEventInvokeConfigs", [])
                except ClientError:
                    configs = []
                for cfg in configs:
                    target = ((cfg.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
                    if _is_sqs_arn(target):
                        qualifier = _function_name(cfg.get("FunctionArn", ""))[1]
                        yield target, DlqSource("lambda-on-failure", name, cfg.get("FunctionArn", arn),
                                                detail=f"qualifier {qualifier}" if qualifier else None)
        for page in lam.get_paginator("list_event_source_mappings").paginate():
            for esm in page.get("EventSourceMappings", []):
                target = ((esm.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
                if _is_sqs_arn(target):
                    fn_name = _function_name(esm.get("FunctionArn", ""))[0]
                    source = esm.get("EventSourceArn") or "?"
                    yield target, DlqSource("esm-on-failure", fn_name, esm.get("FunctionArn", ""),
                                            detail=f"from {source}, mapping {esm.get('UUID')}")

    def _sns_links(self):
        sns = self._client("sns")
        for page in sns.get_paginator("list_subscriptions").paginate():
            for sub in page.get("Subscriptions", []):
                sub_arn = sub.get("SubscriptionArn", "")
                if not sub_arn.startswith("arn:"):
                    continue  # PendingConfirmation
                try:
                    attrs = sns.get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]
                except ClientError:
                    continue
                target = _json(attrs.get("RedrivePolicy")).get("deadLetterTargetArn")
                if _is_sqs_arn(target):
                    yield target, DlqSource("sns-redrive", _arn_name(sub.get("TopicArn", "")), sub_arn,
                                            detail=f"{sub.get('Protocol')} {sub.get('Endpoint')}")

    def _eventbridge_links(self):
        events = self._client("events")
        for bus in events.list_event_buses().get("EventBuses", []):
            bus_name = bus["Name"]
            for page in events.get_paginator("list_rules").paginate(EventBusName=bus_name):
                for rule in page.get("Rules", []):
                    targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus_name).get("Targets", [])
                    for target in targets:
                        dlq_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
                        if _is_sqs_arn(dlq_arn):
                            name = rule["Name"] if bus_name == "default" else f"{bus_name}/{rule['Name']}"
                            yield dlq_arn, DlqSource("eventbridge-target", name, rule["Arn"],
                                                     detail=f"target {target['Id']}")


def _sources_text(dlq: DeadLetterQueue) -> str:
    return "; ".join(s.describe() for s in dlq.sources)


def _json(text) -> dict:
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _send_entry(entry_id: str, m: dict, dest_fifo: bool) -> dict:
    """A SendMessageBatch entry carrying a received message's body, message attributes and trace header."""
    entry = {"Id": entry_id, "MessageBody": m["Body"]}
    if m.get("MessageAttributes"):
        entry["MessageAttributes"] = {
            name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
            for name, value in m["MessageAttributes"].items()}
    attrs = m.get("Attributes", {})
    if attrs.get("AWSTraceHeader"):
        entry["MessageSystemAttributes"] = {"AWSTraceHeader": {"DataType": "String",
                                                               "StringValue": attrs["AWSTraceHeader"]}}
    if dest_fifo:
        entry["MessageGroupId"] = attrs.get("MessageGroupId") or "redrive"
        entry["MessageDeduplicationId"] = uuid.uuid4().hex  # a redriven message is not a duplicate
    return entry


def _size_batches(messages: list[dict]) -> list[list[dict]]:
    batches, current, size = [], [], 0
    for m in messages:
        n = len(m["Body"].encode()) + sum(len(k) + len(str(v.get("StringValue") or v.get("BinaryValue") or ""))
                                          for k, v in (m.get("MessageAttributes") or {}).items())
        if current and size + n > _BATCH_BYTES:
            batches.append(current)
            current, size = [], 0
        current.append(m)
        size += n
    if current:
        batches.append(current)
    return batches
