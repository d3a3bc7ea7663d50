"""The recorder's HTTP API, served by the LocalStack gateway next to the other `/_sandbox/*` routes.

    GET  /_sandbox/events     ?since=<cursor>&limit=&service=a,b&trace=&correlation=&errors=1&all=1&wait=<s>
                              -> {"events": [...], "cursor": n}. Without `since`: the newest `limit` events.
                              `wait` long-polls until a matching event arrives (at most 60 s).
    GET  /_sandbox/traces/<trace_id>?all=1   -> the trace's spans in waterfall order, with depth and parent links
    GET  /_sandbox/graph      ?all=1&since_ts=&until_ts=   -> service map {"nodes", "edges"}
    GET  /_sandbox/cost       ?since=<cursor>&since_ts=&until_ts=   -> cost estimate of the window
    GET  /_sandbox/recorder   -> {"enabled", "cursor", "spans", "capacity", "file", "requests",
                                  "handler_ms_total", "handler_us_per_request" (time in the recorder's
                                  gateway handlers), "spans_built_later" and "build_cpu_ms_total" (the
                                  spans built after their request's answer, by the span writer or a
                                  reader, and the thread CPU that took), "history_mb" / "history_budget_mb" (memory
                                  of the written spans, the oldest leave past the budget), "links"
                                  (sizes of its indexes, emptied by reset)}
    POST /_sandbox/recorder   {"enabled": bool}   pause or resume recording
Noise (see noise.py) is left out unless `all=1`.
"""

from __future__ import annotations

import json

from localstack.http import Request, Response, route

from sandbox.observability import cost, graph, query, traces
from sandbox.observability import recorder as recorder_mod
from sandbox.observability.store import Deferred, encode

MAX_LIMIT = 100_000  # a whole ring


def _json(doc, status: int = 200) -> Response:
    return Response(encode(doc), status=status, mimetype="application/json")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _window(args, rec):
    """Spans of the window given by since (cursor) / since_ts / until_ts, noise included."""
    since = _int(args.get("since"))
    match = query.matcher(include_noise=True, since_ts=_float(args.get("since_ts")),
                          until_ts=_float(args.get("until_ts")))
    start = since + 1 if since is not None else rec.store.first_seq
    return rec.store.iter_range(start, rec.store.head, match)


class ObservabilityApi:
    @route("/_sandbox/events", methods=["GET"])
    def events(self, request: Request) -> Response:
        rec = recorder_mod.get()
        args = request.args
        match = query.matcher(
            service=args.get("service"), trace=args.get("trace"), include_noise=query.truthy(args.get("all")),
            correlation=args.get("correlation"), errors=query.truthy(args.get("errors")),
            resource=args.get("resource"))
        limit = _int(args.get("limit"))
        limit = min(max(100 if limit is None else limit, 1), MAX_LIMIT)
        events, cursor = rec.store.since(_int(args.get("since")), limit, match, wait=_float(args.get("wait")) or 0.0)
        return _json({"events": events, "cursor": cursor})

    @route("/_sandbox/traces/<trace_id>", methods=["GET"])
    def trace(self, request: Request, trace_id: str) -> Response:
        rec = recorder_mod.get()
        rec.store.loaded.wait(timeout=10)
        match = query.matcher(trace=trace_id, include_noise=True)
        trace = traces.build_trace(trace_id, list(rec.store.all(match)),
                                   include_noise=query.truthy(request.args.get("all")))
        return _json(trace, 200 if trace["spans"] else 404)

    @route("/_sandbox/graph", methods=["GET"])
    def graph(self, request: Request) -> Response:
        rec = recorder_mod.get()
        rec.store.loaded.wait(timeout=10)
        args = request.args
        spans = _window(args, rec)
        return _json(graph.build_graph(spans, include_noise=query.truthy(args.get("all"))))

    @route("/_sandbox/cost", methods=["GET"])
    def cost(self, request: Request) -> Response:
        rec = recorder_mod.get()
        rec.store.loaded.wait(timeout=10)
        return _json(cost.estimate(_window(request.args, rec)))

    @route("/_sandbox/recorder", methods=["GET", "POST"])
    def recorder(self, request: Request) -> Response:
        rec = recorder_mod.get()
        if request.method == "POST":
            try:
                body = json.loads(request.get_data() or b"{}")
            except ValueError:
                return _json({"error": "body must be JSON: {\"enabled\": true|false}"}, 400)
            if "enabled" in body:
                rec.enabled = bool(body["enabled"])
        store = rec.store
        return _json({
            "enabled": rec.enabled, "cursor": store.head, "spans": len(store), "capacity": store.capacity,
            "file": str(store.path) if store.path else None,
            "requests": rec.requests,
            "handler_ms_total": round(rec.self_ns / 1e6, 3),
            "handler_us_per_request": round(rec.self_ns / rec.requests / 1000, 1) if rec.requests else None,
            "spans_built_later": Deferred.built, "build_cpu_ms_total": round(Deferred.spent_ns / 1e6, 3),
            "history_mb": round(store.held_bytes / 2**20, 1), "history_budget_mb": store.history_bytes // 2**20,
            "links": {"spans": len(rec.spans), "producers": len(rec.producers), "pending": len(rec.pending)},
        })


def install() -> None:
    from localstack.services.edge import ROUTER

    ROUTER.add(ObservabilityApi())
