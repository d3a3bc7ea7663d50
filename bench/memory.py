"""Memory of a long-lived sandbox: idle PSS, and PSS after each of N upload bursts with `reset` between them.

    uv run python bench/memory.py [--runs 10] [--files 1000] [--idle-seconds 30] [--fresh-beside]

Starts its own sandbox (temporary state dir, free port). Measures LocalStack's PSS and its CPU while idle (nothing
deployed, then media-pipeline deployed and quiet), then --runs times: deploy media-pipeline (ProcessingMsPerMB=0),
upload --files small files from 16 threads, wait until every job is DONE, `sandbox reset`, and note the PSS of
LocalStack and of the function processes, and what the recorder holds of its bounded history (it fills up to its
budget over the first runs). A leak shows as a PSS that keeps climbing from run to run after reset.

Each run also prints LocalStack's CPU per file. With --fresh-beside, each run is followed by the same burst on a
fresh sandbox (started, deployed, drained, stopped; the long-lived one waits idle): its files/s and CPU per file
beside the long-lived one's tell a sandbox that slows with age from the host's speed drifting over the bench.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psutil

from _common import pss_mb, start_sandbox, wait_for_warm_up

from sandbox import Sandbox


def recorder_history(sb: Sandbox) -> str:
    """The recorder's spans held in memory, against its budget: the part of the PSS that fills up to a bound."""
    got = sb.observe.recorder()
    if not got.get("enabled"):
        return "off"
    return f"{got['history_mb']:.0f}/{got['history_budget_mb']} MB" if "history_mb" in got else "-"


def children_pss_mb(pid: int) -> float:
    """Everything LocalStack started (function processes, the fork server) and the fork server's children."""
    try:
        return sum(pss_mb(p.pid) for p in psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return 0.0


def idle_cpu_percent(pid: int, seconds: float) -> float:
    proc = psutil.Process(pid)
    t0, c0 = time.monotonic(), sum(proc.cpu_times()[:2])
    time.sleep(seconds)
    return (sum(proc.cpu_times()[:2]) - c0) / (time.monotonic() - t0) * 100


def burst(sb: Sandbox, files: int) -> tuple[float, float]:
    """(files/s, LocalStack's CPU ms per file) of one burst, from the first upload to the last job DONE."""
    out = sb.deploy("media-pipeline", stack_name="bench-media", parameters={"ProcessingMsPerMB": "0"}).outputs
    s3, ddb = sb.client("s3"), sb.client("dynamodb")
    body = b"MEDIA1" + os.urandom(1000)
    proc = psutil.Process(sb.embedded.instance().pid)
    t0, cpu0 = time.time(), sum(proc.cpu_times()[:2])
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=out["UploadsBucket"], Key=f"m/{i:06d}-{uuid.uuid4().hex[:6]}.mp4",
                                              Body=body), range(files)))
    deadline = time.time() + 900
    while time.time() < deadline:
        time.sleep(2)
        done = sum(page["Count"] for page in ddb.get_paginator("scan").paginate(
            TableName=out["JobsTableName"], Select="COUNT", FilterExpression="#s = :d",
            ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":d": {"S": "DONE"}}))
        if done >= files:
            return files / (time.time() - t0), (sum(proc.cpu_times()[:2]) - cpu0) * 1000 / files
    raise SystemExit(f"only {done} of {files} jobs DONE after 15 minutes")


def fresh_burst(env: dict[str, str], files: int) -> tuple[float, float]:
    """One burst on a sandbox started for it, then stopped."""
    sb, state = start_sandbox(env, prefix="bench-memory-fresh-")
    try:
        wait_for_warm_up(sb)
        return burst(sb, files)
    finally:
        sb.down()
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--fresh-beside", action="store_true",
                        help="after each run, the same burst on a fresh sandbox: its CPU per file beside")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="start the sandbox with this variable, e.g. SANDBOX_RECORDER=0")
    args = parser.parse_args()
    env = dict(e.split("=", 1) for e in args.env)
    sb, state = start_sandbox(env, prefix="bench-memory-")
    try:
        pid = sb.embedded.instance().pid
        wait_for_warm_up(sb)  # the background warm-up loads the common services first
        print(f"idle, nothing deployed: PSS {pss_mb(pid):.0f} MB, CPU {idle_cpu_percent(pid, args.idle_seconds):.2f} %")
        sb.deploy("media-pipeline", stack_name="bench-media", parameters={"ProcessingMsPerMB": "0"})
        print(f"idle, media-pipeline deployed: PSS {pss_mb(pid):.0f} MB, "
              f"CPU {idle_cpu_percent(pid, args.idle_seconds):.2f} %")
        print(f"\n{'run':>4}{'files/s':>9}{'LocalStack CPU/file':>20}{'LocalStack PSS after reset':>28}"
              f"{'functions PSS':>15}{'recorder history':>18}"
              + (f"{'fresh: files/s':>16}{'CPU/file':>12}" if args.fresh_beside else ""))
        for run in range(1, args.runs + 1):
            rate, cpu_ms = burst(sb, args.files)
            sb.reset()
            time.sleep(3)
            line = (f"{run:>4}{rate:>9.1f}{cpu_ms:>17.1f} ms{pss_mb(pid):>26.0f} MB{children_pss_mb(pid):>12.0f} MB"
                    f"{recorder_history(sb):>18}")
            if args.fresh_beside:
                fresh_rate, fresh_cpu_ms = fresh_burst(env, args.files)
                line += f"{fresh_rate:>16.1f}{fresh_cpu_ms:>9.1f} ms"
            print(line, flush=True)
    finally:
        sb.down()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
