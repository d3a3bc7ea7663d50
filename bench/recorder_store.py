"""Benchmark of the recorder's span store: memory with 100k spans, and how fast the events API pages through them.

    uv run python bench/recorder_store.py [--spans 100000]

Runs in-process (no LocalStack): the same SpanStore the recorder uses inside LocalStack, fed with spans shaped
like a Lambda invoke with 2 KB previews. The HTTP layer of /_sandbox/events adds JSON encoding per page on top.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=100_000)
    args = parser.parse_args()
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
        file_mb = (Path(tmp) / "spans.jsonl").stat().st_size / 2**20
    print(f"spans recorded             {args.spans}")
    print(f"record (request path)      {record_s / args.spans * 1e6:.1f} us per span")
    print(f"record + background write  {flushed_s:.1f} s in all ({flushed_s / args.spans * 1e6:.0f} us per span)")
    print(f"memory held by the store   {current / 2**20:.0f} MB ({current / args.spans:.0f} bytes per span)")
    print(f"JSONL on disk              {file_mb:.0f} MB")
    print(f"events paging (1000/page)  {seen / page_s:,.0f} spans/s ({pages} pages in {page_s:.2f} s)")


if __name__ == "__main__":
    main()
