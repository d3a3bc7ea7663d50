"""What confining each Lambda environment costs: confined (default) vs SANDBOX_LAMBDA_CONFINE=0, side by side.

    uv run python bench/confinement.py [--cold 15] [--warm 200] [--idle 20]

Starts two sandboxes in temporary directories on free ports, one with the supervisor's namespaces and Landlock
(sandbox/lambda_process/environment/confine.py) and one without, and alternates between them so both see the same machine
load. Prints cold and warm invoke times and the CPU the supervisors spend watching idle environments.
Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox, Settings  # noqa: E402
from sandbox.embedded import free_port  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/bench"
CODE = {
    "python (no imports)": ("python3.13", "app.py", "def handler(event, context):\n    return 1\n"),
    "python (import boto3)": ("python3.13", "app.py", "import boto3\ndef handler(event, context):\n    return 1\n"),
    "node": ("nodejs20.x", "app.mjs", "export const handler = async () => 1;\n"),
}


def zipped(name: str, code: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, code)
    return buf.getvalue()


def start(confined: bool) -> tuple[Sandbox, Path]:
    state = Path(tempfile.mkdtemp(prefix="bench-confine-", dir="/var/tmp"))
    os.environ["SANDBOX_LAMBDA_CONFINE"] = "1" if confined else "0"
    try:
        sb = Sandbox(Settings(state_dir=state, port=free_port(), endpoint=None))
        sb.up(timeout=120)
    finally:
        os.environ.pop("SANDBOX_LAMBDA_CONFINE", None)
    return sb, state


def create(sb: Sandbox, runtime: str, file: str, code: str, memory: int = 256) -> str:
    lam = sb.client("lambda")
    name = f"bench-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=f"{file.split('.')[0]}.handler",
                        Code={"ZipFile": zipped(file, code)}, Timeout=30, MemorySize=memory)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 600})
    return name


def invoke_ms(sb: Sandbox, name: str) -> float:
    lam = sb.client("lambda")
    t0 = time.perf_counter()
    resp = lam.invoke(FunctionName=name, Payload=b"{}")
    resp["Payload"].read()
    assert "FunctionError" not in resp, resp
    return (time.perf_counter() - t0) * 1000


def supervisors(sb: Sandbox) -> list[psutil.Process]:
    return [psutil.Process(r.pid) for r in sb.embedded.registry.alive() if r.kind == "lambda"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", type=int, default=15)
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--idle", type=int, default=20, help="idle environments whose supervisors are watched")
    args = parser.parse_args()
    sides = {"confined": start(True), "not confined": start(False)}
    results: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    try:
        for side, (sb, _) in sides.items():
            create(sb, *CODE["python (no imports)"])  # the fork server's first start is not a cold start
        for label, spec in CODE.items():
            for _ in range(args.cold):
                for side, (sb, _) in sides.items():
                    results[side].setdefault(f"cold: {label}", []).append(invoke_ms(sb, create(sb, *spec)))
        warm = {side: create(sb, *CODE["python (no imports)"]) for side, (sb, _) in sides.items()}
        for _ in range(args.warm):
            for side, (sb, _) in sides.items():
                results[side].setdefault("warm: python", []).append(invoke_ms(sb, warm[side]))
        idle_cpu = {}
        for side, (sb, _) in sides.items():
            sb.reset()
            names = [create(sb, *CODE["python (no imports)"]) for _ in range(args.idle)]
            for name in names:
                invoke_ms(sb, name)
            procs = supervisors(sb)
            before = sum(p.cpu_times().user + p.cpu_times().system for p in procs)
            time.sleep(10)
            after = sum(p.cpu_times().user + p.cpu_times().system for p in procs)
            idle_cpu[side] = (after - before) / 10 * 100
    finally:
        for sb, state in sides.values():
            sb.down()
            shutil.rmtree(state, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'measure':<32} {'confined p50':>13} {'p90':>8} {'not confined p50':>17} {'p90':>8}")
    for key in results["confined"]:
        row = []
        for side in sides:
            values = sorted(results[side][key])
            row += [statistics.median(values), values[int(0.9 * (len(values) - 1))]]
        print(f"{key + ' (ms)':<32} {row[0]:>13.1f} {row[1]:>8.1f} {row[2]:>17.1f} {row[3]:>8.1f}")
    print(f"{'supervisors of %d idle envs (%% of a core)' % args.idle:<32} {idle_cpu['confined']:>13.2f} "
          f"{'':>8} {idle_cpu['not confined']:>17.2f}")


if __name__ == "__main__":
    main()
