"""Whole flows, not single calls: media-pipeline's drain rate and an SQS retry storm, with LocalStack's CPU.

    uv run python bench/pipeline.py [--files 1000] [--storm 10000] [--env KEY=VALUE ...] [--compare KEY=VALUE] [--census]

Starts its own sandbox (temporary state dir, free port). Pipeline: deploys media-pipeline with
ProcessingMsPerMB=0, uploads --files small valid media files from 16 threads and waits until every job is DONE;
prints files/s (first upload to last DONE), upload->DONE p50/p95 and CPU ms per file: LocalStack's, the processes
it started (functions, supervisors, fork server) and the whole machine's (the 2-core budget); with --census also
the CPU per file of the costliest operations (counted in LocalStack, sandbox/localstack_ext/request_census.py).
Idle latency: the median of three uploads, each after 15 s of quiet, upload -> job DONE. Storm: --storm messages to
a queue whose function fails every first delivery (visibility 1 s, maxReceiveCount 3): time until sent = processed
+ DLQ.
`--compare KEY=VALUE` runs everything twice, without and with that LocalStack/sandbox environment variable;
`--rounds N` repeats both N times, alternating, and prints the medians, so both see the same machine. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime


from _common import (census, census_per_unit, cpu_seconds, functions_seconds, machine_seconds, pss_mb, py_spy,
                     spent_by_pids, start_sandbox, stop_py_spy, system_seconds, wait_for_warm_up)

from sandbox import Sandbox

STORM_HANDLER = """
import json, os
def handler(event, context):
    failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                if int(r["attributes"]["ApproximateReceiveCount"]) < 2]
    return {"batchItemFailures": failures}
