"""LocalStack runtime executor whose execution environments are local processes instead of Docker containers.

LocalStack drives it exactly like its Docker executor (start → ready → invoke → stop); each environment is a
process running `bootstrap.py` (Python) or `bootstrap.mjs` (Node.js) that speaks the executor-endpoint protocol.
On top of what the Go init does in a container, this executor enforces the function timeout and notices a
crashed runtime, so both fail the invocation the way AWS does and the next invocation gets a fresh process.
"""

from __future__ import annotations

import hmac
import http.client
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path

from localstack import config
from localstack.http import Response
from localstack.services.lambda_.invocation.executor_endpoint import (
    ExecutorEndpoint,
    InvokeSendError,
    ShutdownDuringStartup,
    StatusErrorException,
)
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor
from werkzeug import Request

from sandbox.lambda_process import hooks, runtimes, zygote_client
from sandbox.lambda_process.invoke_connection import InvokeConnection
from sandbox.lambda_process.environment import layout, proctree
from sandbox.process_registry import ProcessRegistry, terminate_group

LOG = logging.getLogger(__name__)

# What an environment may see of the host: nothing AWS-related, only enough to run an interpreter.
HOST_ENV_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")
# Output of one environment's process kept on disk (startup errors, crashes); later output is dropped.
MAX_ENV_LOG_BYTES = 4 * 1024 * 1024
# The environment's secret, sent with every invocation and every runtime callback (bootstrap.py, bootstrap.mjs).
INVOKE_TOKEN_HEADER = "X-Sandbox-Invoke-Token"
RUNTIME_TOKEN_HEADER = "X-Sandbox-Runtime-Token"
# Lambda's limit on a synchronous response (6 MB + 100 bytes of envelope), as localstack's config has it.
MAX_RESPONSE_BYTES = int(config.LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES or 6 * 1024 * 1024 + 100)
# The result in the answer to /invoke (bootstrap.py's REPLY_HEADER) instead of two callbacks through the gateway
# (`/logs`, then `/response` or `/error`): each callback costs LocalStack a full gateway request. A runtime that does
# not read the header answers 202 and calls back as before.
REPLY_HEADER = "X-Sandbox-Reply"
INLINE_REPLY = (os.environ.get("SANDBOX_LAMBDA_INLINE_REPLY") or "1") not in ("0", "false", "no")
# A runtime that replies `"exit": true` (an error nobody caught: it kills itself once the reply is out, as AWS's
# does) is waited for, holding the environment, so the next invocation finds it gone and starts a fresh one. Without
# the wait, an invocation sent at once could reach the dying runtime: a send it refuses is retried on a fresh one
# (_invoke), but one it accepted just before dying would fail with Runtime.ExitError.
EXIT_AFTER_CRASH_S = 2.0
# How long a supervisor gets to stop its environment's processes before they are all killed outright.
STOP_GRACE_S = 2.0


def state_dir() -> Path:
    return Path(os.environ.get("SANDBOX_STATE_DIR") or Path(config.dirs.tmp) / "sandbox").resolve()


def process_registry() -> ProcessRegistry:
    return ProcessRegistry(state_dir() / "pids")


_zygotes: dict[str, zygote_client.Zygote] = {}
_zygote_lock = threading.Lock()


# How Lambda (its Go runtime API) names the signal that ended a runtime: "Runtime exited with error: signal: killed".
_SIGNAL_NAMES = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGSEGV: "segmentation fault",
                 signal.SIGABRT: "aborted", signal.SIGBUS: "bus error", signal.SIGINT: "interrupt",
                 signal.SIGILL: "illegal instruction", signal.SIGFPE: "floating point exception"}


def signal_name(number: int) -> str:
    try:
        return _SIGNAL_NAMES.get(signal.Signals(number)) or signal.Signals(number).name.lower()
    except ValueError:
        return f"signal {number}"


