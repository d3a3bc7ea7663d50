"""LocalStack's CPU per AWS operation, counted exactly: for benchmarks, off unless SANDBOX_REQUEST_CENSUS=1.

py-spy misled us more than once (docs/benchmarks.md, sixth round: whole percents on one-line hotspots). This counts
instead: the thread CPU time (`time.thread_time`) and wall time of every request in LocalStack's handler chain,
by `service.operation`, exclusive of the requests it makes in process meanwhile (a function's log shipping, an
internal client with IN_MEMORY_CLIENT): those count for their own operation. Not counted: twisted's reactor and the
WSGI hand-off around the chain, and work in other threads (pollers, log shipping's own thread outside its request).

`GET /_sandbox/census` answers {"operations": {operation: {"count", "cpu_s", "wall_s"}}}, totals since LocalStack
started (a benchmark takes the difference of two); `bench/pipeline.py --census` prints it per file. What it costs:
two clock reads and a lock per request.
"""

from __future__ import annotations

import os
import threading
import time

_totals: dict[str, list] = {}  # operation -> [count, cpu seconds, wall seconds]
_lock = threading.Lock()
_local = threading.local()
_installed = False


def enabled() -> bool:
    return os.environ.get("SANDBOX_REQUEST_CENSUS") in ("1", "true")


def install() -> None:
    """Wraps the handler chain's `handle` (rolo's HandlerChain, which every gateway request runs through)."""
    global _installed
    if _installed or not enabled():
        return
    from rolo.gateway.chain import HandlerChain

    HandlerChain.handle = counted(HandlerChain.handle)
    _installed = True


def counted(handle):
    def handle_counted(chain, context, response):
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        nested = [0.0, 0.0]  # what requests made in process by this one took (cpu, wall)
        stack.append(nested)
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return handle(chain, context, response)
        finally:
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            stack.pop()
            if stack:
                stack[-1][0] += cpu
                stack[-1][1] += wall
            record(operation_of(context), cpu - nested[0], wall - nested[1])

    handle_counted.__wrapped__ = handle
    return handle_counted


def operation_of(context) -> str:
    service, operation = getattr(context, "service", None), getattr(context, "operation", None)
    if service is not None and operation is not None:
        return f"{service.service_name}.{operation.name}"
    if service is not None:
        return f"{service.service_name}.?"
    path = getattr(getattr(context, "request", None), "path", "") or ""
    return "http " + "/".join(path.split("/")[:2])  # /_sandbox, /_localstack_lambda (no ids)


def record(operation: str, cpu: float, wall: float) -> None:
    with _lock:
        totals = _totals.get(operation)
        if totals is None:
            totals = _totals[operation] = [0, 0.0, 0.0]
        totals[0] += 1
        totals[1] += cpu
        totals[2] += wall


def snapshot() -> dict[str, dict]:
    with _lock:
        return {op: {"count": n, "cpu_s": round(cpu, 6), "wall_s": round(wall, 6)}
                for op, (n, cpu, wall) in _totals.items()}
