"""The recorder inside LocalStack: the span store plus the small indexes that let later spans find their cause.

    spans      span id -> SpanInfo(trace id, correlation id, caller), for spans still open and recently closed:
               a child inherits its parent's correlation id, an async-invoke attempt its original caller
    producers  SQS message id / DynamoDB stream event id -> Producer(trace id, span id, correlation id) of the
               request that produced it: deliveries by an event source mapping, and DLQ moves, link to it
    pending    Lambda execution span id -> what is known about it before it ends (see lambda_hops)
    running    (trace id, function name) -> the span ids of that function's executions running in that trace: a
               call from the function whose parent was never recorded (the X-Ray SDK's subsegment, with Powertools'
               Tracer) is the child of the one running, when only one is

All indexes are bounded (two generations of at most `size` entries each: O(1), no sweeping).
"""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path
from typing import NamedTuple

from sandbox.observability.store import DEFAULT_CAPACITY, Deferred, SpanStore


_link_maps: weakref.WeakSet = weakref.WeakSet()


class SpanInfo(NamedTuple):
    trace_id: str
    correlation_id: str | None
    caller: dict | None


class Producer(NamedTuple):
    trace_id: str
    span_id: str
    correlation_id: str | None


class GenerationMap:
    """A dict bounded to about 2 x `size` entries: when the young generation is full it becomes the old one.

    Every one (the recorder's and the hops') links ids to their causes; `Recorder.forget_links` empties them all."""

    def __init__(self, size: int):
        self.size = size
        self.young: dict = {}
        self.old: dict = {}
        self.lock = threading.Lock()
        _link_maps.add(self)

    def __setitem__(self, key, value) -> None:
        young = self.young
        young[key] = value
        if len(young) >= self.size:
            with self.lock:
                if self.young is young:
                    self.old, self.young = young, {}

    def setdefault(self, key, value):
        existing = self.get(key)
        if existing is None:
            self[key] = value
            return value
        return existing

    def get(self, key, default=None):
        value = self.young.get(key)
        if value is None:
            value = self.old.get(key, default)
        return value

    def pop(self, key, default=None):
        value = self.young.pop(key, None)
        if value is None:
            value = self.old.pop(key, default)
        return value

    def __len__(self) -> int:
        return len(self.young) + len(self.old)

    def clear(self) -> None:
        with self.lock:
            self.young, self.old = {}, {}


class Recorder:
    def __init__(self, store: SpanStore):
        self.store = store
        self.enabled = True
        self.spans = GenerationMap(100_000)
        self.producers = GenerationMap(100_000)
        self.pending = GenerationMap(10_000)
        self.running = GenerationMap(10_000)
        # time spent in the gateway handlers (approximate: updated without a lock), for /_sandbox/recorder
        self.self_ns = 0
        self.requests = 0

    def record(self, span: dict) -> int:
        return self.store.record(span)

    def record_later(self, build, args: tuple, ts: float, service: str, fallback=None) -> int:
        """Records the span `build(*args)` will make: built by the writer in its next batch (or by the first reader
        that needs it), off the request's path. `args` must not change after the request (see gateway.finalize).
        A store without a file has no writer: built now, or the ring would hold every request's arguments."""
        if self.store.path is None:
            return self.store.record(build(*args))
        return self.store.record(Deferred(build, args, ts, service, fallback))

    def open(self, span_id: str, trace_id: str, correlation_id: str | None, caller: dict | None) -> None:
        self.spans[span_id] = SpanInfo(trace_id, correlation_id, caller)

    def info(self, span_id: str | None) -> SpanInfo | None:
        return self.spans.get(span_id) if span_id else None

    def forget_links(self) -> None:
        """`sandbox reset`: nothing left can produce a child, a delivery or an outcome for what these index (their
        queues, streams and functions are gone), and they held about 30 MB per 1,000 uploads until their bound
        (bench/memory.py, 2026-12-05). So do the hops' maps (executions, ESM attempts, state machine executions).
        The recorded spans stay: they are the history."""
        for index in list(_link_maps):
            index.clear()

    def inherited_correlation(self, parent_id: str | None) -> str | None:
        info = self.spans.get(parent_id) if parent_id else None
        return info.correlation_id if info else None


_recorder: Recorder | None = None
_lock = threading.Lock()


def get() -> Recorder | None:
    """The recorder of this LocalStack process, or None when it is not installed."""
    return _recorder


def start(state_dir: str | os.PathLike | None = None, capacity: int = DEFAULT_CAPACITY) -> Recorder:
    global _recorder
    with _lock:
        if _recorder is None:
            path = spans_file(state_dir) if state_dir else None
            _recorder = Recorder(SpanStore(capacity=capacity, path=path))
        return _recorder


def spans_file(state_dir: str | os.PathLike) -> Path:
    return Path(state_dir) / "observability" / "spans.jsonl"
