"""LocalStack-side handle on the fork server (zygote.py): spawn environments, learn when they exit.

One zygote per LocalStack process, started at the first Python cold start and restarted if it dies. When it is
disabled (`SANDBOX_LAMBDA_ZYGOTE=0`) or cannot start, environments are started as fresh interpreters instead.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

LOG = logging.getLogger(__name__)
ZYGOTE = Path(__file__).resolve().parent / "environment" / "zygote.py"
# The fork server's environment is what every function's /proc/self/environ starts from: nothing of LocalStack's
# (its token, AWS_* variables), only what an interpreter needs.
ZYGOTE_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT", "TMP", "TMPDIR")


def enabled() -> bool:
    return os.environ.get("SANDBOX_LAMBDA_ZYGOTE", "1") not in ("0", "false", "no")


def sdk_speedups() -> bool:
    """Whether the fork server does botocore's unchanging per-call work once (environment/sdk_speedups.py)."""
    return os.environ.get("SANDBOX_LAMBDA_SDK_SPEEDUPS", "1") not in ("0", "false", "no")


def lean_http() -> bool:
    """Whether functions' boto3 calls to the sandbox skip urllib3 and http.client (environment/lean_http.py)."""
    return os.environ.get("SANDBOX_LAMBDA_LEAN_HTTP", "1") not in ("0", "false", "no")


def zygote_flags() -> tuple[str, ...]:
    """The fork server's switches, as arguments: what its environment holds, every function's /proc/self/environ
    shows."""
    return (*(() if sdk_speedups() else ("--no-sdk-speedups",)), *(() if lean_http() else ("--no-lean-http",)))


class ZygoteError(Exception):
    pass


class ChildProcess:
    """A forked environment process: the zygote, its parent, reports its exit code to us."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._exited = threading.Event()

    def _set_exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(str(self.pid), timeout)
        return self.returncode


class Zygote:
    def __init__(self, log_path: Path, on_start: Callable[[int], None], executable: str = sys.executable,
                 env: dict[str, str] | None = None):
        """`executable`: the Python that runs it (and its environments); `env`: added to its environment."""
        self.log_path = log_path
        self.on_start = on_start
        self.executable = executable
        self.env = dict(env or {})
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.pending: dict[int, dict] = {}
        self.children: dict[int, ChildProcess] = {}
        self.next_id = 0

    def _ensure_started(self) -> subprocess.Popen:
        if self.process and self.process.poll() is None:
            return self.process
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen(
                [self.executable, "-s", "-u", str(ZYGOTE), *zygote_flags()],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**{k: os.environ[k] for k in ZYGOTE_ENV if k in os.environ}, **self.env},
                start_new_session=True,
            )
        first = proc.stdout.readline()
        if not first or json.loads(first).get("op") != "ready":
            proc.kill()
            raise ZygoteError(f"fork server did not start; see {self.log_path}")
        self.process = proc
        self.on_start(proc.pid)
        threading.Thread(target=self._read, args=(proc,), name="lambda-zygote-reader", daemon=True).start()
        return proc

    def spawn(self, spec: dict, log: str, timeout: float = 10) -> ChildProcess:
        with self.lock:
            proc = self._ensure_started()
            self.next_id += 1
            request_id = self.next_id
            slot = {"event": threading.Event(), "reply": None}
            self.pending[request_id] = slot
            msg = {"op": "spawn", "id": request_id, "spec": spec, "log": log}
            proc.stdin.write((json.dumps(msg) + "\n").encode())
            proc.stdin.flush()
        if not slot["event"].wait(timeout):
            raise ZygoteError("fork server did not answer a spawn request")
        reply = slot["reply"]
        if reply.get("op") != "spawned":
            raise ZygoteError(reply.get("message", "fork server failed to spawn"))
        return self.children[reply["pid"]]

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            op = msg.get("op")
            if op in ("spawned", "error"):
                if op == "spawned":
                    self.children[msg["pid"]] = ChildProcess(msg["pid"])
                slot = self.pending.pop(msg["id"], None)
                if slot:
                    slot["reply"] = msg
                    slot["event"].set()
            elif op == "exited":
                child = self.children.pop(msg["pid"], None)
                if child:
                    child._set_exit(msg["code"])
        # The zygote died: its children exit by themselves (they watch their parent); tell their watchers.
        for pid, child in list(self.children.items()):
            child._set_exit(-9)
            self.children.pop(pid, None)
        for slot in list(self.pending.values()):
            slot["reply"] = {"op": "error", "message": "fork server exited"}
            slot["event"].set()
        self.pending.clear()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
