"""Helpers of the Lambda performance scenarios (cold-starts, throttling, fat-lambda, hot-partition).

* deploying a scenario app from `scenarios/apps/<name>/`, optionally with generated files (a fat dependency tree),
* invoking with `LogType=Tail` and reading the REPORT line (`Init Duration` is there on a cold start),
* concurrent bursts that really start together (a barrier), with per-request timings,
* the teaching model of cold starts (`modeled_init_ms`), applied with the Lambda fault `startup-latency`.

The cold-start model (also in docs/cold-start-model.md): the sandbox runs a function's own init code for real, but
it skips what AWS does before that code runs: fetch and unpack the code package, start a fresh runtime (the fork
server has boto3 already imported). The model puts that time back, per cold start:

    modeled_init_ms = BASE_MS + MS_PER_MB * package_mb * cpu_factor(memory_mb)
    cpu_factor(memory_mb) = sqrt(FULL_VCPU_MB / clamp(memory_mb, 128, FULL_VCPU_MB))

`package_mb` is the zipped package as the Lambda API reports it (`CodeSize`). CPU scales with memory on AWS (one
full vCPU at 1,769 MB); unpacking and loading a package is only partly CPU-bound, hence the square root. It is a
teaching approximation with round constants, not AWS's formula.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scenarios.report import percentile
from scenarios.runner import RunContext, ScenarioError


# --- the cold-start model ----------------------------------------------------------------------------------
BASE_MS = 150.0  # a fresh Python runtime with a tiny package
MS_PER_MB = 60.0  # fetching, unpacking and loading one MB of (zipped) package at one full vCPU
FULL_VCPU_MB = 1769  # memory at which a function gets one full vCPU
MIN_MEMORY_MB = 128


def cpu_factor(memory_mb: int) -> float:
    memory = min(max(int(memory_mb), MIN_MEMORY_MB), FULL_VCPU_MB)
    return math.sqrt(FULL_VCPU_MB / memory)


def modeled_init_ms(code_size_bytes: int, memory_mb: int) -> int:
    """Start-up latency the model adds to a cold start of a function with this package size and memory."""
    package_mb = code_size_bytes / 1_000_000
    return int(round(BASE_MS + MS_PER_MB * package_mb * cpu_factor(memory_mb)))


def apply_cold_start_model(ctx: RunContext, functions: dict[str, str], observe_prefix: str = "model") -> dict:
    """One `startup-latency` Lambda fault rule per function, its latency from the model. `functions`: label ->
    function name. Returns label -> {"package_kb", "memory_mb", "startup_ms"}; the runner clears the rules."""
    lam = ctx.sb.client("lambda")
    out = {}
    for label, name in functions.items():
        config = lam.get_function_configuration(FunctionName=name)
        ms = modeled_init_ms(config["CodeSize"], config["MemorySize"])
        ctx.sb.faults.apply("lambda-cold-start", ms=ms, function=name)
        out[label] = {"package_kb": round(config["CodeSize"] / 1000, 1), "memory_mb": config["MemorySize"],
                      "startup_ms": ms}
        ctx.observe(f"{observe_prefix}.{label}_startup_ms", ms)
    return out


# --- generated packages -----------------------------------------------------------------------------------
def generate_heavy_deps(dest: Path, seed: int = 1, modules: int = 60, blob_kb: int = 4000) -> None:
    """A stand-in for a fat dependency tree in `dest/heavydeps`: `modules` modules of generated Python (about
    20 KB each, all imported by the package, compiled at every cold start since Lambda writes no .pyc) and a
    `blob_kb` KB data file of random bytes (a model or a data set shipped in the package; it does not zip)."""
    rng = random.Random(seed)
    pkg = dest / "heavydeps"
    (pkg / "data").mkdir(parents=True, exist_ok=True)
    names = []
    for m in range(modules):
        lines = [f'"""Generated dependency module {m} (a stand-in for a third-party library)."""',
                 "import dataclasses", "",
                 "TABLE = {" + ", ".join(f"'k{i}': {rng.randint(0, 10**6)}" for i in range(300)) + "}", ""]
        for f in range(40):
            a, b = rng.randint(1, 99), rng.randint(2, 99)
            lines += [f"def f{f}(x, y={a}):",
                      "    total = 0",
                      "    for i in range(x):",
                      f"        if i % {b} == 0:",
                      f"            total += i * y - {a}",
                      "        elif i % 3 == 1:",
                      "            total -= TABLE.get('k' + str(i % 300), 0)",
                      f"    return {{'module': {m}, 'function': {f}, 'total': total}}", ""]
        lines += ["@dataclasses.dataclass", f"class Model{m}:", "    a: int = 0", "    b: str = ''", ""]
        name = f"mod{m:03d}"
        (pkg / f"{name}.py").write_text("\n".join(lines))
        names.append(name)
    (pkg / "__init__.py").write_text('"""Generated: a fat dependency tree (see scenarios/kits/lambda_performance.py)."""\n'
                                     + "".join(f"from heavydeps import {n}\n" for n in names)
                                     + f"MODULES = {len(names)}\n")
    (pkg / "data" / "model.bin").write_bytes(rng.randbytes(blob_kb * 1000))


# --- invoking ----------------------------------------------------------------------------------------------
REPORT_FIELD = re.compile(r"(Duration|Billed Duration|Memory Size|Max Memory Used|Init Duration): ([\d.]+)")


def parse_report(logs: str) -> dict[str, float]:
    """The REPORT line of an invocation's log tail: {"Duration": ms, "Init Duration": ms (cold only), ...}."""
    for line in logs.splitlines():
        if line.startswith("REPORT"):
            return {k: float(v) for k, v in REPORT_FIELD.findall(line)}
    return {}


