"""Event filters, shared by the HTTP API (in LocalStack) and the client's offline reading of the JSONL file.

A `Filter` answers twice: `quick(ts, trace_id, service, noise)` on the few fields the store keeps uncompressed
next to every span (so a trace lookup over 100k spans decompresses only the trace's spans), and `__call__` on
the whole span for the rest (correlation id, errors, resource).
"""

from __future__ import annotations

from sandbox.observability.probes import is_real_error


class Filter:
    def __init__(self, service: str | None = None, trace: str | None = None, include_noise: bool = False,
                 correlation: str | None = None, errors: bool = False, resource: str | None = None,
                 since_ts: float | None = None, until_ts: float | None = None):
        self.services = frozenset(s.strip() for s in service.split(",") if s.strip()) if service else None
        self.trace = trace or None
        self.include_noise = include_noise
        self.correlation = correlation or None
        self.errors = errors
        self.resource = resource or None
        self.since_ts = since_ts
        self.until_ts = until_ts
        # whether `quick` decides alone (then the whole span need not be looked at)
        self.quick_only = not (self.correlation or self.errors or self.resource)

    def quick(self, ts, trace_id, service, noise) -> bool:
        if noise and not self.include_noise:
            return False
        if self.services is not None and service not in self.services:
            return False
        if self.trace is not None and trace_id != self.trace:
            return False
        if self.since_ts is not None and (ts or 0) < self.since_ts:
            return False
        if self.until_ts is not None and (ts or 0) >= self.until_ts:
            return False
        return True

    def __call__(self, span: dict) -> bool:
        if not self.quick(span.get("ts"), span.get("trace_id"), span.get("service"), span.get("noise")):
            return False
        if self.correlation and span.get("correlation_id") != self.correlation:
            return False
        if self.errors and not is_real_error(span):  # an existence probe's expected "no" is not one (probes.py)
            return False
        if self.resource and self.resource not in (span.get("resource") or ""):
            return False
        return True


def matcher(service: str | None = None, trace: str | None = None, include_noise: bool = False,
            correlation: str | None = None, errors: bool = False, resource: str | None = None,
            since_ts: float | None = None, until_ts: float | None = None) -> Filter | None:
    """A Filter over spans; None when nothing is filtered.

    service: one name or a comma-separated list; trace: a trace id; include_noise: also platform machinery;
    correlation: a correlation id; errors: only failed spans, not the expected "no" of existence probes;
    resource: a substring of the resource; since_ts/until_ts: start time window (epoch seconds).
    """
    if not service and not trace and include_noise and not correlation and not errors and not resource \
            and since_ts is None and until_ts is None:
        return None
    return Filter(service, trace, include_noise, correlation, errors, resource, since_ts, until_ts)


def truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")
