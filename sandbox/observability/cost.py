"""Cost meter: what the recorded traffic of a time window would cost on AWS, at us-east-1 list prices.

Priced from spans (prices in sandbox/data/prices.json, with their sources):
    Lambda          one request per execution (retries included) + GB-seconds = memory x billed duration
                    (the REPORT line's Billed Duration) per execution; arm64 at the Arm price
    API Gateway     REST API invocations; HTTP API invocations, each 512 KB of a request counting as one
    SQS             requests, each 64 KB chunk of a payload counting as one (standard and FIFO prices)
    Step Functions  Standard workflows: state transitions of each finished execution
    DynamoDB        on-demand read and write request units (size-based approximation, see units.py)
    S3              PUT/COPY/POST/LIST-class and GET/other-class requests; DELETE is free
    EventBridge     custom events published
    SES             emails (one per recipient)
Failed requests (status >= 400) are priced where AWS bills them (`billed_failure`): an API Gateway request that
reached its integration (whatever it answered) or failed request validation, and a DynamoDB write whose condition
failed (write units for the larger of the stored item and its own); a failed Lambda invocation is an execution like
any other. Not priced: noise spans (platform machinery: the number of empty polls here depends on the sandbox's poll
interval, not on AWS's), other failed requests (API requests refused before their integration: not authorized, no
route, throttled; failed SQS, S3, ... calls; cancelled DynamoDB transactions), free tiers, data transfer, storage,
CloudWatch, Express workflows, Lambda INIT time and provisioned concurrency.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from sandbox.observability.units import billed_error

PRICES_PATH = Path(__file__).resolve().parent.parent / "data" / "prices.json"
S3_FREE_PREFIXES = ("Delete", "Abort")
S3_TIER1_PREFIXES = ("Put", "Copy", "Post", "List", "Create", "Complete", "Upload", "Restore")


@lru_cache(maxsize=4)
def load_prices(path: str | None = None) -> dict:
    return json.loads(Path(path or PRICES_PATH).read_text())


def s3_tier(operation: str | None) -> str | None:
    """"tier1" (PUT, COPY, POST, LIST), "tier2" (GET and all other requests) or None (free)."""
    if not operation or operation.startswith(S3_FREE_PREFIXES):
        return None
    if operation.startswith(S3_TIER1_PREFIXES):
        return "tier1"
    return "tier2"


def billed_failure(span: dict) -> bool:
    """Whether AWS bills a request span that failed (status >= 400).

    API Gateway bills the requests it hands to the integration (whatever the integration answers) and those that fail
    request validation, not those refused before as not authorized (401/403), without a matching route (404) or
    throttled (429) - AWS answers on re:Post (the API Gateway pricing page's former note). The span says whether the
    integration was reached (`attrs.integration`, engine/apigw_hops.py and the HTTP API gateway)."""
    status, service = span.get("status") or 0, span.get("service")
    if service == "apigateway":
        return bool((span.get("attrs") or {}).get("integration")) or status not in (401, 403, 404, 429)
    return billed_error(service, span.get("error"))


def estimate(spans: Iterable[dict], prices: dict | None = None) -> dict:
    prices = prices or load_prices()
    q: dict[tuple[str, str], float] = {}
    first = last = None
    counted = 0

    def add(service: str, item: str, quantity: float) -> None:
        if quantity:
            q[(service, item)] = q.get((service, item), 0) + quantity

    for span in spans:
        if span.get("noise"):
            continue
        ts = span.get("ts")
        if ts is not None:
            first = ts if first is None else min(first, ts)
            last = ts if last is None else max(last, ts)
        counted += 1
        service, operation, hop = span.get("service"), span.get("operation"), span.get("hop")
        attrs = span.get("attrs") or {}
        units = span.get("units") or {}
        if hop == "lambda-exec":
            add("lambda", "requests", 1)
            gb_s = (attrs.get("memory_mb") or 128) / 1024 * (attrs.get("billed_ms") or 0) / 1000
            add("lambda", "gb_seconds_arm64" if attrs.get("arch") == "arm64" else "gb_seconds_x86_64", gb_s)
            continue
        if hop == "sfn-execution":
            if attrs.get("type") == "STANDARD":
                add("stepfunctions", "state_transitions", attrs.get("state_transitions") or 0)
            continue
        if span.get("kind") != "request" or ((span.get("status") or 0) >= 400 and not billed_failure(span)):
            continue
        if service == "apigateway" and operation == "Execute":
            if attrs.get("api_type") == "http":
                add("apigateway", "http_requests", units.get("requests") or 1)
            else:
                add("apigateway", "rest_requests", 1)
        elif service == "sqs":
            add("sqs", "fifo_requests" if units.get("fifo") else "standard_requests", units.get("requests") or 1)
        elif service == "dynamodb":
            add("dynamodb", "write_request_units", units.get("wru") or 0)
            add("dynamodb", "read_request_units", units.get("rru") or 0)
        elif service == "s3":
            tier = s3_tier(operation)
            if tier:
                add("s3", f"{tier}_requests", 1)
        elif service == "events":
            add("events", "custom_events", units.get("events") or 0)
        elif service in ("ses", "sesv2"):
            add("ses", "emails", units.get("emails") or 0)

    unit_prices = {
        ("lambda", "requests"): prices["lambda"]["request"],
        ("lambda", "gb_seconds_x86_64"): prices["lambda"]["gb_second"]["x86_64"],
        ("lambda", "gb_seconds_arm64"): prices["lambda"]["gb_second"]["arm64"],
        ("apigateway", "rest_requests"): prices["apigateway"]["rest_request"],
        ("apigateway", "http_requests"): prices["apigateway"]["http_request"],
        ("sqs", "standard_requests"): prices["sqs"]["standard_request"],
        ("sqs", "fifo_requests"): prices["sqs"]["fifo_request"],
        ("stepfunctions", "state_transitions"): prices["stepfunctions"]["standard_state_transition"],
        ("dynamodb", "write_request_units"): prices["dynamodb"]["write_request_unit"],
        ("dynamodb", "read_request_units"): prices["dynamodb"]["read_request_unit"],
        ("s3", "tier1_requests"): prices["s3"]["tier1_request"],
        ("s3", "tier2_requests"): prices["s3"]["tier2_request"],
        ("events", "custom_events"): prices["events"]["custom_event"],
        ("ses", "emails"): prices["ses"]["email"],
    }
    lines = []
    by_service: dict[str, float] = {}
    for (service, item), quantity in sorted(q.items()):
        unit_price = unit_prices[(service, item)]
        cost = quantity * unit_price
        lines.append({"service": service, "item": item, "quantity": round(quantity, 9), "unit_price": unit_price,
                      "cost": cost, "source": prices[service].get("source")})
        by_service[service] = by_service.get(service, 0.0) + cost
    return {
        "currency": prices.get("currency", "USD"),
        "region": prices.get("region", "us-east-1"),
        "prices_as_of": prices.get("as_of"),
        "window": {"from_ts": first, "to_ts": last, "spans": counted},
        "lines": lines,
        "by_service": by_service,
        "total": sum(by_service.values()),
        "note": prices.get("note"),
    }
