"""Host-side client of the recorder, used through the Sandbox API (`sb.events()`, `sb.trace()`, ...).

Talks to the `/_sandbox/*` routes of the running sandbox (see api.py). When the embedded sandbox is not
running, it answers from the recorder's JSONL file in the state directory instead, with the same filters, so
`sandbox events`, `trace`, `graph` and `cost` still work on what was recorded before `sandbox down`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import requests

from sandbox.errors import SandboxError
from sandbox.observability import cost as cost_mod
from sandbox.observability import graph as graph_mod
from sandbox.observability import query, traces
from sandbox.observability.recorder import spans_file
from sandbox.observability.store import read_jsonl

if TYPE_CHECKING:
    from sandbox.api import Sandbox


class ObservabilityClient:
    def __init__(self, sandbox: Sandbox):
        self.sb = sandbox

    # --- transport --------------------------------------------------------------------------------------
    def _get(self, path: str, params: dict, timeout: float = 30.0, ok_404: bool = False):
        params = {k: v for k, v in params.items() if v is not None and v is not False}
        for key, value in list(params.items()):
            if value is True:
                params[key] = "1"
        try:
            resp = self.sb.http.get(f"{self.sb.endpoint}{path}", params=params, timeout=timeout)
        except requests.RequestException:
            return None  # not running: the caller falls back to the file
        if resp.status_code == 404 and not ok_404:
            raise SandboxError("This backend has no sandbox recorder (a plain LocalStack, or one started with "
                               "SANDBOX_RECORDER=0): events, traces, graph and cost need the embedded backend.")
        if resp.status_code == 404:
            return {}
        resp.raise_for_status()
        return resp.json()

    def _file_spans(self) -> list[dict]:
        if self.sb.settings.external:
            raise SandboxError(f"No sandbox is running at {self.sb.endpoint}.")
        path = spans_file(self.sb.settings.state_dir)
        if not path.exists() and not path.with_suffix(".1.jsonl").exists():
            raise SandboxError(f"No sandbox is running at {self.sb.endpoint} and nothing was recorded in "
                               f"{self.sb.settings.state_dir}: start it with `sandbox up`.")
        return list(read_jsonl(path))

    @property
    def offline(self) -> bool:
        return not self.sb.is_running()

    # --- events -----------------------------------------------------------------------------------------
    def events(self, since: int | None = None, limit: int = 100, service: str | None = None,
               trace: str | None = None, all: bool = False, wait: float | None = None,
               correlation: str | None = None, errors: bool = False, resource: str | None = None) -> dict:
        """Recorded spans: {"events": [...], "cursor": n}. Pass the cursor back as `since` to get what came after;
        `wait` long-polls up to that many seconds for the next matching event. Without `since`: the newest."""
        params = {"since": since, "limit": limit, "service": service, "trace": trace, "all": all, "wait": wait,
                  "correlation": correlation, "errors": errors, "resource": resource}
        got = self._get("/_sandbox/events", params, timeout=(wait or 0) + 30)
        if got is not None:
            return got
        match = query.matcher(service=service, trace=trace, include_noise=all, correlation=correlation,
                              errors=errors, resource=resource)
        spans = [s for s in self._file_spans() if match is None or match(s)]
        head = spans[-1]["seq"] if spans else (since or 0)
        if since is None:
            return {"events": spans[-limit:], "cursor": head}
        after = [s for s in spans if s.get("seq", 0) > since][:limit]
        return {"events": after, "cursor": after[-1]["seq"] if after else max(since, head)}

    def throttled_edges(self, since: int | None = None) -> tuple[dict[tuple[str, str], int], int]:
        """Throttled requests per service-map edge recorded after `since`: ({(source, target): n}, cursor)."""
        spans: list[dict] = []
        cursor = since or 0
        while True:
            got = self.events(since=cursor, errors=True, limit=2000)
            batch = got.get("events", [])
            spans += batch
            cursor = got.get("cursor", cursor)
            if len(batch) < 2000:
                break
        return graph_mod.throttled_edges(spans), cursor

    def cursor(self) -> int:
        """The newest cursor: pass it as `since` to see only what happens from now on."""
        return self.recorder()["cursor"]

    def follow(self, since: int | None = None, poll_seconds: float = 20.0, **filters) -> Iterator[dict]:
        """Yields events as they are recorded (long poll), starting after `since` (default: now)."""
        cursor = self.cursor() if since is None else since
        while True:
            try:
                got = self.events(since=cursor, limit=1000, wait=poll_seconds, **filters)
            except requests.RequestException:
                time.sleep(1)
                continue
            cursor = got["cursor"]
            yield from got["events"]

    # --- traces, graph, cost ----------------------------------------------------------------------------
    def trace(self, trace_id: str, all: bool = False) -> dict:
        """The spans of one trace in waterfall order (each with `depth`), roots, orphans, duration."""
        got = self._get(f"/_sandbox/traces/{trace_id}", {"all": all}, ok_404=True)
        if got is None:
            match = query.matcher(trace=trace_id, include_noise=True)
            got = traces.build_trace(trace_id, [s for s in self._file_spans() if match(s)], include_noise=all)
        if not got or not got.get("spans"):
            raise SandboxError(f"No recorded spans for trace {trace_id} (`sandbox events --all` lists trace ids).")
        return got

    def graph(self, all: bool = False, since_ts: float | None = None, until_ts: float | None = None) -> dict:
        """Service map: {"nodes": [...], "edges": [{source, target, count, errors, p50_ms, ...}]}."""
        got = self._get("/_sandbox/graph", {"all": all, "since_ts": since_ts, "until_ts": until_ts})
        if got is not None:
            return got
        match = query.matcher(include_noise=True, since_ts=since_ts, until_ts=until_ts)
        return graph_mod.build_graph((s for s in self._file_spans() if match is None or match(s)), include_noise=all)

    def cost(self, since: int | float | None = None, since_ts: float | None = None,
             until_ts: float | None = None) -> dict:
        """Cost estimate of the recorded traffic: after cursor `since` (an int), and/or in [since_ts, until_ts)
        (epoch seconds; a float `since` is taken as since_ts). {"lines", "by_service", "total", "window", ...}"""
        if isinstance(since, float):
            since, since_ts = None, since if since_ts is None else since_ts
        got = self._get("/_sandbox/cost", {"since": since, "since_ts": since_ts, "until_ts": until_ts})
        if got is not None:
            return got
        match = query.matcher(include_noise=True, since_ts=since_ts, until_ts=until_ts)
        spans = [s for s in self._file_spans() if (since is None or s.get("seq", 0) > since)
                 and (match is None or match(s))]
        return cost_mod.estimate(spans)

    def recorder(self, enabled: bool | None = None) -> dict:
        """Recorder status {"enabled", "cursor", "spans", "capacity", "file"}; `enabled` pauses/resumes it."""
        if enabled is not None:
            resp = self.sb.http.post(f"{self.sb.endpoint}/_sandbox/recorder", json={"enabled": enabled}, timeout=10)
            resp.raise_for_status()
            return resp.json()
        got = self._get("/_sandbox/recorder", {})
        if got is None:
            spans = self._file_spans()
            return {"enabled": False, "cursor": spans[-1]["seq"] if spans else 0, "spans": len(spans),
                    "capacity": None, "file": str(spans_file(self.sb.settings.state_dir))}
        return got
