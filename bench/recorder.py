"""Benchmark of the recorder's cost: warm API call latency with recording on and off.

    uv run python bench/recorder.py [--calls 300] [--rounds 6] [--endpoint-port PORT]

Starts its own sandbox in a temporary directory on a free port (or uses a running one with --state-dir/--port),
warms every call up, then alternates blocks of calls with the recorder enabled and paused
(POST /_sandbox/recorder), so drift of the machine affects both sides alike. Prints p50/p90 per call and the
p50 overhead; the target (#13) is <= 10 % on every op.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox, Settings  # noqa: E402
from sandbox.embedded import free_port  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/bench"
CODE = "def handler(event, context):\n    return {'ok': True}\n"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def setup(sb: Sandbox) -> dict:
    suffix = uuid.uuid4().hex[:8]
    sqs, ddb, s3, lam = sb.client("sqs"), sb.client("dynamodb"), sb.client("s3"), sb.client("lambda")
    queue = sqs.create_queue(QueueName=f"bench-{suffix}")["QueueUrl"]
    table = f"bench-{suffix}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"S": "x" * 200}})
    bucket = f"bench-{suffix}"
    s3.create_bucket(Bucket=bucket)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", CODE)
    fn = f"bench-{suffix}"
    lam.create_function(FunctionName=fn, Runtime="python3.13", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": buf.getvalue()}, Timeout=30)
    lam.get_waiter("function_active_v2").wait(FunctionName=fn, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    payload = json.dumps({"correlation_id": "bench", "data": "y" * 500})
    return {
        "sqs SendMessage": lambda: sqs.send_message(QueueUrl=queue, MessageBody=payload),
        "dynamodb GetItem": lambda: ddb.get_item(TableName=table, Key={"pk": {"S": "k"}}),
        "s3 PutObject 1KB": lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"z" * 1024),
        "lambda Invoke (warm)": lambda: lam.invoke(FunctionName=fn, Payload=payload)["Payload"].read(),
    }


def measure(call, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="calls per operation and side (on/off)")
    parser.add_argument("--rounds", type=int, default=20, help="alternations of on/off blocks")
    parser.add_argument("--state-dir", help="use the sandbox running in this state dir")
    parser.add_argument("--port", type=int, help="its port")
    args = parser.parse_args()

    own = args.state_dir is None
    tmp = tempfile.TemporaryDirectory(prefix="bench-recorder-") if own else None
    settings = Settings(state_dir=tmp.name if own else args.state_dir, port=args.port or free_port(), endpoint=None)
    sb = Sandbox(settings)
    if own:
        sb.up(timeout=120)
    try:
        calls = setup(sb)
        for call in calls.values():  # warm: environments started, services loaded, connections open
            measure(call, 30)
        block = max(1, args.calls // args.rounds)
        results = {name: {True: [], False: []} for name in calls}
        time.sleep(0.2)  # the warm-up's spans built by the span writer (every 50 ms) before counting
        before = sb.observe.recorder()
        for round_no in range(args.rounds):
            for enabled in ((True, False) if round_no % 2 == 0 else (False, True)):
                sb.observe.recorder(enabled=enabled)
                for name, call in calls.items():
                    results[name][enabled].extend(measure(call, block))
        sb.observe.recorder(enabled=True)
        time.sleep(0.2)  # the last calls' spans built by the span writer (every 50 ms)
        status = sb.observe.recorder()
        requests = status["requests"] - before["requests"]
        handler_us = (status["handler_ms_total"] - before["handler_ms_total"]) * 1000 / max(requests, 1)
        built = status["spans_built_later"] - before["spans_built_later"]
        build_us = (status["build_cpu_ms_total"] - before["build_cpu_ms_total"]) * 1000 / max(built, 1)
        print(f"recorder benchmark: {block * args.rounds} warm calls per operation and side, "
              f"{args.rounds} alternating rounds; {status['spans']} spans recorded\n")
        print(f"{'call':<24}{'p50 off':>10}{'p50 on':>10}{'overhead':>10}{'p90 off':>10}{'p90 on':>10}")
        overheads = []
        for name, sides in results.items():
            off50, on50 = statistics.median(sides[False]), statistics.median(sides[True])
            overhead = (on50 - off50) / off50 * 100
            overheads.append(overhead)
            print(f"{name:<24}{off50:>9.2f}ms{on50:>8.2f}ms{overhead:>9.1f}%"
                  f"{pct(sides[False], 90):>8.2f}ms{pct(sides[True], 90):>8.2f}ms")
        all_off = [v for sides in results.values() for v in sides[False]]
        all_on = [v for sides in results.values() for v in sides[True]]
        total = (statistics.median(all_on) - statistics.median(all_off)) / statistics.median(all_off) * 100
        print(f"\nworst p50 overhead {max(overheads):.1f}%, all calls p50 overhead {total:.1f}% (target <= 10% per op)")
        print(f"time in the recorder's gateway handlers: {handler_us:.0f} us per recorded request ({requests} requests, "
              f"incl. LocalStack's internal ones) = {handler_us / 1000 / statistics.median(all_off) * 100:.1f}% "
              f"of the p50 call with recording off")
        print(f"spans built after the answer, on the span writer: {built}, {build_us:.0f} us of thread CPU each "
              f"(LocalStack's CPU, not in a call's latency)")
    finally:
        if own:
            sb.down()
            tmp.cleanup()


if __name__ == "__main__":
    main()
