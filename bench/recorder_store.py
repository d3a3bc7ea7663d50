"""Benchmark of the recorder's span store: memory with 100k spans, and how fast the events API pages through them.

    uv run python bench/recorder_store.py [--spans 100000] [--rss-spans 60000]

Runs in-process (no LocalStack): the same SpanStore the recorder uses inside LocalStack, fed with spans shaped
like a Lambda invoke with 2 KB previews. The HTTP layer of /_sandbox/events adds JSON encoding per page on top.

Then the resident memory a held span costs when spans are recorded among what requests allocate and drop (as in
a drain, where the allocator's pools fill with both): two child processes record --rss-spans spans while making
and dropping request-like garbage, one with a ring that holds them all and one whose ring holds 100; the difference
of their RSS growth, per held span, is what holding a span costs (the store's own count, `held_bytes`, beside it).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.observability.query import Filter  # noqa: E402
from sandbox.observability.store import SpanStore  # noqa: E402


def span(i: int) -> dict:
    return {
        "ts": time.time(), "duration_ms": 12.5, "kind": "request", "hop": None, "account": "000000000000",
        "region": "us-east-1", "service": "lambda", "operation": "Invoke",
        "resource": f"arn:aws:lambda:us-east-1:000000000000:function:worker-{i % 7}", "resource_name": f"worker-{i % 7}",
        "status": 200, "error": None, "caller": {"kind": "external", "name": None, "source_arn": None},
        "trace_id": f"1-{i:08x}-{i:024x}", "span_id": f"{i:016x}", "parent_id": None, "links": [],
        "request_id": f"req-{i}", "correlation_id": f"corr-{i % 100}", "request": "x" * 2048, "response": "y" * 2048,
        "noise": False, "injected": None, "attrs": {"memory_mb": 256, "billed_ms": 13, "cold": i % 50 == 0},
        "units": {"lambda_requests": 1},
    }


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def rss_child(spans: int, capacity: int) -> None:
    """Records `spans` among request-like garbage; prints RSS growth (MB) and the store's held bytes."""
    rnd = random.Random(1)
    gc.set_threshold(20_000, 10, 10)  # as LocalStack runs (sandbox/localstack_ext/gc_tuning.py)
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-store-") as tmp:
        store = SpanStore(capacity=capacity, path=Path(tmp) / "spans.jsonl")
        base, live = _rss_mb(), []
        for i in range(spans):
            doc = span(i)
            doc["trace_id"] = f"1-{i // 14:08x}-{i // 14:024x}"  # ~14 spans a trace, as in media-pipeline
            doc["request"], doc["response"] = f"{{\"Key\":\"{i:08d}\"}}" * 8, f"{{\"ok\":{i}}}" * 8
            store.record(doc)
            live.append([{"k": "x" * rnd.randint(8, 700), "b": os.urandom(rnd.randint(10, 600)),
                          "l": [rnd.random() for _ in range(rnd.randint(0, 12))]} for _ in range(40)])
            if len(live) > 30:
                live.pop(0)
            if i % 20 == 19:
                time.sleep(0.002)  # the writer's batches come between requests, as in a drain
        live.clear()
        store.flush(timeout=120)
        gc.collect()
        print(_rss_mb() - base, store.held_bytes, len(store))


def rss_per_held_span(spans: int) -> tuple[float, float]:
    """(resident bytes, counted bytes) per held span."""
    out = {}
    for capacity in (spans, 100):
        line = subprocess.run([sys.executable, __file__, "--rss-child", str(spans), str(capacity)], check=True,
                              capture_output=True, text=True).stdout.split()
        out[capacity] = (float(line[0]), int(line[1]), int(line[2]))
    grown, held, kept = out[spans]
    return (grown - out[100][0]) * 2**20 / kept, held / kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--rss-spans", type=int, default=60_000)
    parser.add_argument("--rss-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(*args.rss_child)
        return
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-store-") as tmp:
        gc.collect()
        tracemalloc.start()
        store = SpanStore(capacity=args.spans, path=Path(tmp) / "spans.jsonl")
        t0 = time.perf_counter()
        for i in range(args.spans):
            store.record(span(i))
        record_s = time.perf_counter() - t0
        store.flush(timeout=120)
        flushed_s = time.perf_counter() - t0
        gc.collect()
        current, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        t1 = time.perf_counter()
        cursor, pages, seen = 0, 0, 0
        while True:
            events, cursor = store.since(cursor, 1000)
            if not events:
                break
            pages += 1
            seen += len(events)
        page_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        found = list(store.all(Filter(trace=f"1-{args.spans // 2:08x}-{args.spans // 2:024x}")))
        trace_s = time.perf_counter() - t2
        file_mb = sum(f.stat().st_size for f in Path(tmp).glob("spans*.jsonl")) / 2**20  # with the rotated one
    print(f"spans recorded             {args.spans}")
    print(f"record (request path)      {record_s / args.spans * 1e6:.1f} us per span")
    print(f"record + background write  {flushed_s:.1f} s in all ({flushed_s / args.spans * 1e6:.0f} us per span)")
    print(f"memory held by the store   {current / 2**20:.0f} MB ({current / args.spans:.0f} bytes per span)")
    print(f"JSONL on disk              {file_mb:.0f} MB (spans.jsonl and its rotated predecessor)")
    print(f"events paging (1000/page)  {seen / page_s:,.0f} spans/s ({pages} pages in {page_s:.2f} s)")
    print(f"one trace among all        {trace_s * 1000:.1f} ms ({len(found)} span)")
    resident, counted = rss_per_held_span(args.rss_spans)
    print(f"resident memory per held   {resident:.0f} bytes per span among request garbage "
          f"({counted:.0f} counted by the store; {args.rss_spans} spans)")


if __name__ == "__main__":
    main()
