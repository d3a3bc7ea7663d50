"""sandbox/localstack_ext/request_census.py: each request's CPU counts for its own operation, a request made in
process by another counts for its own and not twice, and the bench's per-file table is the difference of two."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from rolo.gateway.chain import HandlerChain
from werkzeug.wrappers import Response

from sandbox.localstack_ext import request_census


def burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def context(service: str | None, operation: str | None, path: str = "/"):
    return SimpleNamespace(service=service and SimpleNamespace(service_name=service),
                           operation=operation and SimpleNamespace(name=operation),
                           request=SimpleNamespace(path=path))


@pytest.fixture
def counted_chain(monkeypatch):
    """rolo's HandlerChain.handle wrapped as install() wraps it, on a clean slate."""
    monkeypatch.setattr(request_census, "_totals", {})
    monkeypatch.setattr(HandlerChain, "handle", request_census.counted(HandlerChain.handle))

    def run(ctx, *handlers):
        HandlerChain(request_handlers=list(handlers)).handle(ctx, Response())

    return run


def test_a_request_made_in_process_counts_for_its_own_operation_not_twice(counted_chain):
    def ship_logs(chain, ctx, response):
        burn(0.03)

    def invoke(chain, ctx, response):
        burn(0.05)
        counted_chain(context("logs", "PutLogEvents"), ship_logs)  # as the log shipping does, in this thread

    counted_chain(context("lambda", "Invoke"), invoke)
    counted_chain(context("lambda", "Invoke"), invoke)
    got = request_census.snapshot()
    assert got["lambda.Invoke"]["count"] == 2 and got["logs.PutLogEvents"]["count"] == 2
    assert 0.09 <= got["lambda.Invoke"]["cpu_s"] < 0.13, got  # 2 x 50 ms, without the 2 x 30 ms nested
    assert 0.05 <= got["logs.PutLogEvents"]["cpu_s"] < 0.09, got
    assert got["lambda.Invoke"]["wall_s"] >= got["lambda.Invoke"]["cpu_s"] * 0.9


def test_a_failing_request_is_counted_and_requests_without_an_operation_by_path(counted_chain):
    def crash(chain, ctx, response):
        burn(0.01)
        raise ValueError("boom")

    counted_chain(context("sqs", "SendMessage"), crash)
    counted_chain(context(None, None, "/_localstack_lambda/0123abcd/invoke"), lambda *a: None)
    counted_chain(context("s3", None), lambda *a: None)
    got = request_census.snapshot()
    assert got["sqs.SendMessage"]["count"] == 1 and got["sqs.SendMessage"]["cpu_s"] >= 0.009
    assert got["http /_localstack_lambda"]["count"] == 1  # no environment id: one line for all
    assert got["s3.?"]["count"] == 1


def test_census_is_off_unless_asked(monkeypatch):
    monkeypatch.delenv("SANDBOX_REQUEST_CENSUS", raising=False)
    assert not request_census.enabled()
    before = HandlerChain.handle, threading.Thread._bootstrap_inner, list(gc.callbacks)
    request_census.install()
    assert (HandlerChain.handle, threading.Thread._bootstrap_inner, list(gc.callbacks)) == before


INSTALLED = """
import gc, json, threading, time
from rolo.gateway.chain import CompositeHandler, HandlerChain
from werkzeug.wrappers import Response
from types import SimpleNamespace
from sandbox.localstack_ext import request_census

def burn(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass

request_census.install()
ctx = SimpleNamespace(service=SimpleNamespace(service_name="sqs"), operation=SimpleNamespace(name="SendMessage"),
                      request=SimpleNamespace(path="/"))
late = lambda chain, c, r: burn(0.01)
composite = CompositeHandler()
request_handlers = [lambda chain, c, r: burn(0.01), composite]
HandlerChain(request_handlers=request_handlers).handle(ctx, Response())
composite.append(late)                      # a service loaded later adds its handler
HandlerChain(request_handlers=request_handlers).handle(ctx, Response())
t = threading.Thread(target=burn, args=(0.03,), name="ended-1")
t.start(); t.join()
cycle = []; cycle.append(cycle); del cycle
gc.collect(1)
# a collection while the census's lock is held (as inside `record`) must not deadlock
locked = threading.Thread(target=lambda: [request_census._lock.acquire(), gc.collect(), request_census._lock.release()])
locked.start(); locked.join(10)
got = request_census.snapshot()
print(json.dumps({"got": got, "deadlocked": locked.is_alive(),
                  "late": getattr(composite.handlers[0], "__wrapped__", None) is late}))
"""


