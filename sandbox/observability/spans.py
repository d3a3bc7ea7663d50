"""The span: what the recorder keeps about one request or one hop, and the ids that link spans into traces.

A span is a plain JSON-able dict (it goes to the JSONL file and over HTTP as is):

    seq            int    monotonic cursor, assigned by the store (gaps only after a crash)
    ts             float  start, seconds since the epoch
    duration_ms    float
    kind           str    "request" (went through the gateway) or "hop" (synthetic: an execution, a DLQ move)
    hop            str?   how it came about / what it is: "lambda-exec", "lambda-async" (an async-invoke attempt),
                          "esm" (event source mapping delivery), "esm-poll" (its polls), "sfn-task",
                          "sfn-execution", "sqs-dlq", "events-target" (an EventBridge rule's call of its target),
                          "sns-delivery" (a topic's delivery to a subscriber), "logs-subscription" (a CloudWatch
                          Logs subscription filter's delivery)
    account, region, service, operation
    resource       str?   ARN of the resource acted on (S3: arn:aws:s3:::bucket/key), else a name
    resource_name  str?   short human name (function, queue, table, bucket/key)
    status         int?   HTTP status of a request; None for hops
    error          {code, message}?   AWS error, function error, failed execution
    caller         {kind: external|lambda|service, name, source_arn}
    trace_id       str    X-Ray root ("1-<hex time>-<24 hex>")
    span_id        str    16 hex
    parent_id      str?   span that caused this one
    links          [str]? further causes (other messages of an event source mapping batch)
    request_id     str?
    correlation_id str?   x-correlation-id header, message attribute, payload field, S3 metadata; else inherited
    request, response  str?   previews, at most PREVIEW_BYTES each
    noise          bool   machinery of the platform (hidden unless asked for)
    injected       dict?  fault injected by sandbox chaos into this request/invocation
    attrs          dict?  per-kind details (memory_mb, billed_ms, cold, attempt, message_id, state, ...)
    units          dict?  what the cost meter needs that only the full request shows (sizes, capacity units)
"""

from __future__ import annotations

import random
import time

_random = random.Random()  # span ids need uniqueness, not secrecy: os.urandom costs a syscall per id

PREVIEW_BYTES = 2048


def new_span_id() -> str:
    return f"{_random.getrandbits(64):016x}"


def new_trace_id() -> str:
    """An X-Ray trace id, the format LocalStack and the SDKs use for the Root of X-Amzn-Trace-Id."""
    return f"1-{int(time.time()):08x}-{_random.getrandbits(96):024x}"


def parse_trace_header(value: str | None) -> tuple[str | None, str | None]:
    """(Root, Parent) of an X-Amzn-Trace-Id value; (None, None) for nothing usable."""
    if not value:
        return None, None
    root = parent = None
    for part in value.split(";"):
        key, _, val = part.strip().partition("=")
        if key == "Root":
            root = val or None
        elif key == "Parent":
            parent = val or None
    return root, parent


def trace_header(trace_id: str, parent_id: str | None) -> str:
    if parent_id:
        return f"Root={trace_id};Parent={parent_id};Sampled=1"
    return f"Root={trace_id};Sampled=1"


def hop_span(*, ts: float, duration_ms: float, hop: str, account: str | None, region: str | None, service: str,
             operation: str, resource: str | None, resource_name: str | None, trace_id: str, span_id: str,
             parent_id: str | None, caller: dict | None = None, error: dict | None = None,
             correlation_id: str | None = None, request: str | None = None, response: str | None = None,
             request_id: str | None = None, injected: dict | None = None, attrs: dict | None = None,
             links: list | None = None) -> dict:
    """A synthetic span (kind "hop") with every field of the schema present."""
    return {
        "seq": None, "ts": ts, "duration_ms": round(duration_ms, 3), "kind": "hop", "hop": hop,
        "account": account, "region": region, "service": service, "operation": operation,
        "resource": resource, "resource_name": resource_name, "status": None, "error": error,
        "caller": caller or {"kind": "service", "name": service, "source_arn": None},
        "trace_id": trace_id, "span_id": span_id, "parent_id": parent_id, "links": links or None,
        "request_id": request_id, "correlation_id": correlation_id, "request": request, "response": response,
        "noise": False, "injected": injected, "attrs": attrs or None, "units": None,
    }