def invoke(ctx: RunContext, function: str, payload: Any = None, qualifier: str | None = None,
           tail: bool = True) -> dict:
    """A synchronous invocation: {"ms", "status", "error", "payload", "report", "sent_at"}; a throttle is
    {"error": "TooManyRequestsException", "throttled": True} instead of an exception."""
    lam = ctx.sb.client("lambda")
    kwargs = {"FunctionName": function, "Payload": json.dumps(payload or {}).encode()}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    if tail:
        kwargs["LogType"] = "Tail"
    sent_at = time.time()
    started = time.perf_counter()
    try:
        resp = lam.invoke(**kwargs)
    except lam.exceptions.TooManyRequestsException:
        return {"ms": (time.perf_counter() - started) * 1000, "sent_at": sent_at, "throttled": True,
                "error": "TooManyRequestsException", "payload": None, "report": {}}
    body = resp["Payload"].read()
    ms = (time.perf_counter() - started) * 1000
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = body.decode(errors="replace")
    logs = base64.b64decode(resp["LogResult"]).decode(errors="replace") if resp.get("LogResult") else ""
    error = None
    if resp.get("FunctionError"):
        error = (data or {}).get("errorType", "error") if isinstance(data, dict) else "error"
    return {"ms": ms, "sent_at": sent_at, "throttled": False, "error": error, "payload": data,
            "report": parse_report(logs)}


def together(n: int, call: Callable[[int], Any], timeout: float = 120) -> list[Any]:
    """Runs call(0..n-1) on n threads released at the same instant; results in order (an exception re-raised)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call(i)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,), daemon=True, name=f"burst-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    if errors:
        raise errors[0]
    if any(t.is_alive() for t in threads):
        raise ScenarioError(f"a burst of {n} requests did not finish within {timeout:.0f}s")
    return results


def p50(values: list[float]) -> float | None:
    return percentile(values, 50)


def p99(values: list[float]) -> float | None:
    return percentile(values, 99)


def wait_active(ctx: RunContext, function: str, timeout: float = 60) -> None:
    """Until a configuration change of the function is applied (LastUpdateStatus Successful)."""
    lam = ctx.sb.client("lambda")

    def done():
        status = lam.get_function_configuration(FunctionName=function).get("LastUpdateStatus")
        if status == "Failed":
            raise ScenarioError(f"updating function {function} failed")
        return status in (None, "Successful")

    ctx.wait_until(done, timeout=timeout, what=f"the update of function {function}", interval=0.2)