def confinement_enabled() -> bool:
    """SANDBOX_LAMBDA_CONFINE=0 turns off namespaces and Landlock (e.g. to tell whether they break a function);
    SANDBOX_LAMBDA_NAMESPACES=0 only the namespaces (how the sandbox runs where user namespaces are disabled)."""
    return os.environ.get("SANDBOX_LAMBDA_CONFINE", "1") not in ("0", "false", "no")


def zygote(executable: str = sys.executable) -> zygote_client.Zygote:
    """The fork server of this LocalStack process for one Python interpreter (one for all its environments). It
    preloads what AWS's runtime ships and the bundled Powertools layer (runtimes.zygote_path)."""
    with _zygote_lock:
        if executable not in _zygotes:
            name = "zygote.log" if executable == sys.executable else f"zygote-{Path(executable).name}.log"
            _zygotes[executable] = zygote_client.Zygote(
                state_dir() / "lambda" / name,
                on_start=lambda pid: process_registry().add(pid, "lambda-zygote", f"fork server ({executable})"),
                executable=executable,
                env={"SANDBOX_ZYGOTE_PATH": runtimes.zygote_path()},
            )
        return _zygotes[executable]


class ProcessEndpoint(ExecutorEndpoint):
    """The executor endpoint, told the environment's port in the ready call (no port is reserved up front).

    Every callback must carry the environment's secret (RUNTIME_TOKEN_HEADER): the callbacks are routes of the
    public gateway, and without it any local page or process could post a forged result for an invocation."""

    def __init__(self, executor_id: str, token: str):
        super().__init__(executor_id, container_address="127.0.0.1", container_port=None)
        self.token = token
        self.current_request_id: str | None = None

    def _refused(self, request: Request, req_id: str | None = None) -> Response | None:
        given = request.headers.get(RUNTIME_TOKEN_HEADER) or ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            LOG.warning("Refused a Lambda runtime callback for environment %s without its secret", self.executor_id)
            return Response("this environment's secret is missing or wrong", status=HTTPStatus.FORBIDDEN)
        if req_id is not None and (req_id != self.current_request_id or self.invocation_future is None
                                   or self.invocation_future.done()):
            return Response(f"no invocation {req_id} is waiting for a result", status=HTTPStatus.CONFLICT)
        return None

    def finish(self, req_id: str, data: bytes, is_error: bool) -> None:
        """Settles the invocation in flight, from a callback or from the runtime's inline reply."""
        if not is_error and len(data) > MAX_RESPONSE_BYTES:
            # As Lambda: the invocation fails, the caller gets this error (localstack's Go init does the same
            # with LOCALSTACK_MAX_PAYLOAD_SIZE).
            data = json.dumps({"errorMessage": "Response payload size exceeded maximum allowed payload size "
                                               f"({MAX_RESPONSE_BYTES} bytes).",
                               "errorType": "Function.ResponseSizeTooLarge"}).encode()
            is_error = True
        future = self.invocation_future
        if future is not None and not future.done():
            future.set_result(InvocationResult(req_id, data, is_error=is_error, logs=self.logs))

    def invocation_response(self, request: Request, req_id: str) -> Response:
        if refused := self._refused(request, req_id):
            return refused
        self.finish(req_id, request.data, is_error=False)
        return Response(status=HTTPStatus.ACCEPTED)

    def invocation_error(self, request: Request, req_id: str) -> Response:
        if refused := self._refused(request, req_id):
            return refused
        self.finish(req_id, request.data, is_error=True)
        return Response(status=HTTPStatus.ACCEPTED)

    def invocation_logs(self, request: Request, invoke_id: str) -> Response:
        return self._refused(request) or super().invocation_logs(request, invoke_id)

    def status_error(self, request: Request, executor_id: str) -> Response:
        return self._refused(request) or super().status_error(request, executor_id)

    def status_ready(self, request: Request, executor_id: str) -> Response:
        if refused := self._refused(request):
            return refused
        if self.startup_future is None or self.startup_future.done():
            return Response("this environment is already started", status=HTTPStatus.CONFLICT)
        try:
            self.container_port = int(json.loads(request.data or b"{}")["port"])
        except (ValueError, KeyError, TypeError):
            self.startup_future.set_exception(
                StatusErrorException("Environment sent no invoke port", payload=request.data)
            )
            return Response(status=HTTPStatus.BAD_REQUEST)
        return super().status_ready(request, executor_id)


