"""What the benches share: a sandbox of their own started with extra environment variables, its warm-up, its CPU
and memory. Imported by the scripts next to it (`python bench/x.py` puts this folder on sys.path)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox, Settings  # noqa: E402
from sandbox.embedded import free_port  # noqa: E402
from sandbox.localstack_ext import request_census  # noqa: E402


def start_sandbox(env: dict[str, str], prefix: str = "bench-") -> tuple[Sandbox, Path]:
    """A sandbox in a temporary state dir on a free port, started with `env` added to this process's variables."""
    state = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        sb = Sandbox(Settings(state_dir=state, port=free_port(), endpoint=None))
        sb.up(timeout=120)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return sb, state


def wait_for_warm_up(sb: Sandbox, timeout: float = 60) -> None:
    """Until LocalStack's background warm-up (sandbox/localstack_ext/warmup.py) has loaded the common services."""
    deadline = time.time() + timeout
    while time.time() < deadline and "Sandbox warm-up done" not in sb.embedded.log_file.read_text(errors="replace"):
        time.sleep(0.5)


def cpu_seconds(sb: Sandbox) -> float:
    t = psutil.Process(sb.embedded.instance().pid).cpu_times()
    return t.user + t.system


def machine_seconds() -> float:
    """CPU time of the whole machine, every process (the 2-core budget the functions share with LocalStack)."""
    t = psutil.cpu_times()  # Linux: guest time is already in user; idle, iowait and steal are not ours
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def functions_seconds(sb: Sandbox) -> dict[int, float]:
    """CPU time of each process LocalStack started (the functions' environments, their supervisors, the fork
    server), by pid, with what each has reaped of its own children (an environment's ended runtime in its
    supervisor, an ended supervisor in the fork server): subtract two of these with `spent_by_pids`."""
    out = {}
    for p in psutil.Process(sb.embedded.instance().pid).children(recursive=True):
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return out


