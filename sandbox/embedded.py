"""The embedded backend: LocalStack as a managed background process on 127.0.0.1, all state under one directory.

Layout of the state directory (default `.sandbox/` in the working directory):
    sandbox.json      the running instance: pid, start time, port, settings
    localstack.log    LocalStack's output (`sandbox logs`)
    localstack/       LocalStack's FILESYSTEM_ROOT (data, cache)
    persisted/        the state saved by `down` of a sandbox started with `up --persist` (manifest.json says what)
    tmp/              TMPDIR of LocalStack: unzipped function code lives here, not in the shared /tmp
    lambda/envs/      one folder per Lambda execution environment (its /tmp and output)
    pids/             a record per process we started, so nothing is left behind
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from sandbox import interrupts, node_sdk
from sandbox.errors import SandboxError
from sandbox.localstack_ext import thread_dump
from sandbox.localstack_ext.warmup import share_cache_files
from sandbox.process_registry import ProcessRecord, ProcessRegistry
from sandbox.settings import SPEED_SWITCHES, Settings

# Environment of the LocalStack process. Found necessary to run it on the host (see README, "How it works").
HOST_MODE_ENV = {
    "OVERRIDE_IN_DOCKER": "0",  # this machine looks like a container to LocalStack; it is not
    "DNS_ADDRESS": "0",  # no DNS server (it would bind port 53 and forward queries upstream)
    "DISABLE_EVENTS": "1",  # no analytics; also, without it SIGTERM hangs on the analytics publisher
    "SKIP_SSL_CERT_DOWNLOAD": "1",  # no certificate download at start
    "LAMBDA_RUNTIME_EXECUTOR": "process",  # our executor: functions run as local processes
    "PROVIDER_OVERRIDE_DYNAMODB": "moto",  # our provider: no Java/DynamoDB Local download
    "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "moto",
    "SQS_ENDPOINT_STRATEGY": "path",  # queue URLs on 127.0.0.1, no *.localstack.cloud DNS names
    "EAGER_SERVICE_LOADING": "0",
    "AWS_EC2_METADATA_DISABLED": "true",  # botocore inside LocalStack must not probe 169.254.169.254
    "LS_LOG": "info",
    # Our runtime server: binds the address it is given (LocalStack's binds every interface) and puts the request
    # guard in front of the gateway (sandbox/security/engine/server.py).
    "GATEWAY_SERVER": "sandbox",
}
# Host variables LocalStack may see; everything else (AWS_* credentials and profiles first) is withheld.
HOST_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "TERM")
# Switches of our LocalStack-side code, passed on when set: the process executor's
# (sandbox/lambda_process/executor.py) and the ESM patches' (localstack_ext/patches/sqs_esm_*.py).
EXECUTOR_SWITCHES = ("SANDBOX_LAMBDA_ZYGOTE", "SANDBOX_LAMBDA_CONFINE", "SANDBOX_LAMBDA_NAMESPACES", *SPEED_SWITCHES)


@dataclass
class Instance:
    pid: int
    create_time: float
    port: int
    endpoint: str
    started_at: float
    knobs: dict
    token: str = ""  # proves a request comes from the user's tools (X-Sandbox-Token); sandbox.json is 0600
    listen: str = ""  # the address the gateway is bound to
    allowed_origins: list = field(default_factory=list)
    persist: bool = False  # started with --persist: `down` saves its state into persisted/
    start_ticks: int | None = None  # process_registry.start_ticks: the start that survives clock steps

    @property
    def record(self) -> ProcessRecord:
        return ProcessRecord(self.pid, self.create_time, "localstack", "localstack", Path(), self.start_ticks)


class EmbeddedBackend:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.state_dir = settings.state_dir
        self.instance_file = self.state_dir / "sandbox.json"
        self.log_file = self.state_dir / "localstack.log"
        self.registry = ProcessRegistry(self.state_dir / "pids")

    # --- queries ---------------------------------------------------------------------------------------
    def last_port(self) -> int | None:
        """The port this state dir's sandbox ran on last (kept after `down`): a message that a sandbox is not running
        can say where it was, when that is not the port asked for now."""
        try:
            return int((self.state_dir / "last-port").read_text().strip())
        except (OSError, ValueError):
            return None

    def instance(self) -> Instance | None:
        """The running instance recorded in the state dir, or None (stale records are dropped)."""
        try:
            data = json.loads(self.instance_file.read_text())
            inst = Instance(**data)
        except (OSError, ValueError, TypeError):
            return None
        if not inst.record.is_alive():
            return None
        return inst

    # --- up --------------------------------------------------------------------------------------------
    def up(self, timeout: float = 90.0, on_progress=None) -> tuple[Instance, float, bool]:
        """Starts LocalStack and waits until it is healthy. Returns (instance, seconds taken, started_now).

        `on_progress(message)` hears about the slow one-time steps.
        """
        running = self.instance()
        if running:
            return running, 0.0, False
        with interrupts.interruptible():  # Ctrl-C, SIGTERM, SIGHUP: everything started so far is stopped
            return self._start(timeout, on_progress)

    def _start(self, timeout: float, on_progress) -> tuple[Instance, float, bool]:
        port = self.settings.port
        from sandbox.security.policy import check_origin

        try:
            origins = [check_origin(o) for o in self.settings.allowed_origins]
        except ValueError as e:
            raise SandboxError(str(e)) from None
        check_port_free(port)
        node_sdk.ensure_installed(say=lambda msg: on_progress(msg) if on_progress else None)
        make_private_dir(self.state_dir)  # function code, logs and the token: for this user only
        (self.state_dir / "last-port").write_text(f"{port}\n")  # said by a message that it is not running
        for sub in ("localstack", "tmp", "lambda", "pids", "home"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        self.registry.stop_all()  # environments of an instance that was killed hard
        shared_cache = shared_cache_dir()
        if shared_cache.is_dir():
            share_cache_files(str(shared_cache), str(self.state_dir / "localstack" / "var" / "lib" / "localstack" / "cache"))
        token = secrets.token_urlsafe(24)
        listen = f"0.0.0.0:{port}" if self.settings.allow_remote else f"127.0.0.1:{port}"
        env = {k: os.environ[k] for k in HOST_PASSTHROUGH + EXECUTOR_SWITCHES if k in os.environ}
        # every speed switch with its value, or its default from the one table (some, like MALLOC_ARENA_MAX, are read
        # by nothing of ours, so a default must be passed to count)
        env.update({name: os.environ.get(name) or default for name, (default, _) in SPEED_SWITCHES.items()})
        env.update(HOST_MODE_ENV)
        if env["SANDBOX_IN_MEMORY_CLIENT"] == "1":
            # LocalStack's own clients (S3 notifications, event source mappings, EventBridge and Step Functions
            # targets...) call its gateway in process (localstack/aws/client.py GatewayShortCircuit) instead of over
            # HTTP through twisted: media-pipeline -9 % CPU per file, +7 % files/s, a retry storm 4x faster
            # (docs/benchmarks.md, 7th round; its memory growth is fixed by patches/in_memory_client_models.py).
            env["IN_MEMORY_CLIENT"] = "1"
        env.update(self.settings.knobs.localstack_env())
        env.update(
            {
                "GATEWAY_LISTEN": listen,
                "SANDBOX_TOKEN": token,
                "SANDBOX_ALLOWED_ORIGINS": ",".join(origins),
                "SANDBOX_ALLOW_REMOTE": "1" if self.settings.allow_remote else "",
                "LOCALSTACK_HOST": f"127.0.0.1:{port}",
                "FILESYSTEM_ROOT": str(self.state_dir / "localstack"),
                # tempfile's TMPDIR under another name: LocalStack warns about a variable named TMPDIR
                "TMP": str(self.state_dir / "tmp"),
                "HOME": str(self.state_dir / "home"),  # no ~/.localstack profile or ~/.aws of the user
                "SANDBOX_STATE_DIR": str(self.state_dir),
                "SANDBOX_RECORDER": "1" if self.settings.recorder else "0",
                "SANDBOX_PERSIST": "1" if self.settings.persist else "",
                "SANDBOX_SHARED_CACHE": str(shared_cache),
                "PYTHONUNBUFFERED": "1",
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        started = time.perf_counter()
        proc = None
        try:
            with interrupts.shielded(), open(self.log_file, "ab") as log:  # not interrupted before it is recorded
                log.write(f"\n=== sandbox up {time.strftime('%Y-%m-%d %H:%M:%S')} port {port} ===\n".encode())
                log.flush()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "localstack.runtime.main"],
                    env=env,
                    cwd=str(self.state_dir),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                rec = self.registry.add(proc.pid, "localstack", "localstack")
                inst = Instance(
                    pid=proc.pid,
                    create_time=rec.create_time,
                    start_ticks=rec.start_ticks,
                    port=port,
                    endpoint=f"http://127.0.0.1:{port}",
                    started_at=time.time(),
                    knobs=self.settings.knobs.as_dict(),
                    token=token,
                    listen=listen,
                    allowed_origins=origins,
                    persist=self.settings.persist,
                )
                tmp = self.instance_file.with_suffix(".tmp")
                tmp.unlink(missing_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(json.dumps(inst.__dict__, indent=2))
                tmp.replace(self.instance_file)
            self._wait_healthy(proc, inst.endpoint, timeout)
        except BaseException:  # not healthy in time, exited, or interrupted (also while it was recorded)
            if proc is not None:
                self._abort_start(proc)
            raise
        return inst, time.perf_counter() - started, True

    def _abort_start(self, proc: subprocess.Popen) -> None:
        """Stops a LocalStack that is still starting, at once, and every process it started: frozen first (SIGSTOP)
        so that it starts nothing more while its process tree is read - the fork server is a child in a session of
        its own, and may not be recorded yet - then killed. No graceful shutdown: nothing of a start-up is worth
        keeping, and a half-loaded `--persist` state must not be saved over the good one."""
        try:
            os.killpg(proc.pid, signal.SIGSTOP)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            tree = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            tree = []
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for child in tree:
            try:
                child.kill()  # psutil checks it is still the same process (start time), not a recycled PID
            except psutil.Error:
                pass
        proc.wait()
        self.registry.remove(proc.pid)
        self.registry.stop_all()  # what it recorded: environments, the fork server
        try:
            if json.loads(self.instance_file.read_text()).get("pid") == proc.pid:
                self.instance_file.unlink(missing_ok=True)
        except (OSError, ValueError):
            pass

    def _wait_healthy(self, proc: subprocess.Popen, endpoint: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        session = requests.Session()
        session.trust_env = False
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                raise SandboxError(
                    f"LocalStack exited during start-up (exit code {code}). Last lines of {self.log_file}:\n"
                    + tail(self.log_file, 25)
                )
            try:
                if session.get(f"{endpoint}/_sandbox/info", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise SandboxError(
            f"LocalStack did not become healthy within {timeout:.0f}s. Last lines of {self.log_file}:\n"
            + tail(self.log_file, 25)
        )

    def saved_state(self) -> dict | None:
        """The manifest of the state a `--persist` sandbox saved at its `down`, if there is one."""
        try:
            return json.loads((self.state_dir / "persisted" / "manifest.json").read_text())
        except (OSError, ValueError):
            return None

    # --- down ------------------------------------------------------------------------------------------
    def down(self) -> dict:
        """Stops LocalStack and every process it started. Returns what was stopped, by kind."""
        inst = self.instance()
        before = self.registry.alive()
        stopped = {
            "localstack": inst.pid if inst else None,
            "lambda_processes": [r.pid for r in before if r.kind in ("lambda", "lambda-runtime")],
            # an environment is its supervisor (kind "lambda", what `status` counts) and its runtime
            "lambda_environments": sum(1 for r in before if r.kind == "lambda"),
            "fork_servers": [r.pid for r in before if r.kind == "lambda-zygote"],
            "leftovers": [],
            "forced": False,  # LocalStack did not stop on SIGTERM within the grace period and was killed
        }
        if inst:
            stopped["forced"] = not self._stop_process(inst)
        known = {stopped["localstack"], *stopped["lambda_processes"], *stopped["fork_servers"]}
        stopped["leftovers"] = [r.pid for r in self.registry.stop_all() if r.pid not in known]
        self.instance_file.unlink(missing_ok=True)
        return stopped

    def _stop_process(self, inst: Instance, grace: float = 20.0) -> bool:
        """SIGTERM, then SIGKILL to its group after `grace` seconds. True if it stopped by itself."""
        rec = inst.record
        try:
            os.kill(inst.pid, signal.SIGTERM)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and rec.is_alive():
            time.sleep(0.05)
        clean = not rec.is_alive()
        if not clean:
            self._dump_threads(inst, grace)
            os.killpg(inst.pid, signal.SIGKILL)
            while rec.is_alive():
                time.sleep(0.05)
        self.registry.remove(inst.pid)
        return clean

    def _dump_threads(self, inst: Instance, grace: float) -> None:
        """Before the kill: LocalStack's threads into its log, under a banner (localstack_ext/thread_dump.py): the
        named dump first, then faulthandler's (which comes even when no Python runs, and may crash the process)."""
        try:
            with open(self.log_file, "a") as log:
                log.write("\n" + thread_dump.BANNER.format(grace=grace) + "\n")
            size = self.log_file.stat().st_size
            os.kill(inst.pid, thread_dump.THREAD_DUMP_SIGNAL)
        except OSError:
            return
        # milliseconds, unless the machine or its disk is very busy, or no Python code runs in LocalStack
        size = self._wait_for_log(size, thread_dump.NAMED_MARK.encode(), 3.0)
        try:
            os.kill(inst.pid, thread_dump.FAULT_DUMP_SIGNAL)
        except OSError:
            return
        self._wait_for_log(size, thread_dump.FAULT_MARK.encode(), 1.0)

    def _wait_for_log(self, size: int, mark: bytes, seconds: float) -> int:
        """Until `mark` is in the log after `size` and the log stopped growing, or `seconds`; the log's size then."""
        deadline, size_seen = time.monotonic() + seconds, -1
        while time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                with open(self.log_file, "rb") as log:
                    log.seek(size)
                    written = log.read()
            except OSError:
                break
            if mark in written and len(written) == size_seen:  # there, and whole
                break
            size_seen = len(written)
        try:
            return self.log_file.stat().st_size
        except OSError:
            return size


def make_private_dir(path: Path) -> None:
    """Creates `path` readable by this user only (others on a shared machine must not read the token or code)."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass


def shared_cache_dir() -> Path:
    """Per-user cache of what every instance of this LocalStack version can reuse (the service catalog)."""
    from localstack import version

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "serverless-sandbox" / f"localstack-{version.__version__}"


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise SandboxError(
                f"Port {port} on 127.0.0.1 is already in use. Stop whatever listens there (`ss -ltnp 'sport = :{port}'` "
                f"shows it), or start the sandbox on another port: `sandbox up --port {free_port()}`."
            ) from None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a file, read backwards in blocks (a log of gigabytes is not read whole; one that
    does not have so many lines is shown from its start)."""
    block = 64 * 1024
    try:
        with open(path, "rb") as f:
            pos = f.seek(0, os.SEEK_END)
            data = b""
            while pos > 0 and data.count(b"\n") <= lines:
                step = min(block, pos)
                pos -= step
                f.seek(pos)
                data = f.read(step) + data
            return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:]) if lines > 0 else ""
    except OSError:
        return "(no log)"
