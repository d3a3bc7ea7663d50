"""Whole flows, not single calls: media-pipeline's drain rate and an SQS retry storm, with LocalStack's CPU.

    uv run python bench/pipeline.py [--files 1000] [--rate 50] [--storm 10000] [--env KEY=VALUE ...] [--compare KEY=VALUE]
        [--census [handlers]] [--timeline] [--profile FILE] [--profile-functions FOLDER]

Starts its own sandbox (temporary state dir, free port). Pipeline: deploys media-pipeline with
ProcessingMsPerMB=0, uploads --files small valid media files from 16 threads (as one burst, or at --rate files/s)
and waits until every job is DONE;
prints files/s (first upload to last DONE), upload->DONE p50/p95 and CPU ms per file: LocalStack's, the processes
it started (functions, supervisors, fork server) and the whole machine's (the 2-core budget); with --census also
the CPU per file of the costliest operations (counted in LocalStack, sandbox/localstack_ext/request_census.py).
`localstack_per_functions_cpu` is LocalStack's CPU over the functions': the host's speed changes from run to run (up to
+-30 % CPU per file here), and slows both alike, so when only LocalStack's settings differ the ratio compares them
better than either number. `worker_batch_mean` (files per worker invocation) and `environments` (cold starts of
the run) say whether two runs did the same work: smaller batches or more environments cost CPU per file on both sides.
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


from _common import (FunctionSpies, census, census_per_unit, cpu_seconds, functions_seconds, machine_seconds, pss_mb,
                     py_spy, spent_by_pids, start_sandbox, stop_py_spy, system_seconds, wait_for_warm_up)

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


def pipeline(sb: Sandbox, files: int, profile_to: str | None = None, timeline: bool = False,
             rate: float = 0, profile_functions_to: str | None = None) -> dict:
    out = sb.deploy("media-pipeline", stack_name="bench-media", parameters={"ProcessingMsPerMB": "0"}).outputs
    s3, ddb = sb.client("s3"), sb.client("dynamodb")
    bucket, table = out["UploadsBucket"], out["JobsTableName"]
    body = b"MEDIA1" + os.urandom(1000)
    uploaded: dict[str, float] = {}

    def upload(i: int) -> None:
        key = f"bench/{i:06d}-{uuid.uuid4().hex[:6]}.mp4"
        if rate:  # paced: upload i at t0 + i / rate, so latency is the flow's, not the queue of a burst
            time.sleep(max(0.0, t0 + i / rate - time.time()))
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        uploaded[key] = time.time()

    spy = py_spy(sb, profile_to)
    function_spies = FunctionSpies(sb, profile_functions_to) if profile_functions_to else None
    census0 = census(sb)
    cpu0, sys0, machine0, fn0 = cpu_seconds(sb), system_seconds(sb), machine_seconds(), functions_seconds(sb)
    t0 = time.time()
    watch = Timeline(sb, out["JobsQueueUrl"]) if timeline else None
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(upload, range(files)))
    if watch:
        watch.mark("uploads done")
    try:
        finished = wait_until_done(sb, out["JobsQueueUrl"], table, files, deadline=time.time() + 900)
    finally:
        if watch:
            watch.stop()
    if finished < files:
        print(f"WARNING: only {finished} of {files} jobs DONE after 900 s: the numbers below are of those")
    cpu, system, machine = cpu_seconds(sb) - cpu0, system_seconds(sb) - sys0, machine_seconds() - machine0
    functions = spent_by_pids(fn0, functions_seconds(sb))
    census1 = census(sb)
    stop_py_spy(spy)
    profile = function_spies.stop() if function_spies else {}
    done = finished_at(ddb, table)  # after the measurement: a Scan of the whole table is not the workload's
    batches = invocations(sb, out["WorkerFunctionName"], t0)
    # Environments alive now, the ingest's and the worker's: each was a cold start of this run (they stay warm 10 min;
    # one that crashed is not counted). Each costs ~0.1-0.3 s of CPU (interpreter, boto3, Powertools), which the
    # functions' CPU per file carries.
    environments = len((sb.info() or {}).get("lambda_processes", []))
    per_operation = census_per_unit(census0, census1, max(1, len(done)))
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
            "localstack_per_functions_cpu": cpu / functions if functions else float("nan"),
            "worker_batch_mean": len(done) / batches if batches else float("nan"), "environments": environments,
            **per_operation, **profile}


def invocations(sb: Sandbox, function: str, since: float) -> int:
    """The function's invocations since `since` (CloudWatch's AWS/Lambda Invocations, which LocalStack writes once a
    second): the worker's are its SQS batches. A faster LocalStack drains the queue sooner, so the mapping finds fewer
    messages per poll: smaller batches, more invocations, and more CPU per file on both sides - a rate and CPU per
    file compared without this may be comparing batch sizes."""
    time.sleep(2)  # the last second's metrics
    points = sb.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="Invocations", Dimensions=[{"Name": "FunctionName", "Value": function}],
        StartTime=since - 60, EndTime=time.time() + 60, Period=60, Statistics=["Sum"])["Datapoints"]
    return int(sum(point["Sum"] for point in points))


def queue_depth(sqs, queue_url: str) -> tuple[int, int]:
    """(messages waiting, messages in flight) of a queue."""
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


class Timeline:
    """A line per second while the pipeline drains: LocalStack's CPU, the functions', the machine's (200 % = both
    cores) and the jobs queue (visible/in flight). It shows which of them is the bottleneck: LocalStack near 100 %
    of its one core while the machine has room means the single process bounds the rate. It costs a little too: a
    GetQueueAttributes a second in LocalStack, a walk of its processes in the machine's CPU."""

    def __init__(self, sb: Sandbox, queue_url: str):
        import threading

        self.sb, self.queue_url, self.t0 = sb, queue_url, time.time()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-timeline", daemon=True)
        self.thread.start()

    def mark(self, what: str) -> None:
        print(f"timeline {time.time() - self.t0:6.1f}s  {what}", flush=True)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        sqs = self.sb.client("sqs")
        last = (time.time(), cpu_seconds(self.sb), machine_seconds(), functions_seconds(self.sb))
        while not self.stopped.wait(1.0):
            now = (time.time(), cpu_seconds(self.sb), machine_seconds(), functions_seconds(self.sb))
            seconds = now[0] - last[0]
            try:
                queue = "%d/%d" % queue_depth(sqs, self.queue_url)
            except Exception:  # noqa: BLE001 - a busy gateway may refuse the bench's own probe
                queue = "?"
            print(f"timeline {now[0] - self.t0:6.1f}s  LocalStack {(now[1] - last[1]) / seconds:4.0%}  functions "
                  f"{spent_by_pids(last[3], now[3]) / seconds:4.0%}  machine {(now[2] - last[2]) / seconds:4.0%}  "
                  f"jobs queue {queue}", flush=True)
            last = now


