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
* `thread <name>`: the CPU of LocalStack's threads by name (trailing numbers and ids stripped), live ones from
  /proc/self/task/<tid>/schedstat (nanoseconds), ended ones as they end: what runs outside the chain (HTTP
  connections, pollers, S3 notifications, the recorder's writer) shows here and nowhere else. A thread that ended
  before `install` is not counted.
* `handler <name>` with `SANDBOX_REQUEST_CENSUS=handlers`: each handler of the chain (request, response and
  finalizer lists, and the handlers inside LocalStack's composite ones, whose line includes theirs), a clock pair
  more per handler and request. Unlike an operation's, a handler's line includes the requests it made in process
  (the provider's `ServiceRequestRouter` holds a nested Invoke's whole chain), and handlers of the same name share
  one line.
"""

from __future__ import annotations

import functools
import gc
import os
import re
import threading
import time

# the lines that overlap the operations (see above): a reader keeps them out of a total of the operations
OVERLAPPING = ("gc ", "thread ", "handler ")

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
    """A thread's name without its trailing numbers and ids: `http-connection-17` and `http-connection-18` are one
    line, `Thread-5 (sampler)` is `Thread (sampler)`."""
    return "thread " + _group(name)


# A token that is a number or an id: digits, $LATEST, or 4+ hex digits with a digit among them (`5c721a4e`, not
# `decade`). Matched whole against one token at a time: linear, however long the name (a user names functions).
_ID_TOKEN = re.compile(r"\d+|\$LATEST|(?=[a-f]*\d)[0-9a-f]{4,}")
_SEPARATOR = re.compile(r"([-_ :])")


@functools.lru_cache(maxsize=4096)
def _group(name: str) -> str:
    base, paren, target = name.partition(" (")
    tokens = _SEPARATOR.split(base.rstrip())
    while tokens and (tokens[-1] in ("", "-", "_", " ", ":") or _ID_TOKEN.fullmatch(tokens[-1])):
        tokens.pop()
    if tokens and tokens[-1].startswith("functhread"):  # LocalStack's FuncThread counts its threads: functhread5
        tokens[-1] = "functhread"
    return ("".join(tokens) or name) + (f" ({target}" if paren else "")


_running: dict[int, threading.Thread] = {}  # native id -> thread, from its start until its CPU is recorded


def _counted_thread(bootstrap_inner):
    """Thread._bootstrap_inner (it runs in the new thread) that keeps the thread in `_running` until its CPU is added
    to its group's line, both under `_lock`: `snapshot` sees each thread once, live or ended."""
    def bootstrap_inner_counted(thread):
        tid = threading.get_native_id()
        with _lock:
            _running[tid] = thread
        try:
            return bootstrap_inner(thread)
        finally:
            cpu = time.thread_time()
            with _lock:
                _running.pop(tid, None)
                _add(thread_group(thread.name), cpu, 0.0)

    bootstrap_inner_counted.__wrapped__ = bootstrap_inner
    return bootstrap_inner_counted


def _live_threads() -> dict[str, float]:
    """CPU seconds of the live threads by group (call with `_lock` held): those started since `install` and the
    older ones, each read once from /proc/self/task/<tid>/schedstat (nanoseconds on the CPU)."""
    threads = {thread.native_id: thread for thread in threading.enumerate() if thread.native_id is not None}
    threads.update(_running)
    out: dict[str, float] = {}
    for tid, thread in threads.items():
        try:
            with open(f"/proc/self/task/{tid}/schedstat", "rb") as f:
                cpu = int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
        group = thread_group(thread.name)
        out[group] = out.get(group, 0.0) + cpu
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


_handler_lists: dict[int, int] = {}  # id of a handler list seen -> its length when its handlers were last wrapped


def _count_handlers_of(chain) -> None:
    """Wraps each handler of the chain's lists (rolo's chains share the gateway's lists) and of the composite
    handlers among them (LocalStack's `run_custom_finalizers` holds the recorder's, for instance), once each; a
    list that grew since (a service loaded later adds its handlers) is looked at again. A composite's line includes
    its handlers' lines."""
    for kind in ("request_handlers", "response_handlers", "finalizers"):
        _wrap_all(getattr(chain, kind, None))


def _wrap_all(handlers) -> None:
    if not isinstance(handlers, list):
        return
    if _handler_lists.get(id(handlers)) != len(handlers):
        with _lock:
            for i, handler in enumerate(handlers):
                if not getattr(handler, "_census", False):
                    handlers[i] = _counted_handler(handler)
            _handler_lists[id(handlers)] = len(handlers)
    for handler in list(handlers):  # composites may grow while this list does not
        _wrap_all(getattr(getattr(handler, "__wrapped__", handler), "handlers", None))


def _counted_handler(handler):
    name = "handler " + (getattr(handler, "__qualname__", None) or type(handler).__qualname__)

    def handler_counted(*args, **kwargs):
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return handler(*args, **kwargs)
        finally:
            record(name, time.thread_time() - cpu, time.perf_counter() - wall)

    handler_counted.__wrapped__ = handler
    handler_counted._census = True
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
        _add(operation, cpu, wall)


def _add(operation: str, cpu: float, wall: float) -> None:
    totals = _totals.get(operation)
    if totals is None:
        totals = _totals[operation] = [0, 0.0, 0.0]
    totals[0] += 1
    totals[1] += cpu
    totals[2] += wall


def snapshot() -> dict[str, dict]:
    """Totals so far; a `thread` line counts the threads of its group that ended, its CPU adds the live ones'."""
    with _lock:
        live = _live_threads() if _installed else {}
        out = {op: {"count": n, "cpu_s": round(cpu, 6), "wall_s": round(wall, 6)}
               for op, (n, cpu, wall) in _totals.items()}
    for generation, (n, cpu, wall) in list(_collections.items()):
        if n:
            out[f"gc {generation}"] = {"count": n, "cpu_s": round(cpu, 6), "wall_s": round(wall, 6)}
    for group, cpu in live.items():
        line = out.setdefault(group, {"count": 0, "cpu_s": 0.0, "wall_s": 0.0})
        line["cpu_s"] = round(line["cpu_s"] + cpu, 6)
    return out
