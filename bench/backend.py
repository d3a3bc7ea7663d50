"""Benchmark of the embedded backend: start-up, function creation, cold and warm invokes, SQS -> Lambda latency.

    uv run python bench/backend.py [--warm 200] [--launches 3]

Starts its own sandbox in a temporary directory on a free port and stops it at the end. Prints one table;
results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
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
SLIM = "def handler(event, context):\n    return {'ok': True}\n"
WITH_BOTO3 = "import boto3\n\ndef handler(event, context):\n    return {'ok': True}\n"
SQS_PROBE = """
import json, time, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    now = time.time()
    for record in event["Records"]:
        sent = json.loads(record["body"])["sent"]
        sqs.send_message(QueueUrl=os.environ["RESULTS"], MessageBody=json.dumps({"latency_ms": (now - sent) * 1000}))
"""


def zip_code(code: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", code)
    return buf.getvalue()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def create(sb: Sandbox, code: str, **kwargs) -> tuple[str, float]:
    lam = sb.client("lambda")
    name = f"bench-{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    lam.create_function(FunctionName=name, Runtime="python3.13", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": zip_code(code)}, Timeout=30, **kwargs)
    while lam.get_function(FunctionName=name)["Configuration"]["State"] != "Active":
        time.sleep(0.005)
    return name, (time.perf_counter() - t0) * 1000


def timed_invoke(sb: Sandbox, name: str) -> float:
    t0 = time.perf_counter()
    resp = sb.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    resp["Payload"].read()
    assert "FunctionError" not in resp, resp
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--launches", type=int, default=3)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--sqs", type=int, default=20)
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []

    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        settings = Settings(state_dir=Path(tmp), port=free_port(), endpoint=None)
        settings.knobs.esm_poll_interval = 0.1
        sb = Sandbox(settings)
        launches = []
        for i in range(args.launches):
            _, seconds, _ = sb.up()
            launches.append(seconds * 1000)
            if i < args.launches - 1:
                sb.down()
        rows.append(("launch -> healthy", f"{statistics.median(launches):.0f} ms (median of {len(launches)})", "<= 2000 ms"))
        try:
            creates, cold_slim, cold_boto = [], [], []
            for _ in range(args.cold):
                name, ms = create(sb, SLIM)
                creates.append(ms)
                cold_slim.append(timed_invoke(sb, name))
                name, ms = create(sb, WITH_BOTO3)
                creates.append(ms)
                cold_boto.append(timed_invoke(sb, name))
            rows.append(("CreateFunction -> Active", f"{statistics.median(creates):.0f} ms", ""))
            rows.append(("cold invoke, no imports", f"{statistics.median(cold_slim):.0f} ms", ""))
            rows.append(("cold invoke, import boto3", f"{statistics.median(cold_boto):.0f} ms", "<= 150 ms"))

            name, _ = create(sb, SLIM)
            timed_invoke(sb, name)
            warm = [timed_invoke(sb, name) for _ in range(args.warm)]
            rows.append((f"warm invoke p50 ({args.warm} calls)", f"{pct(warm, 50):.1f} ms", "<= 8 ms"))
            rows.append((f"warm invoke p99 ({args.warm} calls)", f"{pct(warm, 99):.1f} ms", ""))

            sqs, lam = sb.client("sqs"), sb.client("lambda")
            source = sqs.create_queue(QueueName="bench-source")["QueueUrl"]
            results = sqs.create_queue(QueueName="bench-results")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            name, _ = create(sb, SQS_PROBE, Environment={"Variables": {"RESULTS": results}})
            lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, BatchSize=1)
            latencies: list[float] = []
            sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"sent": time.time()}))  # warm-up
            _drain(sqs, results, 1)
            for _ in range(args.sqs):
                sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"sent": time.time()}))
                latencies += _drain(sqs, results, 1)
            rows.append((f"SQS -> Lambda end to end p50 ({len(latencies)} msgs, poll 0.1 s)",
                         f"{pct(latencies, 50):.0f} ms", ""))
        finally:
            sb.down()

    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}, Python {platform.python_version()}")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'result':>28}  target")
    for label, value, target in rows:
        print(f"{label.ljust(width)}  {value:>28}  {target}")


def _drain(sqs, url: str, count: int, timeout: float = 30) -> list[float]:
    out: list[float] = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        for msg in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
            out.append(json.loads(msg["Body"])["latency_ms"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    return out


if __name__ == "__main__":
    main()
