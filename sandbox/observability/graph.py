"""The service map: resources as nodes, observed calls between them as edges.

An edge caller -> callee is counted for every recorded call: the caller is the node of the span's caller (a
function, the bucket of an S3 notification, the queue of an event source mapping, `external`, or a service
acting for nobody in particular), the callee the node of its resource (resources.node_of). Counted per edge:
calls, errors, p50 and max latency, operations. Not edges: executions and Step Functions runs (they happen
*in* a node: counted on the node), the polls of event source mappings (the deliveries, source -> function,
are the edges), and the 202 of an asynchronous Invoke - its attempts ("lambda-async", attributed to the
original caller) are the calls.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from sandbox.observability.callers import node_of_caller
from sandbox.observability.resources import node_of, short_name

IN_NODE_HOPS = ("lambda-exec", "sfn-execution", "schedule")  # schedule: a firing (sandbox/schedules)
SKIPPED_HOPS = ("esm-poll",)


def _service_of(node: str) -> str:
    if node == "external":
        return "external"
    if node.startswith("service:"):
        return node.split(":", 1)[1]
    if node.startswith("arn:"):
        parts = node.split(":")
        return parts[2] if len(parts) > 2 else "?"
    return "?"


def _is_async_ack(span: dict) -> bool:
    """The 202 of an Event Invoke, whoever made it (an EventBridge target, an SNS delivery: hops too)."""
    attrs = span.get("attrs") or {}
    return span.get("service") == "lambda" and span.get("operation") == "Invoke" and \
        attrs.get("invocation_type") == "Event" and span.get("hop") != "lambda-async"


def build_graph(spans: Iterable[dict], include_noise: bool = False) -> dict:
    nodes: dict[str, dict] = {}
    edges: dict[tuple[str, str], dict] = {}

    def node(node_id: str) -> dict:
        found = nodes.get(node_id)
        if found is None:
            kind = "external" if node_id == "external" else "service" if node_id.startswith("service:") else "resource"
            found = nodes[node_id] = {"id": node_id, "label": short_name(node_id), "service": _service_of(node_id),
                                      "kind": kind, "calls": 0, "errors": 0, "executions": 0, "execution_errors": 0}
        return found

    for span in spans:
        if span.get("noise") and not include_noise:
            continue
        target = node_of(span.get("resource")) or f"service:{span.get('service')}"
        if span.get("hop") in IN_NODE_HOPS:
            n = node(target)
            n["executions"] += 1
            n["execution_errors"] += 1 if span.get("error") else 0
            continue
        if _is_async_ack(span) or span.get("hop") in SKIPPED_HOPS:
            continue
        source = node_of_caller(span.get("caller"))
        node(source)
        n = node(target)
        n["calls"] += 1
        n["errors"] += 1 if span.get("error") else 0
        edge = edges.get((source, target))
        if edge is None:
            edge = edges[(source, target)] = {"source": source, "target": target, "count": 0, "errors": 0,
                                              "durations": [], "operations": {}}
        edge["count"] += 1
        edge["errors"] += 1 if span.get("error") else 0
        edge["durations"].append(span.get("duration_ms") or 0.0)
        op = f"{span.get('service')}:{span.get('operation')}"
        edge["operations"][op] = edge["operations"].get(op, 0) + 1
    out_edges = []
    for edge in edges.values():
        durations = edge.pop("durations")
        edge["p50_ms"] = round(statistics.median(durations), 3) if durations else None
        edge["max_ms"] = round(max(durations), 3) if durations else None
        edge["source_label"] = short_name(edge["source"])
        edge["target_label"] = short_name(edge["target"])
        out_edges.append(edge)
    out_edges.sort(key=lambda e: (-e["count"], e["source"], e["target"]))
    return {"nodes": sorted(nodes.values(), key=lambda n: n["id"]), "edges": out_edges}


# Error codes services answer when they throttle (sandbox.faults.templates.THROTTLING_ERRORS injects these too).
THROTTLE_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException",
                            "TooManyRequestsException", "SlowDown", "Throttling", "ThrottledException",
                            "RequestLimitExceeded"})


def throttled_edges(spans: Iterable[dict]) -> dict[tuple[str, str], int]:
    """Throttled requests per service-map edge: {(source, target): count}."""
    throttled = [s for s in spans if (s.get("error") or {}).get("code") in THROTTLE_CODES]
    return {(e["source"], e["target"]): e["count"] for e in build_graph(throttled)["edges"]}
