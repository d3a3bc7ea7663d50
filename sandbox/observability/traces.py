"""A trace as a tree: its spans in waterfall order (each after its parent, siblings by start time), with depth.

Without noise, a span whose parent is hidden hangs under its nearest visible ancestor: S3's PutEvents of an
EventBridge notification and Lambda's PutLogEvents of a function's logs are platform noise, but what they lead
to (a rule's targets, a subscription filter's delivery) belongs to the trace of the request that caused them.
"""

from __future__ import annotations

from sandbox.observability.probes import failed_records

MAX_HIDDEN_DEPTH = 64


def without_noise(spans: list[dict]) -> list[dict]:
    """The spans that are not noise; those under hidden ones re-parented to their nearest visible ancestor."""
    hidden = {s["span_id"]: s.get("parent_id") for s in spans if s.get("noise") and s.get("span_id")}
    out = []
    for span in spans:
        if span.get("noise"):
            continue
        parent = span.get("parent_id")
        for _ in range(MAX_HIDDEN_DEPTH):
            if parent not in hidden:
                break
            parent = hidden[parent]
        out.append(span if parent == span.get("parent_id") else dict(span, parent_id=parent))
    return out


def build_trace(trace_id: str, spans: list[dict], include_noise: bool = True) -> dict:
    """`spans`: the trace's spans, noise included; `include_noise=False` hides the noise (see module doc)."""
    if not include_noise:
        spans = without_noise(spans)
    spans = sorted(spans, key=lambda s: (s.get("ts") or 0, s.get("seq") or 0))
    by_id = {s["span_id"]: s for s in spans if s.get("span_id")}
    children: dict[str | None, list[dict]] = {}
    roots: list[dict] = []
    for span in spans:
        parent = span.get("parent_id")
        if parent and parent in by_id and parent != span.get("span_id"):
            children.setdefault(parent, []).append(span)
        else:
            roots.append(span)
    ordered: list[dict] = []
    seen: set[str] = set()

    def walk(span: dict, depth: int) -> None:
        sid = span.get("span_id")
        if sid in seen:
            return
        seen.add(sid)
        ordered.append(dict(span, depth=depth))
        for child in children.get(sid, ()):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    if not spans:
        return {"trace_id": trace_id, "spans": [], "roots": [], "orphans": [], "start": None, "duration_ms": 0,
                "services": [], "errors": 0}
    start = spans[0].get("ts") or 0
    end = max((s.get("ts") or 0) + (s.get("duration_ms") or 0) / 1000 for s in spans)
    return {
        "trace_id": trace_id,
        "spans": ordered,
        "roots": [r.get("span_id") for r in roots if not r.get("parent_id")],
        "orphans": [r.get("span_id") for r in roots if r.get("parent_id")],
        "start": start,
        "duration_ms": round((end - start) * 1000, 3),
        "services": sorted({s.get("service") for s in spans if s.get("service")}),
        # failed spans, and batch answers that listed failed records (what `events --errors` shows too)
        "errors": sum(1 for s in spans if s.get("error") or failed_records(s)),
    }