def test_installed_it_counts_operations_handlers_added_later_threads_and_collections_without_deadlock():
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "SANDBOX_REQUEST_CENSUS": "handlers", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", INSTALLED], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    got = result["got"]
    assert result["deadlocked"] is False
    assert got["sqs.SendMessage"]["count"] == 2
    assert got["handler CompositeHandler"]["count"] == 2
    assert result["late"] is True and got["handler <lambda>"]["count"] == 3  # 2 of the list's, 1 added later
    assert got["thread ended"]["count"] == 1 and got["thread ended"]["cpu_s"] >= 0.025
    assert got["thread MainThread"]["cpu_s"] > 0  # live, read from /proc
    assert got["gc middle"]["count"] >= 1 and got["gc old"]["count"] >= 1


def test_the_bench_table_is_per_unit_between_two_censuses(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "bench"))
    from _common import census_per_unit

    before = {"dynamodb.UpdateItem": {"cpu_s": 1.0, "count": 500}, "s3.PutObject": {"cpu_s": 0.5, "count": 100}}
    after = {"dynamodb.UpdateItem": {"cpu_s": 9.4, "count": 4500}, "s3.PutObject": {"cpu_s": 1.7, "count": 2100},
             "sqs.SendMessage": {"cpu_s": 0.7, "count": 1000}}
    table = census_per_unit(before, after, units=1000, top=2)
    assert table == pytest.approx({"census dynamodb.UpdateItem ms": 8.4, "census s3.PutObject ms": 1.2,
                                   "census total ms": 10.3, "census requests per unit": 7.0,
                                   "census dynamodb.UpdateItem n": 4.0, "census s3.PutObject n": 2.0})
    assert census_per_unit(None, after, 10) == {}


def test_collections_are_counted_by_generation(monkeypatch):
    monkeypatch.setattr(request_census, "_collections", {g: [0, 0.0, 0.0] for g in request_census.GENERATIONS})
    gc.callbacks.append(request_census._count_collection)  # the collector's own list (not a module attribute)
    try:
        cycles = []
        for _ in range(20_000):
            node = []
            node.append(node)
            cycles.append(node)
        del node, cycles
        counts = []
        for generation in (0, 1, 2):
            before = request_census.snapshot()
            gc.collect(generation)
            after = request_census.snapshot()
            name = "gc " + request_census.GENERATIONS[generation]
            counts.append(after[name]["count"] - before.get(name, {"count": 0})["count"])
    finally:
        gc.callbacks.remove(request_census._count_collection)
    got = request_census.snapshot()
    assert counts == [1, 1, 1], counts  # each collection once, in its own generation's line
    assert got["gc old"]["cpu_s"] > 0 and got["gc old"]["wall_s"] >= got["gc old"]["cpu_s"] * 0.5