"""


def localstack_pss_mb(sb: Sandbox) -> float:
    return pss_mb(sb.embedded.instance().pid)


def pipeline(sb: Sandbox, files: int, profile_to: str | None = None) -> dict:
    out = sb.deploy("media-pipeline", stack_name="bench-media", parameters={"ProcessingMsPerMB": "0"}).outputs
    s3, ddb = sb.client("s3"), sb.client("dynamodb")
    bucket, table = out["UploadsBucket"], out["JobsTableName"]
    body = b"MEDIA1" + os.urandom(1000)
    uploaded: dict[str, float] = {}

    def upload(i: int) -> None:
        key = f"bench/{i:06d}-{uuid.uuid4().hex[:6]}.mp4"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        uploaded[key] = time.time()

    spy = py_spy(sb, profile_to)
    census0 = census(sb)
    cpu0, sys0, machine0, fn0 = cpu_seconds(sb), system_seconds(sb), machine_seconds(), functions_seconds(sb)
    t0 = time.time()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(upload, range(files)))
    done: dict[str, float] = {}
    deadline = time.time() + 900
    while len(done) < files and time.time() < deadline:
        time.sleep(2)  # each check is a Scan of the whole table: it costs LocalStack CPU too
        pages = ddb.get_paginator("scan").paginate(
            TableName=table, FilterExpression="#s = :d", ExpressionAttributeNames={"#s": "status", "#k": "key",
                                                                                    "#f": "finished_at"},
            ExpressionAttributeValues={":d": {"S": "DONE"}}, ProjectionExpression="#k, #f")
        for page in pages:
            for item in page["Items"]:
                done[item["key"]["S"]] = datetime.fromisoformat(item["finished_at"]["S"]).timestamp()
    cpu, system, machine = cpu_seconds(sb) - cpu0, system_seconds(sb) - sys0, machine_seconds() - machine0
    functions = spent_by_pids(fn0, functions_seconds(sb))
    per_operation = census_per_unit(census0, census(sb), max(1, len(done)))
    stop_py_spy(spy)
    last = max(done.values()) if done else float("nan")
    latencies = sorted(done[k] - uploaded[k] for k in done if k in uploaded)
    idle = idle_latency(sb, bucket, table)
    sb.destroy("bench-media")
    return {"files_done": len(done), "files_per_s": len(done) / (last - t0) if done else 0,
            "p50_s": statistics.median(latencies) if latencies else float("nan"),
            "p95_s": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
            "cpu_ms_per_file": cpu * 1000 / max(1, len(done)),
            "cpu_sys_ms_per_file": system * 1000 / max(1, len(done)),
            "machine_cpu_ms_per_file": machine * 1000 / max(1, len(done)),
            "functions_cpu_ms_per_file": functions * 1000 / max(1, len(done)), "idle_upload_to_done_s": idle,
            **per_operation}


def idle_latency(sb: Sandbox, bucket: str, table: str, samples: int = 3) -> float:
    """Median of `samples` single uploads, each after 15 s of quiet, from upload to job DONE."""
    return statistics.median(one_idle_upload(sb, bucket, table) for _ in range(samples))


def one_idle_upload(sb: Sandbox, bucket: str, table: str) -> float:
    time.sleep(15)
    key = f"idle/{uuid.uuid4().hex}.mp4"
    t0 = time.time()
    sb.client("s3").put_object(Bucket=bucket, Key=key, Body=b"MEDIA1 idle")
    ddb = sb.client("dynamodb")
    while time.time() - t0 < 60:
        items = ddb.scan(TableName=table, FilterExpression="#k = :k AND #s = :d",
                         ExpressionAttributeNames={"#k": "key", "#s": "status"},
                         ExpressionAttributeValues={":k": {"S": key}, ":d": {"S": "DONE"}})["Items"]
        if items:
            return time.time() - t0
        time.sleep(0.05)
    return float("nan")


def storm(sb: Sandbox, messages: int) -> dict:
    import io
    import zipfile

    sqs, lam = sb.client("sqs"), sb.client("lambda")
    name = f"storm-{uuid.uuid4().hex[:6]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": "1", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})
    queue = queue["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", STORM_HANDLER)
    lam.create_function(FunctionName=name, Runtime="python3.13", Role="arn:aws:iam::000000000000:role/bench",
                        Handler="app.handler", Code={"ZipFile": buf.getvalue()}, Timeout=10)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    for start_at in range(0, messages, 10):
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": f"m{start_at + i}"}
                                                        for i in range(min(10, messages - start_at))])
    cpu0, t0 = cpu_seconds(sb), time.time()
    lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, BatchSize=10,
                                    FunctionResponseTypes=["ReportBatchItemFailures"])
    while time.time() - t0 < 1800:
        attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 0:
            break
        time.sleep(0.5)
    seconds = time.time() - t0
    in_dlq = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                 ["Attributes"]["ApproximateNumberOfMessages"])
    return {"storm_s": seconds, "storm_msg_per_s": messages / seconds, "storm_in_dlq": in_dlq,
            "storm_cpu_ms_per_msg": (cpu_seconds(sb) - cpu0) * 1000 / messages}


def run(env: dict[str, str], args) -> dict:
    sb, state = start_sandbox(env, prefix="bench-pipeline-")
    try:
        wait_for_warm_up(sb)
        result = {"idle_pss_mb": localstack_pss_mb(sb)}
        if args.files:
            result.update(pipeline(sb, args.files, args.profile))
        if args.storm:
            result.update(storm(sb, args.storm))
        result["pss_after_mb"] = localstack_pss_mb(sb)
        return result
    finally:
        sb.down()
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--storm", type=int, default=0)
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--compare", metavar="KEY=VALUE[,KEY=VALUE]")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each variant, alternating; medians shown")
    parser.add_argument("--profile", metavar="FILE", help="py-spy LocalStack during the drain (collapsed stacks)")
    parser.add_argument("--census", action="store_true",
                        help="LocalStack's CPU per operation and file in the drain (SANDBOX_REQUEST_CENSUS=1)")
    args = parser.parse_args()
    base = dict(e.split("=", 1) for e in args.env)
    if args.census:
        base["SANDBOX_REQUEST_CENSUS"] = "1"
    variants = {"as configured": base}
    if args.compare:  # KEY=VALUE[,KEY=VALUE...]
        variants[args.compare] = {**base, **dict(p.split("=", 1) for p in args.compare.split(","))}
    rounds: dict[str, list[dict]] = {name: [] for name in variants}
    for _ in range(args.rounds):  # A B A B ...: both variants see the same machine, load that comes and goes
        for name, env in variants.items():
            rounds[name].append(run(env, args))
    results = {name: {k: statistics.median(r[k] for r in runs if k in r) for k in {k for r in runs for k in r}}
               for name, runs in rounds.items()}
    keys = sorted({k for r in results.values() for k in r})
    for i, name in enumerate(results):
        print(f"variant {i}: {name}")
    width = max(28, *(len(k) + 2 for k in keys))
    print(f"{'':{width}}" + "".join(f"{'variant ' + str(i):>16}" for i in range(len(results))))
    for k in keys:
        print(f"{k:{width}}" + "".join(f"{results[n].get(k, float('nan')):16.2f}" for n in results))


if __name__ == "__main__":
    main()