_executors: weakref.WeakSet = weakref.WeakSet()  # every environment of this LocalStack (stop_all)
_executors_lock = threading.Lock()  # a WeakSet cannot be listed while another thread adds to it


def stop_all(timeout: float = 8.0) -> int:
    """Stops every environment not stopped yet, at once; how many. Run when LocalStack stops, after its Lambda
    service did (hooks.stop_lambda_environments): one that escaped it - started or respawned while the service
    stopped - would keep its invocation, and the gateway thread waiting for it, alive; LocalStack could not exit."""
    with _executors_lock:
        left = [executor for executor in list(_executors) if not executor.stopped]
    threads = [threading.Thread(target=executor.stop, name=f"lambda-stop-{executor.id[:8]}", daemon=True)
               for executor in left]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return len(left)


class ProcessRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.token = secrets.token_hex(16)
        self.endpoint = ProcessEndpoint(self.id, self.token)
        self.process: subprocess.Popen | None = None
        self.env_vars: dict[str, str] = {}
        self.env_dir = state_dir() / "lambda" / "envs" / self.id
        self.log_path = self.env_dir / layout.PROCESS_LOG
        self.connection: InvokeConnection | None = None  # to the runtime's invoke server, once it is ready
        self.lock = threading.Lock()
        self.stopped = False
        self.invocations_in_process = 0
        with _executors_lock:
            _executors.add(self)

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self, env_vars: dict[str, str]) -> None:
        self.env_vars = dict(env_vars)
        self._spawn()

    def _spawn(self) -> None:
        launcher = runtimes.launcher_for(self.function_version.config.runtime)
        task_root = self.function_version.config.code.get_unzipped_code_location()
        layer_roots = [layer.code.get_unzipped_code_location() for layer in self.function_version.config.layers]
        tmp = self.env_dir / layout.TMP
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)  # a fresh environment gets a fresh /tmp
        tmp.mkdir(parents=True, exist_ok=True)
        for marker in (layout.MEMORY_MARKER, layout.CONFINEMENT_FILE):
            (self.env_dir / marker).unlink(missing_ok=True)
        if launcher.runtime.startswith("nodejs"):
            runtimes.isolate_node_package_scope(state_dir())

        env = {k: os.environ[k] for k in HOST_ENV_PASSTHROUGH if k in os.environ}
        env.update({k: str(v) for k, v in self.env_vars.items()})
        env.update(
            {
                "LAMBDA_TASK_ROOT": str(task_root),
                "LAMBDA_RUNTIME_DIR": str(runtimes.ENVIRONMENT),
                "HOME": str(tmp),
                "TMPDIR": str(tmp),
                # No profile or credentials file of the host may be read by the SDKs in the function.
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                # No `sync-` (StartSyncExecution) or other host prefix before the sandbox's 127.0.0.1 endpoint,
                # which resolves nowhere (botocore: disable_host_prefix_injection)
                "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
                # Lets the recorder attribute the function's SDK calls to it (user agent `app/<name>`).
                "AWS_SDK_UA_APP_ID": self.function_version.id.function_name,
                # The environment's secret: the runtime takes it out of its environment before the handler loads.
                "SANDBOX_INVOKE_TOKEN": self.token,
            }
        )
        env.update(launcher.environment(Path(task_root), [Path(p) for p in layer_roots]))
        spec = {
            "env": env,
            "cwd": str(task_root),
            "argv": None if launcher.runtime.startswith("python") else launcher.command,
            "env_dir": str(self.env_dir),
            "tmp": str(tmp),
            "memory_mb": int(self.function_version.config.memory_size or 0),
            "read_paths": [str(task_root), *map(str, layer_roots), *launcher.read_paths],
            "registry_dir": str(process_registry().directory),
            "label": f"{self.function_version.id.function_name}/{self.id}",
            "confine": confinement_enabled(),
            "namespaces": confinement_enabled() and os.environ.get("SANDBOX_LAMBDA_NAMESPACES", "1") not in ("0", "false", "no"),
        }

        self.endpoint.start()
        if self.stopped:  # stopped before its wait for ready existed: that wait would never be cancelled
            self._abandon_start()
        self.env_dir.mkdir(parents=True, exist_ok=True)
        self.process = None
        self.invocations_in_process = 0
        if zygote_client.enabled():
            try:
                self.process = zygote(launcher.supervisor_python).spawn(spec, log=str(self.log_path))
            except zygote_client.ZygoteError as e:
                LOG.warning("Lambda fork server unavailable (%s): starting a fresh interpreter instead", e)
        if self.process is None:
            self.process = self._start_supervisor(spec, launcher.supervisor_python)
        process_registry().add(self.process.pid, "lambda", spec["label"])
        if self.stopped:  # stopped while it was spawned: stop() found no process to stop
            self._kill()
            self._abandon_start()
        threading.Thread(
            target=self._watch, args=(self.process, self.endpoint), name=f"lambda-env-{self.id[:8]}", daemon=True
        ).start()
        self.endpoint.wait_for_startup()

    def _start_supervisor(self, spec: dict, executable: str) -> subprocess.Popen:
        """The supervisor as a fresh interpreter (no fork server): the spec goes in on stdin, not argv (visible
        to every process in /proc/<pid>/cmdline), and it watches us with getppid() (we are multi-threaded)."""
        with open(self.log_path, "ab") as log_file:
            proc = subprocess.Popen(
                [executable, "-s", "-u", str(runtimes.ENVIRONMENT / "supervisor.py")],
                env={k: os.environ[k] for k in zygote_client.ZYGOTE_ENV if k in os.environ},
                cwd=spec["cwd"],
                stdin=subprocess.PIPE,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() takes its children too
                close_fds=True,
            )
        proc.stdin.write(json.dumps(spec).encode())
        proc.stdin.close()
        return proc

    def _watch(self, process: subprocess.Popen, endpoint: ProcessEndpoint) -> None:
        """Turns an exiting runtime into the error AWS reports, for the startup or the invocation in flight.

        `endpoint` is the one of this process: once it has exited, the next invoke may respawn (a new endpoint, a
        new startup and invocation) before this thread wakes; reading self.endpoint here failed that new start with
        this process's exit ("Runtime exited during init") - the next invoke after a crash failed, now and then."""
        code = process.wait()
        process_registry().remove(process.pid)
        reason = f"signal: {signal_name(-code)}" if code < 0 else f"exit status {code}"
        memory = self._memory_exceeded()
        error_type = "Runtime.OutOfMemory" if memory else "Runtime.ExitError"
        startup = endpoint.startup_future
        if startup is not None and not startup.done():
            payload = json.dumps(
                {
                    "errorType": error_type,
                    "errorMessage": f"Runtime exited during init with error: {reason}. {self._log_tail()}",
                }
            ).encode()
            startup.set_exception(StatusErrorException("Environment startup failed", payload=payload))
        pending = endpoint.invocation_future
        if pending is not None and not pending.done() and not self.stopped:
            pending.set_result(self._synthetic_error(pending, error_type, f"Runtime exited with error: {reason}",
                                                     max_memory_mb=memory.get("limit_mb", 0) if memory else 0))

    def _peak_memory_mb(self) -> int:
        """The environment's processes' largest peak resident size, in MB rounded up (the REPORT of an invocation
        its runtime could not finish: a timed-out one said "Max Memory Used: 0 MB")."""
        process = self.process
        if process is None:
            return 0
        peak = max((proctree.peak_rss_bytes(pid) for pid in proctree.descendants(process.pid)), default=0)
        return -(-peak // (1024 * 1024))

    def _memory_exceeded(self) -> dict | None:
        """What the supervisor wrote when it killed the environment for using more than its memory size."""
        try:
            return json.loads((self.env_dir / layout.MEMORY_MARKER).read_text())
        except (OSError, ValueError):
            return None

    def confinement(self) -> dict | None:
        """What the supervisor could apply to this environment (namespaces, Landlock, ...), for status and tests."""
        try:
            return json.loads((self.env_dir / layout.CONFINEMENT_FILE).read_text())
        except (OSError, ValueError):
            return None

    def _abandon_start(self) -> None:
        """A start that stop() overtook: what the start made after it (the endpoint's route, the directory) goes."""
        try:
            self.endpoint.shutdown()
        except Exception as e:  # noqa: BLE001 - stop() may have shut it down already
            LOG.debug("Endpoint of environment %s already shut down: %s", self.id, e)
        if self.process is not None:  # stop() may have killed it before it was recorded
            process_registry().remove(self.process.pid)
        shutil.rmtree(self.env_dir, ignore_errors=True)
        raise ShutdownDuringStartup("Execution environment stopped during its start")

    def stop(self) -> None:
        self.stopped = True
        self._kill()
        # LocalStack keeps a stopped environment's executor around: its connection stayed open (CLOSE-WAIT), one
        # descriptor per stopped environment. An invocation still running holds the lock and closes it on its way out
        # (invoke's finally), so it is closed here only when none is.
        if self.lock.acquire(blocking=False):
            try:
                self._close_connection()
            finally:
                self.lock.release()
        try:
            self.endpoint.shutdown()
        except Exception as e:  # noqa: BLE001 - stopping must go on
            LOG.debug("Error shutting down endpoint of environment %s: %s", self.id, e)
        shutil.rmtree(self.env_dir, ignore_errors=True)

    def _kill(self) -> None:
        """The supervisor stops every process of the environment (SIGTERM); if it cannot, its group is killed."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        terminate_group(proc.pid, signal.SIGTERM, group=False)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            terminate_group(proc.pid, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                LOG.warning("Lambda environment process %s did not exit after SIGKILL", proc.pid)
        process_registry().remove(proc.pid)

    # --- invoke ----------------------------------------------------------------------------------------
    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        with self.lock:
            try:
                if self.process is None or self.process.poll() is not None:
                    # The previous invocation crashed or timed out: like AWS, start a fresh environment (cold).
                    self._respawn()
                info = self._invoke_info(payload)
                self.invocations_in_process += 1
                started = time.perf_counter()
                intercept = hooks.run_before(info)
                result = intercept.run(self, payload) if intercept else self._invoke(payload)
                hooks.run_after(hooks.InvokeOutcome(info, result.is_error, result.payload,
                                                    (time.perf_counter() - started) * 1000, intercept))
                return result
            finally:
                if self.stopped:  # stop() found the lock held and left the connection to the one holding it
                    self._close_connection()

    def _invoke_info(self, payload: dict[str, str]) -> hooks.InvokeInfo:
        fv = self.function_version
        return hooks.InvokeInfo(
            function_name=fv.id.function_name, function_arn=fv.qualified_arn,
            invoked_arn=payload.get("invoked-function-arn") or fv.qualified_arn, account=fv.id.account,
            region=fv.id.region, memory_mb=int(fv.config.memory_size), timeout_s=float(fv.config.timeout),
            runtime=str(fv.config.runtime), request_id=payload.get("invoke-id") or "",
            payload=payload.get("payload") or "", trace_header=payload.get("trace-id") or "",
            environment_id=self.id, cold=self.invocations_in_process == 0,
        )

    # --- hooks.Environment: what an intercept (a Lambda fault) may do with this environment -------------------
    @property
    def memory_mb(self) -> int:
        return int(self.function_version.config.memory_size)

    @property
    def timeout_s(self) -> float:
        return float(self.function_version.config.timeout)

    @property
    def qualifier(self) -> str:
        return self.function_version.id.qualifier

    def run_invocation(self, payload: dict[str, str]) -> InvocationResult:
        return self._invoke(payload)  # `invoke` is LocalStack's entry point, which holds the lock already

    def begin(self, payload: dict[str, str]) -> None:
        self._start_bookkeeping(payload)

    def kill(self) -> None:
        self._kill()

    def failure(self, error_type: str, message: str, status: str = "error") -> InvocationResult:
        return self._synthetic_error(None, error_type, message, status=status)

    def _start_bookkeeping(self, payload: dict[str, str]) -> None:
        self._current_request_id = payload.get("invoke-id")
        self._invoke_started = time.perf_counter()
        self._log_offset = self._rotate_log()

    def _exited_within(self, seconds: float) -> bool:
        try:
            self.process.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _respawn(self) -> None:
        self._close_connection()  # to the runtime that exited
        self.endpoint.shutdown()
        self.token = secrets.token_hex(16)
        self.endpoint = ProcessEndpoint(self.id, self.token)
        self._spawn()

    def _invoke(self, payload: dict[str, str], retry_on_dead: bool = True) -> InvocationResult:
        future: Future[InvocationResult] = Future()
        self.endpoint.invocation_future = future
        self.endpoint.logs = None
        self._start_bookkeeping(payload)
        self.endpoint.current_request_id = payload.get("invoke-id")
        timeout = float(self.function_version.config.timeout)
        headers = {INVOKE_TOKEN_HEADER: self.token, "Content-Type": "application/json"}
        if INLINE_REPLY:
            headers[REPLY_HEADER] = "inline"
        port = self.endpoint.container_port
        if self.connection is None or self.connection.port != port:
            self._close_connection()
            self.connection = InvokeConnection(port)
        try:
            # The headers come back as soon as the runtime accepts the invocation; an inline body when it ends.
            # ensure_ascii=False: non-ASCII text travels as UTF-8, not as 6-byte escapes that could push a payload
            # under Lambda's 6 MB over the runtime's cap
            body = json.dumps(payload, ensure_ascii=False).encode()
            response = self.connection.post("/invoke", body, headers, connect_timeout=10,
                                            read_timeout=timeout if INLINE_REPLY else 10)
        except (OSError, http.client.HTTPException) as e:
            if not retry_on_dead or not self._exited_within(2.0):
                raise InvokeSendError(f"Could not send the invocation to environment {self.id}: {e}") from e
            # The runtime was on its way out (it reports an uncaught error, then exits): a fresh one takes it.
            self._respawn()
            return self._invoke(payload, retry_on_dead=False)
        if response.status >= 400:
            self._close_connection()  # its body is not read: the connection carries no other request
            raise InvokeSendError(f"Environment {self.id} refused the invocation: HTTP {response.status}")
        if response.status == HTTPStatus.OK:
            return self._inline_result(response, future, timeout)
        try:
            response.read()  # 202, no body: the connection is free for the next invocation
        except (OSError, http.client.HTTPException):
            self._close_connection()
        return self._await(future, timeout)

    def _close_connection(self) -> None:
        if self.connection is not None:
            self.connection.close()

    def _inline_result(self, response: http.client.HTTPResponse, future: Future, timeout: float) -> InvocationResult:
        """The result the runtime wrote into its answer; a connection that breaks first is a crash (the process
        watcher settles the future) or the function's timeout."""
        try:
            data = response.read()
            meta, _, rest = data.partition(b"\n")
            meta = json.loads(meta)
            logs_bytes = int(meta["logs_bytes"])
        except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError):
            self._close_connection()
            elapsed = time.perf_counter() - self._invoke_started
            return self._await(future, max(0.0, timeout - elapsed))
        self.endpoint.logs = rest[:logs_bytes].decode("utf-8", "replace")
        self.endpoint.finish(self._current_request_id or "", rest[logs_bytes:], is_error=meta.get("kind") == "error")
        if meta.get("exit") and not self._exited_within(EXIT_AFTER_CRASH_S):
            self._kill()
        return future.result()

    def _await(self, future: Future, wait: float) -> InvocationResult:
        """The result a callback (or the process watcher) settles; after `wait` seconds, AWS's timeout error."""
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            if future.done():
                return future.result()
            timeout = float(self.function_version.config.timeout)
            result = self._synthetic_error(
                future, "Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds", status="timeout",
                max_memory_mb=self._peak_memory_mb(),
            )
            future.set_result(result)
            self._kill()  # AWS stops a timed-out environment; the next invoke starts a fresh one
            return result

    def _synthetic_error(self, future: Future | None, error_type: str, message: str, status: str = "error",
                         max_memory_mb: int = 0) -> InvocationResult:
        """The result, and the START … REPORT logs, of an invocation its runtime could not finish (as AWS logs it)."""
        request_id = getattr(self, "_current_request_id", None) or ""
        duration_ms = (time.perf_counter() - getattr(self, "_invoke_started", time.perf_counter())) * 1000
        logs = self._log_since(getattr(self, "_log_offset", 0))
        start = f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}\n"
        if start not in logs:  # a runtime that does not echo its START line to its output (bootstrap.py does)
            logs = start + logs
        if logs and not logs.endswith("\n"):
            logs += "\n"
        if status == "timeout":
            stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            logs += f"{stamp} {request_id} {message}\n"
        else:
            logs += f"RequestId: {request_id} Error: {message}\n{error_type}\n"
        logs += (
            f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {int(duration_ms) + 1} ms\t"
            f"Memory Size: {self.function_version.config.memory_size} MB\tMax Memory Used: {max_memory_mb} MB\t"
            f"Status: {status}" + (f"\tError Type: {error_type}" if error_type == "Runtime.OutOfMemory" else "") + "\n"
        )
        body = {"errorType": error_type, "errorMessage": f"RequestId: {request_id} Error: {message}"}
        return InvocationResult(request_id, json.dumps(body).encode(), is_error=True, logs=logs)

    def _rotate_log(self) -> int:
        """Keeps the environment's output file bounded; returns where this invocation's output starts."""
        try:
            size = self.log_path.stat().st_size
        except OSError:
            return 0
        if size > MAX_ENV_LOG_BYTES:
            os.truncate(self.log_path, 0)  # the child appends (O_APPEND), so it writes at the new end
            return 0
        return size

    def _log_since(self, offset: int, limit: int = 256 * 1024) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read(limit).decode("utf-8", "replace")
        except OSError:
            return ""

    def _log_tail(self, limit: int = 2000) -> str:
        text = self._log_since(max((self.log_path.stat().st_size if self.log_path.exists() else 0) - limit, 0))
        return f"Output: {text.strip()}" if text.strip() else ""

    # --- addresses -------------------------------------------------------------------------------------
    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        return f"http://127.0.0.1:{config.GATEWAY_LISTEN[0].port}{self.endpoint.get_endpoint_prefix()}"

    def get_logs(self) -> str:
        return self._log_since(0)

    # --- versions --------------------------------------------------------------------------------------
    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if not function_version.config.runtime:
            raise LambdaRuntimeException(
                "Container-image functions need Docker: use the docker-compose backend for them."
            )
        runtimes.launcher_for(function_version.config.runtime)  # fails early, e.g. Node.js without `node`
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()
        for layer in function_version.config.layers:
            if layer.code:
                layer.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        return True
