"""LocalStack's CPU per AWS operation, counted exactly: for benchmarks, off unless SANDBOX_REQUEST_CENSUS=1.

py-spy misled us more than once (docs/benchmarks.md, sixth round: whole percents on one-line hotspots). This counts
instead: the thread CPU time (`time.thread_time`) and wall time of every request in LocalStack's handler chain,
by `service.operation`, exclusive of the requests it makes in process meanwhile (a function's log shipping, an
internal client with IN_MEMORY_CLIENT): those count for their own operation. Not counted in an operation: the HTTP
server and the WSGI hand-off around the chain, and work in other threads (pollers, log shipping's own thread outside
its request): the `thread` lines below show those.

`GET /_sandbox/census` answers {"operations": {operation: {"count", "cpu_s", "wall_s"}}}, totals since LocalStack
started (a benchmark takes the difference of two); `bench/pipeline.py --census` prints it per file. What it costs:
two clock reads and a lock per request.

Besides the operations, lines that overlap them (they answer "where else", not "how much in all"):

* `gc young|middle|old`: time in Python's cycle collections by generation (`gc.callbacks`), in whatever thread
  the collection ran, request or not.
* `thread <name>`: the CPU of LocalStack's threads by name (numbers and ids stripped), live ones from
  /proc/self/task, ended ones as they end: what runs outside the chain (HTTP connections, pollers, S3
  notifications, the recorder's writer) shows here and nowhere else.
* `handler <name>` with `SANDBOX_REQUEST_CENSUS=handlers`: each handler of the chain (request, response and
  finalizer lists, and the handlers inside LocalStack's composite ones, whose line includes theirs), a clock pair
  more per handler and request.
"""

from __future__ import annotations

import gc
import os
import re
import threading
import time

_totals: dict[str, list] = {}  # operation -> [count, cpu seconds, wall seconds]
_lock = threading.Lock()
_local = threading.local()
_installed = False


def enabled() -> bool:
    return os.environ.get("SANDBOX_REQUEST_CENSUS") in ("1", "true", "handlers")


def by_handler() -> bool:
    return os.environ.get("SANDBOX_REQUEST_CENSUS") == "handlers"


def install() -> None:
    """Wraps the handler chain's `handle` (rolo's HandlerChain, which every gateway request runs through), counts
    the cycle collector and the threads that end."""
    global _installed
    if _installed or not enabled():
        return
    from rolo.gateway.chain import HandlerChain

    HandlerChain.handle = counted(HandlerChain.handle, handlers=by_handler())
    gc.callbacks.append(_count_collection)
    threading.Thread._bootstrap_inner = _counted_thread(threading.Thread._bootstrap_inner)
    _installed = True


GENERATIONS = ("young", "middle", "old")
# [count, cpu, wall] by generation, changed in place without `_lock`: a collection can start inside `record`,
# which holds it. One collection runs at a time.
_collections = {generation: [0, 0.0, 0.0] for generation in GENERATIONS}
_collection_started = [0.0, 0.0]


def _count_collection(phase: str, info: dict) -> None:
    if phase == "start":
        _collection_started[0], _collection_started[1] = time.thread_time(), time.perf_counter()
        return
    totals = _collections[GENERATIONS[min(info.get("generation", 0), 2)]]
    totals[0] += 1
    totals[1] += time.thread_time() - _collection_started[0]
    totals[2] += time.perf_counter() - _collection_started[1]


def thread_group(name: str) -> str:
    """A thread's name without its number or id: `http-connection-17` and `http-connection-18` are one line."""
    return "thread " + (_THREAD_SUFFIX.sub("", name) or name)


_THREAD_SUFFIX = re.compile(r"([-_ :]?(\$LATEST|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9a-f]{6,}|\d+))+"
                            r"(\s*\([^)]*\))?$")


def _counted_thread(bootstrap_inner):
    """Thread._bootstrap_inner that adds the thread's CPU to its group when it ends (a live thread is read from
    /proc at `snapshot`)."""
    def bootstrap_inner_counted(thread):
        try:
            return bootstrap_inner(thread)
        finally:
            record(thread_group(thread.name), time.thread_time(), 0.0)

    bootstrap_inner_counted.__wrapped__ = bootstrap_inner
    return bootstrap_inner_counted


def _live_threads() -> dict[str, float]:
    """CPU seconds of the live threads by group, from /proc/self/task/<tid>/stat (utime + stime)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for thread in threading.enumerate():
        try:
            with open(f"/proc/self/task/{thread.native_id}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
        except (OSError, TypeError):
            continue
        group = thread_group(thread.name)
        out[group] = out.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def counted(handle, handlers: bool = False):
    def handle_counted(chain, context, response):
        if handlers:
            _count_handlers_of(chain)
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


_handler_lists: set[int] = set()  # ids of the gateway's handler lists already wrapped


def _count_handlers_of(chain) -> None:
    """Wraps, once per list, each handler of the chain's lists (rolo's chains share the gateway's lists), and of the
    composite handlers among them (LocalStack's `run_custom_finalizers` holds the recorder's, for instance): a
    composite's line includes its handlers' lines."""
    for kind in ("request_handlers", "response_handlers", "finalizers"):
        _wrap_all(getattr(chain, kind, None))


def _wrap_all(handlers) -> None:
    if not isinstance(handlers, list) or id(handlers) in _handler_lists:
        return
    with _lock:
        if id(handlers) in _handler_lists:
            return
        _handler_lists.add(id(handlers))
        for i, handler in enumerate(handlers):
            handlers[i] = _counted_handler(handler)
    for handler in handlers:
        _wrap_all(getattr(handler.__wrapped__, "handlers", None))


def _counted_handler(handler):
    name = "handler " + (getattr(handler, "__qualname__", None) or type(handler).__qualname__)

    def handler_counted(*args, **kwargs):
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return handler(*args, **kwargs)
        finally:
            record(name, time.thread_time() - cpu, time.perf_counter() - wall)

    handler_counted.__wrapped__ = handler
    return handler_counted


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
    """Totals so far; a `thread` line counts the threads of its group that ended, its CPU adds the live ones'."""
    live = _live_threads() if _installed else {}
    with _lock:
        out = {op: {"count": n, "cpu_s": round(cpu, 6), "wall_s": round(wall, 6)}
               for op, (n, cpu, wall) in _totals.items()}
    for generation, (n, cpu, wall) in list(_collections.items()):
        if n:
            out[f"gc {generation}"] = {"count": n, "cpu_s": round(cpu, 6), "wall_s": round(wall, 6)}
    for group, cpu in live.items():
        line = out.setdefault(group, {"count": 0, "cpu_s": 0.0, "wall_s": 0.0})
        line["cpu_s"] = round(line["cpu_s"] + cpu, 6)
    return out