def test_threads_count_by_name_without_their_numbers_live_or_ended(monkeypatch):
    monkeypatch.setattr(request_census, "_totals", {})
    monkeypatch.setattr(request_census, "_installed", True)  # so that snapshot reads the live threads
    monkeypatch.setattr(threading.Thread, "_bootstrap_inner",
                        request_census._counted_thread(threading.Thread._bootstrap_inner))
    for i in range(2):
        t = threading.Thread(target=burn, args=(0.05,), name=f"burner-{i}")
        t.start()
        t.join()
    release = threading.Event()
    live = threading.Thread(target=lambda: (burn(0.06), release.wait(10)), name="waiter-3f2a9c1d")
    live.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and request_census.snapshot().get("thread waiter", {}).get("cpu_s", 0) < 0.05:
            time.sleep(0.05)
        got = request_census.snapshot()
    finally:
        release.set()
        live.join()
    assert got["thread burner"]["count"] == 2 and 0.09 <= got["thread burner"]["cpu_s"] < 0.2, got
    assert got["thread waiter"]["count"] == 0 and got["thread waiter"]["cpu_s"] >= 0.05, got  # live: from /proc
    assert request_census.thread_group("lambda-invoker-app-Fn-567c25fd:$LATEST_0") == "thread lambda-invoker-app-Fn"
    assert request_census.thread_group("Thread-5 (sampler)") == "thread Thread (sampler)"
    assert request_census.thread_group("log_handler-functhread5") == "thread log_handler-functhread"
    assert request_census.thread_group("s3") == "thread s3" and request_census.thread_group("worker-decade") == \
        "thread worker-decade"  # a word is not an id


def test_a_thread_name_of_digits_a_user_chose_is_grouped_in_linear_time():
    """Thread names carry function and queue names: a regular expression that backtracks on long digit runs would
    hold the GIL, and stop LocalStack, for seconds (a review measured 27 s for 26 digits)."""
    started = time.perf_counter()
    for n in (26, 40, 2000):
        assert request_census.thread_group("w-" + "0" * n + "-x") == "thread w-" + "0" * n + "-x"
        assert request_census.thread_group("fn-" + "1" * n + "y") == "thread fn-" + "1" * n + "y"
    assert time.perf_counter() - started < 0.5


def test_each_handler_of_the_chain_is_counted_once_per_request(monkeypatch):
    monkeypatch.setattr(request_census, "_totals", {})
    monkeypatch.setattr(request_census, "_handler_lists", {})
    monkeypatch.setattr(HandlerChain, "handle", request_census.counted(HandlerChain.handle, handlers=True))

    def parse(chain, ctx, response):
        burn(0.02)

    def finish(chain, ctx, response):
        pass

    from rolo.gateway.chain import CompositeFinalizer

    custom = CompositeFinalizer()  # as LocalStack's run_custom_finalizers, which holds the recorder's
    custom.append(finish)
    request_handlers, finalizers = [parse], [custom]  # a gateway's lists, shared by every chain it makes
    for _ in range(2):
        HandlerChain(request_handlers=request_handlers, finalizers=finalizers).handle(context("s3", "GetObject"),
                                                                                     Response())
    got = request_census.snapshot()
    name = "handler " + parse.__qualname__
    assert got[name]["count"] == 2 and 0.035 <= got[name]["cpu_s"] < 0.08, got
    assert got["handler " + finish.__qualname__]["count"] == 2  # inside the composite
    assert got["handler CompositeFinalizer"]["count"] == 2
    assert request_handlers[0].__wrapped__ is parse  # wrapped once, not once per request
    assert custom.handlers[0].__wrapped__ is finish
    assert got["s3.GetObject"]["count"] == 2


def test_the_bench_table_keeps_overlapping_lines_out_of_the_total(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "bench"))
    from _common import census_per_unit

    after = {"dynamodb.UpdateItem": {"cpu_s": 7.0}, "gc young": {"cpu_s": 0.5}, "thread http-connection":
             {"cpu_s": 9.0}, "handler RequestGuard": {"cpu_s": 0.4}}
    table = census_per_unit({}, after, units=1000)
    assert table["census total ms"] == pytest.approx(7.0)
    assert table["census gc young ms"] == pytest.approx(0.5)
    assert table["census thread http-connection ms"] == pytest.approx(9.0)
    assert table["census handler RequestGuard ms"] == pytest.approx(0.4)