def wait_until_done(sb: Sandbox, queue_url: str, table: str, files: int, deadline: float) -> int:
    """Until `files` jobs are DONE (or the deadline), checking cheaply: the jobs queue's depth each second, and only
    when it is empty a count of the DONE jobs (a Scan with Select=COUNT, no items sent back). Returns the count.
    The first version scanned and returned the whole table every 2 s: 0.7-0.9 ms of LocalStack CPU per file at
    1,000 files, measured as if it were the pipeline's (docs/benchmarks.md, tenth round). Stops at the deadline
    with fewer (jobs that failed never count)."""
    sqs, ddb = sb.client("sqs"), sb.client("dynamodb")
    done = 0
    while done < files and time.time() < deadline:
        time.sleep(1)
        if sum(queue_depth(sqs, queue_url)):
            continue
        pages = ddb.get_paginator("scan").paginate(
            TableName=table, Select="COUNT", FilterExpression="#s = :d", ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":d": {"S": "DONE"}})
        done = sum(page["Count"] for page in pages)
    return done


def finished_at(ddb, table: str) -> dict[str, float]:
    """key -> when its job was DONE (the job's own `finished_at`), for every DONE job."""
    done = {}
    pages = ddb.get_paginator("scan").paginate(
        TableName=table, FilterExpression="#s = :d", ExpressionAttributeNames={"#s": "status", "#k": "key",
                                                                            "#f": "finished_at"},
        ExpressionAttributeValues={":d": {"S": "DONE"}}, ProjectionExpression="#k, #f")
    for page in pages:
        for item in page["Items"]:
            done[item["key"]["S"]] = datetime.fromisoformat(item["finished_at"]["S"]).timestamp()
    return done


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
        if sum(queue_depth(sqs, queue)) == 0:
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
            result.update(pipeline(sb, args.files, args.profile, args.timeline, args.rate, args.profile_functions))
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
    parser.add_argument("--rate", type=float, default=0, metavar="FILES_PER_S",
                        help="upload at this steady rate instead of as one burst: upload->DONE p50/p95 at that rate "
                             "(in a burst they are mostly the wait in the queue)")
    parser.add_argument("--storm", type=int, default=0)
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--compare", metavar="KEY=VALUE[,KEY=VALUE]")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each variant, alternating; medians shown")
    parser.add_argument("--profile", metavar="FILE", help="py-spy LocalStack during the drain (collapsed stacks)")
    parser.add_argument("--profile-functions", metavar="FOLDER",
                        help="py-spy every function process during the drain (one file per pid in FOLDER; the CPU "
                             "costs the functions more than --profile costs LocalStack) and print their CPU by part: "
                             "runtime, handler's AWS SDK, Powertools, own code, supervisors")
    parser.add_argument("--census", nargs="?", const="1", choices=("1", "handlers"),
                        help="LocalStack's CPU per operation and file in the drain, its collector's and its threads' "
                             "(SANDBOX_REQUEST_CENSUS=1); `--census handlers` also per handler of the chain")
    parser.add_argument("--timeline", action="store_true",
                        help="a line per second of the drain: LocalStack's, the functions' and the machine's CPU, "
                             "the jobs queue")
    args = parser.parse_args()
    base = dict(e.split("=", 1) for e in args.env)
    if args.census:
        base["SANDBOX_REQUEST_CENSUS"] = args.census
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