def spent_by_pids(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two `functions_seconds`; a process started in between counts from zero, one that ended in
    between counts if its parent reaped it (a direct child of LocalStack that ended is not counted)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def system_seconds(sb: Sandbox) -> float:
    """The kernel's part of LocalStack's CPU (sockets, thread wake-ups, the GIL's futex)."""
    return psutil.Process(sb.embedded.instance().pid).cpu_times().system


def census(sb: Sandbox) -> dict[str, dict] | None:
    """LocalStack's CPU per operation so far (sandbox/localstack_ext/request_census.py), or None when the sandbox
    was not started with SANDBOX_REQUEST_CENSUS=1."""
    resp = sb.http.get(f"{sb.endpoint}/_sandbox/census", timeout=10)
    return resp.json()["operations"] if resp.ok else None


# census lines that overlap the operations (request_census.OVERLAPPING): shown apart, never in the total
SHOWN = {"gc ": 3, "thread ": 6, "handler ": 12}  # prefix -> how many of them to show


def census_per_unit(before: dict | None, after: dict | None, units: int, top: int = 8) -> dict[str, float]:
    """ms of LocalStack CPU per unit (file, message) between two censuses: the `top` operations and their total
    over every operation ("census total"), then the costliest lines of the cycle collector, of the threads and
    (with SANDBOX_REQUEST_CENSUS=handlers) of the chain's handlers."""
    if before is None or after is None:
        return {}
    spent = {op: after[op]["cpu_s"] - before.get(op, {}).get("cpu_s", 0.0) for op in after}
    operations = {op: cpu for op, cpu in spent.items() if not op.startswith(request_census.OVERLAPPING)}
    ranked = sorted(operations.items(), key=lambda kv: -kv[1])
    out = {f"census {op} ms": cpu * 1000 / units for op, cpu in ranked[:top]}
    out["census total ms"] = sum(operations.values()) * 1000 / units
    # Requests per unit: two runs that differ here did different work (retries, smaller batches), not the same work
    # at another speed.
    counts = {op: after[op].get("count", 0) - before.get(op, {}).get("count", 0) for op in operations}
    out["census requests per unit"] = sum(counts.values()) / units
    out.update({f"census {op} n": counts[op] / units for op, _ in ranked[:top]})
    for prefix in request_census.OVERLAPPING:
        lines = sorted(((op, cpu) for op, cpu in spent.items() if op.startswith(prefix)), key=lambda kv: -kv[1])
        out.update({f"census {op} ms": cpu * 1000 / units for op, cpu in lines[:SHOWN[prefix]]})
    return out


def py_spy_command() -> str:
    """py-spy from this environment (a dev dependency in uv.lock), else from PATH; a clear error without it."""
    import shutil

    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is not installed: `uv sync` installs it (dev dependency), or `pip install py-spy`")
    return found


def py_spy(sb: Sandbox, path: str | None):
    """py-spy on LocalStack until the returned process is interrupted: raw collapsed stacks, only samples that hold
    the GIL (LocalStack's CPU), one line per thread; None when no path is given.

    Blocking mode (consistent stacks) and a stack per thread (each thread's share). Either mode has put whole
    percents on single lines of trivial code (docs/benchmarks.md, sixth round): check a one-line hotspot with a
    microbenchmark before acting on it.
    """
    if not path:
        return None
    import subprocess

    return subprocess.Popen([py_spy_command(), "record", "--gil", "--threads", "--format", "raw",
                             "--rate", os.environ.get("PYSPY_RATE", "100"), "--output", path,
                             "--pid", str(sb.embedded.instance().pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class FunctionSpies:
    """py-spy on every process LocalStack started (the functions' environments, their supervisors, the fork server),
    one raw file per pid in `folder`; processes started later (cold starts) are picked up every half second.
    Only samples that hold the GIL: a function's process runs one handler at a time, so that is its CPU (without
    `--gil`, py-spy counted the environment's sleeping threads as busy here)."""

    def __init__(self, sb: Sandbox, folder: str):
        import subprocess
        import threading

        self._subprocess, self.folder, self.sb = subprocess, Path(folder), sb
        self.folder.mkdir(parents=True, exist_ok=True)
        self.spies: dict[int, object] = {}
        self._stop = threading.Event()
        self._attach()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _attach(self) -> None:
        for p in psutil.Process(self.sb.embedded.instance().pid).children(recursive=True):
            if p.pid not in self.spies:
                self.spies[p.pid] = self._subprocess.Popen(
                    [py_spy_command(), "record", "--gil", "--format", "raw", "--rate", os.environ.get("PYSPY_RATE", "100"),
                     "--output", str(self.folder / f"{p.pid}.txt"), "--pid", str(p.pid)],
                    stdout=self._subprocess.DEVNULL, stderr=self._subprocess.DEVNULL)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self._attach()
            except psutil.Error:
                pass

    def stop(self) -> dict[str, float]:
        """Stops every py-spy; returns the functions' CPU by part (`function_profile`)."""
        import signal

        self._stop.set()
        self._thread.join()
        for spy in self.spies.values():
            if spy.poll() is None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        for spy in self.spies.values():
            try:
                spy.wait(timeout=60)
            except self._subprocess.TimeoutExpired:
                spy.kill()
        return function_profile(self.folder)


SDK_FRAMES = ("(botocore/", "(boto3/", "(urllib3/", "(s3transfer/", "(http/client.py", "(email/")


def function_profile(folder: Path) -> dict[str, float]:
    """Share (%) of the functions' sampled CPU by part: init (importing the handler's module: cold starts), the runtime
    (bootstrap.py: the invocation's HTTP server, payload, logs), the handler's AWS SDK calls (botocore, urllib3, http.client: Powertools' own calls too), the
    rest of Powertools, the handler's own code, and the supervisors and fork server."""
    parts = {"init": 0, "runtime": 0, "handler sdk": 0, "handler powertools": 0, "handler own": 0, "supervisor": 0}
    for path in Path(folder).glob("*.txt"):
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")
            at = next((i for i, f in enumerate(frames) if f.startswith("Runtime.invoke (")), None)
            if at is None:
                part = "init" if any(f.startswith("Runtime.import_handler (") for f in frames) else \
                    "runtime" if any("bootstrap.py" in f for f in frames) else "supervisor"
            elif at + 1 == len(frames) or "bootstrap.py" in frames[at + 1] or "(json/" in frames[at + 1]:
                part = "runtime"
            elif any(m in f for f in frames[at + 1:] for m in SDK_FRAMES):
                part = "handler sdk"
            elif any("aws_lambda_powertools/" in f for f in frames[at + 1:]):
                part = "handler powertools"
            else:
                part = "handler own"
            parts[part] += int(count)
    total = sum(parts.values()) or 1
    return {f"functions profile: {k} %": 100 * v / total for k, v in parts.items()}


def stop_py_spy(spy) -> None:
    if spy is not None:
        import signal

        spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        spy.wait(timeout=60)


def pss_mb(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_full_info().pss / 2**20
    except psutil.Error:
        return float("nan")
