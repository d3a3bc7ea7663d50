"""Traffic and readings for the media-pipeline labs: uploads, the Jobs table, queues, the worker's mapping.

A check drives its own traffic under `ctx.run_id/`, so jobs of earlier checks (or of the attendee's own tries)
are never counted.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

from scenarios.labs.context import CheckContext

MAGIC = b"MEDIA1"


def upload(ctx: CheckContext, key: str, good: bool = True) -> None:
    body = (MAGIC if good else b"MEDIA2") + f" {key} ".encode() * 64
    ctx.sb.client("s3").put_object(Bucket=ctx.output("UploadsBucket"), Key=key, Body=body)


def jobs(ctx: CheckContext, keys: list[str]) -> dict[str, dict]:
    """{key: job} of these keys (numbers as ints, attempts 0 when missing); keys without a job are left out."""
    table = ctx.sb.client("dynamodb", observer=True)  # the check reading: noise, not billed
    out = {}
    for key in keys:
        item = table.get_item(TableName=ctx.output("JobsTableName"), Key={"key": {"S": key}},
                              ConsistentRead=True).get("Item")
        if item:
            job = {name: (int(v["N"]) if "N" in v else next(iter(v.values()))) for name, v in item.items()}
            job.setdefault("attempts", 0)
            out[key] = job
    return out


def mapping(ctx: CheckContext, function: str, queue_arn: str) -> dict:
    found = [m for m in ctx.sb.client("lambda", observer=True).list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
             if m["EventSourceArn"] == queue_arn]
    if not found:
        ctx.fail(f"the worker {function} has no SQS event on the jobs queue: put its Jobs event back in "
                 "template.yaml")
    return found[0]


def set_enabled(ctx: CheckContext, uuid: str, enabled: bool) -> None:
    lam = ctx.sb.client("lambda")
    lam.update_event_source_mapping(UUID=uuid, Enabled=enabled)
    want = "Enabled" if enabled else "Disabled"
    ctx.wait_until(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == want, timeout=30)


@contextmanager
def worker_paused(ctx: CheckContext):
    """The worker's mapping paused while the block runs (so uploads queue up and arrive as one batch), resumed
    however the block ends: a failed check never leaves the attendee's worker switched off."""
    arn = queue_attributes(ctx, ctx.output("JobsQueueUrl"))["QueueArn"]
    uuid = mapping(ctx, ctx.output("WorkerFunctionName"), arn)["UUID"]
    set_enabled(ctx, uuid, False)
    try:
        yield
    finally:
        set_enabled(ctx, uuid, True)


def queue_attributes(ctx: CheckContext, url: str) -> dict:
    return ctx.sb.client("sqs", observer=True).get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def redrive_policy(ctx: CheckContext) -> dict | None:
    raw = queue_attributes(ctx, ctx.output("JobsQueueUrl")).get("RedrivePolicy")
    return json.loads(raw) if raw else None


def queue_url_of(ctx: CheckContext, arn: str) -> str | None:
    sqs = ctx.sb.client("sqs", observer=True)
    try:
        return sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return None


def parked_keys(ctx: CheckContext, dlq_url: str) -> list[str]:
    """The upload keys of the messages in a dead-letter queue (peeked: they stay there)."""
    keys = []
    for message in ctx.sb.dlq.peek(dlq_url, max_messages=100):
        try:
            keys.append(json.loads(message.body)["key"])
        except (ValueError, KeyError, TypeError):
            continue
    return keys


def queue_depth(ctx: CheckContext, url: str) -> int:
    """Messages in the queue, visible, in flight or delayed: 0 means nothing can be delivered (again)."""
    attrs = queue_attributes(ctx, url)
    return sum(int(attrs.get(name, 0)) for name in ("ApproximateNumberOfMessages",
                                                      "ApproximateNumberOfMessagesNotVisible",
                                                      "ApproximateNumberOfMessagesDelayed"))
