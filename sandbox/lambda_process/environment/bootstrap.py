"""Python runtime of one Lambda execution environment, run as a plain local process.

It plays the part the Go `init` plays in LocalStack's Docker executor: it speaks LocalStack's executor-endpoint
protocol (see localstack/services/lambda_/invocation/executor_endpoint.py):

* `POST {LOCALSTACK_RUNTIME_ENDPOINT}/status/{id}/ready` once the handler is imported (body: our invoke port),
* serves `POST /invoke` on 127.0.0.1,
* per invocation `POST .../invocations/{request_id}/logs`, then `.../response` or `.../error`; or, when the
  executor asks for it (`X-Sandbox-Reply: inline`), the result in the answer to `/invoke` itself: two requests
  through LocalStack's gateway less per invocation (see INLINE_REPLY).

Both directions carry the environment's secret (SANDBOX_INVOKE_TOKEN, taken out of the environment before the
handler loads): without it no other page or process on the machine can post an invocation to us, or a result
to LocalStack in our name. network_guard keeps the handler on loopback.

Only the standard library is imported here, so a cold start costs what the handler's own imports cost.
This file must not import anything from `sandbox`: it runs in the function's environment, not LocalStack's.
"""

import hmac
import http.client
import http.server
import importlib
import io
import json
import logging
import math
import os
import queue
import resource
import sys
import threading
import time
import traceback
import urllib.parse

import network_guard

BOOTSTRAP_FILE = os.path.abspath(__file__)
PROCESS_STARTED = time.perf_counter()
# Cap what one invocation may log (CloudWatch would split it anyway); the rest is counted, not kept.
MAX_LOG_BYTES = int(os.environ.get("SANDBOX_MAX_LOG_BYTES", str(1024 * 1024)))
INVOKE_TOKEN_HEADER = "X-Sandbox-Invoke-Token"
RUNTIME_TOKEN_HEADER = "X-Sandbox-Runtime-Token"
# Lambda's request limit is 6 MB; inside the executor's JSON envelope each quote or backslash of it is escaped (2x)
MAX_INVOKE_BODY = 16 * 1024 * 1024
# The inline reply: headers at once (the invocation is accepted), then one chunked body when it ends -
# a JSON line {"kind": "response"|"error", "logs_bytes": N}, N bytes of logs, the payload.
REPLY_HEADER = "X-Sandbox-Reply"


# The environment's supervisor samples memory often while an invocation runs: "i" tells it one started, "d" that it
# is done (supervisor.py). Set by Runtime() from SANDBOX_ACTIVITY_FD, taken out of the environment like the token;
# a handler that writes there only makes the supervisor look more often.
_activity_fd = -1


def signal_activity(marker: bytes) -> None:
    if _activity_fd >= 0:
        try:
            os.write(_activity_fd, marker)
        except OSError:
            pass


def in_standard_library(path):
    """Whether `path` is part of the interpreter's standard library (its folders, its zip, lib-dynload), as
    opposed to a site-packages (the sandbox's virtualenv, the system's dist-packages) or the project."""
    real = os.path.abspath(path)
    parts = real.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    prefixes = {os.path.abspath(sys.base_prefix), os.path.abspath(sys.base_exec_prefix)}
    return any(real == p or real.startswith(p + os.sep) for p in prefixes)


def lambda_sys_path(environ):
    """sys.path as AWS's Python runtime has it: the function's code, its layers (as /opt/python), the standard
    library, then what the runtime ships (boto3 & co., SANDBOX_RUNTIME_SITE). Nothing of the sandbox's own
    virtualenv: a package the function did not bring is missing here as it is on AWS."""
    code_and_layers = [p for p in environ.get("SANDBOX_PYTHONPATH", "").split(os.pathsep) if p]
    here = os.path.dirname(BOOTSTRAP_FILE)
    stdlib = [p for p in sys.path if p and os.path.abspath(p) != here and in_standard_library(p)]
    runtime = [p for p in environ.get("SANDBOX_RUNTIME_SITE", "").split(os.pathsep) if p]
    return code_and_layers + stdlib + runtime


def parse_invocation(body: bytes):
    """The invocation the executor sent, or None if `body` is not one (a forged or broken request)."""
    try:
        inv = json.loads(body)
    except ValueError:
        return None
    if not isinstance(inv, dict) or not isinstance(inv.get("invoke-id"), str) or not inv["invoke-id"]:
        return None
    if len(inv["invoke-id"]) > 100 or not all(c.isalnum() or c in "-_" for c in inv["invoke-id"]):
        return None
    for key in ("payload", "invoked-function-arn", "trace-id", "client-context"):
        if inv.get(key) is not None and not isinstance(inv[key], str):
            return None
    inv.pop("_reply", None)  # ours, never the sender's
    return inv



class InvocationLog(io.TextIOBase):
    """A tee for stdout/stderr: keeps up to MAX_LOG_BYTES of the current invocation's output."""

    def __init__(self, sink):
        self.sink = sink
        self.parts = []
        self.size = 0
        self.dropped = 0
        self.lock = threading.Lock()

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        with self.lock:
            room = MAX_LOG_BYTES - self.size
            if room <= 0:
                self.dropped += len(text)
                return len(text)
            kept = text[:room]
            self.parts.append(kept)
            self.size += len(kept)
            self.dropped += len(text) - len(kept)
        try:
            self.sink.write(kept)
        except Exception:
            pass
        return len(text)

    def flush(self):
        try:
            self.sink.flush()
        except Exception:
            pass

    def isatty(self):
        return False

    @property
    def encoding(self):
        return "utf-8"

    def take(self):
        with self.lock:
            text = "".join(self.parts)
            if self.dropped:
                text += f"\n[sandbox] {self.dropped} characters of output were dropped (limit {MAX_LOG_BYTES} per invocation)\n"
            self.parts, self.size, self.dropped = [], 0, 0
            return text


class LambdaContext:
    """The `context` argument, with the attributes and method AWS's Python runtime provides."""

    def __init__(self, request_id, invoked_arn, deadline_ms, trace_id):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms
        self._trace_id = trace_id

    def get_remaining_time_in_millis(self):
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def __repr__(self):
        return f"LambdaContext(aws_request_id={self.aws_request_id!r}, function_name={self.function_name!r})"


class _RequestIdFilter(logging.Filter):
    request_id = None

    def filter(self, record):
        record.aws_request_id = self.request_id
        return True


# LogRecord attributes that are the logging module's own: the others (a call's `extra=`) are fields of a JSON line
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime",
                                                                                    "aws_request_id", "tenant_id"}


def _utc(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"


def _one_event(text):
    """`text` as one CloudWatch Logs event: LocalStack ships an invocation's output line by line, so the record's
    own line breaks become "\\r" (what AWS's runtime writes where it cannot frame a record) and one "\\n" ends it."""
    return text.rstrip("\n").replace("\r\n", "\r").replace("\n", "\r") + "\n"


class TextLogFormatter(logging.Formatter):
    """AWS's text line of a log record (`[LEVEL]\\ttime\\trequest id\\tmessage`), a multi-line message or an
    exception's traceback in the same event."""

    def format(self, record):
        return _one_event(super().format(record))


class JsonLogFormatter(logging.Formatter):
    """A log record as the JSON line AWS's Python runtime writes under `LoggingConfig: LogFormat: JSON`: timestamp,
    level, message, logger, requestId; errorType, errorMessage, stackTrace and location for an exception; the
    fields of `extra=` beside them. Levels are named by tens (a custom level 25 is INFO)."""

    def format(self, record):
        level = logging.getLevelName(min(50, max(0, record.levelno)) // 10 * 10)
        line = {"timestamp": _utc(record.created), "level": level, "message": record.getMessage(),
                "logger": record.name, "requestId": getattr(record, "aws_request_id", None)}
        if record.exc_info and record.exc_info[0] is not None:
            kind, exc, tb = record.exc_info
            line.update(stackTrace=traceback.format_tb(tb), errorType=kind.__name__, errorMessage=str(exc),
                        location=f"{record.pathname}:{record.funcName}:{record.lineno}")
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and key not in line:
                line[key] = value
        return json.dumps({k: v for k, v in line.items() if v is not None}, ensure_ascii=False, default=str) + "\n"


def error_payload(exc, request_id, error_type=None, skip_frames=0):
    """AWS's error shape; frames of this bootstrap are left out of stackTrace."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)[skip_frames:] if os.path.abspath(f.filename) != BOOTSTRAP_FILE
    ]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def peak_memory_mb():
    """Peak RSS of this process (VmHWM; ru_maxrss would include the parent's peak from before exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


class Runtime:
    def __init__(self, init_started=None):
        # A forked environment (zygote.py) starts its init clock at the fork, not when this module was imported.
        self.init_started = init_started if init_started is not None else PROCESS_STARTED
        self.json_logs = False  # LoggingConfig.LogFormat JSON (setup_logging)
        self.runtime_id = os.environ["LOCALSTACK_RUNTIME_ID"]
        endpoint = urllib.parse.urlsplit(os.environ["LOCALSTACK_RUNTIME_ENDPOINT"])
        self.endpoint_host = endpoint.hostname
        self.endpoint_port = endpoint.port
        self.endpoint_prefix = endpoint.path.rstrip("/")
        self.conn = None
        self.invocations = queue.Queue()
        self.handler = None
        self.init_error = None
        self.init_duration_ms = None
        self.first_invoke = True
        self.log = InvocationLog(sys.stdout)
        self.request_filter = _RequestIdFilter()
        self.token = os.environ.pop("SANDBOX_INVOKE_TOKEN", "")
        global _activity_fd
        _activity_fd = int(os.environ.pop("SANDBOX_ACTIVITY_FD", "") or -1)

    # --- talking to LocalStack -------------------------------------------------------------------------
    def post(self, path, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.endpoint_host, self.endpoint_port, timeout=30)
                self.conn.request(
                    "POST", self.endpoint_prefix + path, body=data,
                    headers={"Content-Type": "application/json", RUNTIME_TOKEN_HEADER: self.token},
                )
                resp = self.conn.getresponse()
                resp.read()
                return resp.status
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt:
                    raise

    # --- init ------------------------------------------------------------------------------------------
    def setup_paths(self):
        sys.path[:] = lambda_sys_path(os.environ)
        os.chdir(os.environ["LAMBDA_TASK_ROOT"])

    def setup_logging(self):
        sys.stdout = self.log
        sys.stderr = self.log
        root = logging.getLogger()
        handler = logging.StreamHandler(self.log)
        # LoggingConfig.LogFormat (LocalStack passes JSON on as AWS does, with ApplicationLogLevel)
        self.json_logs = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
        handler.setFormatter(JsonLogFormatter() if self.json_logs else TextLogFormatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"))
        handler.terminator = ""
        handler.addFilter(self.request_filter)
        root.addHandler(handler)
        level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
        if level:
            root.setLevel({"TRACE": "DEBUG", "FATAL": "CRITICAL"}.get(level, level))

    def log_error(self, error):
        """An invocation's error in its log as one event, as AWS's Python runtime writes it: `[ERROR] Type: message`
        and the traceback, its lines joined by "\\r" and indented with no-break spaces, or one JSON line."""
        if self.json_logs:
            print(json.dumps({"timestamp": _utc(time.time())[:-5], "log_level": "ERROR", **error}, ensure_ascii=False),
                  flush=True)
            return
        kind, message = error.get("errorType"), error.get("errorMessage")
        lines = ["[ERROR]" + (f" {kind}" if kind else "") + (":" if kind and message else "")
                 + (f" {message}" if message else "")]
        if error.get("stackTrace"):
            lines.append("Traceback (most recent call last):")
            for frame in error["stackTrace"]:
                for line in frame.splitlines():
                    stripped = line.lstrip(" ")
                    lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
        print(_one_event("\n".join(lines)), end="", flush=True)

    def import_handler(self):
        spec = os.environ.get("_HANDLER", "")
        module_name, _, func_name = spec.rpartition(".")
        if not module_name or not func_name:
            self.init_error = {
                "errorMessage": f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)",
                "errorType": "Runtime.MalformedHandlerName",
                "stackTrace": [],
            }
            return
        module_name = module_name.replace("/", ".")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            self.init_error = {
                "errorMessage": f"Unable to import module '{module_name}': {exc}",
                "errorType": "Runtime.ImportModuleError",
                "stackTrace": [],
            }
            return
        except SyntaxError as exc:
            self.init_error = {
                "errorMessage": f"Syntax error in module '{module_name}': {exc}",
                "errorType": "Runtime.UserCodeSyntaxError",
                "stackTrace": [],
            }
            return
        except Exception as exc:
            self.init_error = error_payload(exc, None)
            return
        handler = getattr(module, func_name, None)
        if handler is None:
            self.init_error = {
                "errorMessage": f"Handler '{func_name}' missing on module '{module_name}'",
                "errorType": "Runtime.HandlerNotFound",
                "stackTrace": [],
            }
            return
        self.handler = handler

    def serve(self):
        runtime = self

        class InvokeHandler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The inline reply's body follows its headers in a second write: with Nagle's algorithm it waited for
            # the executor's delayed ACK (up to 40 ms).
            disable_nagle_algorithm = True

            def answer(self, status, close=False):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                if close:  # the body was not read: the connection cannot carry another request
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()

            def do_POST(self):
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if self.path != "/invoke" or not 0 <= length <= MAX_INVOKE_BODY:
                    return self.answer(404 if self.path != "/invoke" else 413, close=True)
                given = (self.headers.get(INVOKE_TOKEN_HEADER) or "").encode()
                if not runtime.token or not hmac.compare_digest(given, runtime.token.encode()):
                    return self.answer(403, close=True)
                inv = parse_invocation(self.rfile.read(length))
                if inv is None:
                    return self.answer(400)
                if self.headers.get(REPLY_HEADER) != "inline":
                    self.answer(202)  # accepted first, as below: then the handler may run
                    runtime.invocations.put(inv)
                    return None
                done = inv["_reply"] = {"event": threading.Event()}
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()  # accepted: from now on a broken connection means the runtime died
                # Only now may the handler run: one that ended the process (os._exit) before these headers were out
                # looked to the executor like a runtime that was already dead, and the invocation failed to send.
                runtime.invocations.put(inv)
                done["event"].wait()
                kind, logs, body = done["result"]
                logs = logs.encode("utf-8", "replace")
                data = json.dumps({"kind": kind, "logs_bytes": len(logs)}).encode() + b"\n" + logs + body
                self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
                self.wfile.flush()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), InvokeHandler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="invoke-server", daemon=True).start()
        return server.server_address[1]

    def watch_parent(self):
        """Exit when LocalStack goes away, even if it was killed: no orphaned environments."""
        parent = os.getppid()

        def loop():
            while True:
                time.sleep(0.5)
                if os.getppid() != parent:
                    os._exit(0)

        threading.Thread(target=loop, name="parent-watch", daemon=True).start()

    # --- invoke ----------------------------------------------------------------------------------------
    def run(self):
        self.watch_parent()
        self.setup_paths()
        self.setup_logging()
        network_guard.install([os.environ.get("TMPDIR") or "/tmp"])
        self.import_handler()
        self.init_duration_ms = (time.perf_counter() - self.init_started) * 1000
        port = self.serve()
        init_logs = self.log.take()  # output of the handler module's import goes to the first invocation
        self.post(f"/status/{self.runtime_id}/ready", {"port": port})
        while True:
            self.invoke(self.invocations.get(), init_logs)
            init_logs = ""

    def invoke(self, inv, init_logs):
        signal_activity(b"i")
        request_id = inv["invoke-id"]
        self.request_filter.request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = inv.get("trace-id") or ""
        timeout_s = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 3)
        started = time.perf_counter()
        context = LambdaContext(request_id, inv.get("invoked-function-arn"), time.time() * 1000 + timeout_s * 1000, inv.get("trace-id"))
        version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        header = f"{init_logs}START RequestId: {request_id} Version: {version}\n"
        # Also into the process output, which the executor reports as the logs if this invocation times out or
        # crashes before posting its own.
        self.log.sink.write(header)
        result, error = None, None
        if self.init_error is not None:
            error = dict(self.init_error, requestId=request_id)
            self.log_error({k: v for k, v in error.items() if k != "stackTrace"})
        else:
            try:
                event = json.loads(inv.get("payload") or "null")
                result = self.handler(event, context)
            except Exception as exc:
                error = error_payload(exc, request_id)
                self.log_error(error)
            else:
                try:
                    body = json.dumps(result).encode()
                except (TypeError, ValueError) as exc:
                    error = {
                        "errorMessage": f"Unable to marshal response: {exc}",
                        "errorType": "Runtime.MarshalError",
                        "requestId": request_id,
                        "stackTrace": [],
                    }
        sys.stdout.flush()
        duration = (time.perf_counter() - started) * 1000
        max_mem_mb = peak_memory_mb()
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {math.ceil(duration)} ms\t"
            f"Memory Size: {os.environ.get('AWS_LAMBDA_FUNCTION_MEMORY_SIZE')} MB\tMax Memory Used: {max_mem_mb} MB"
        )
        if self.first_invoke:
            report += f"\tInit Duration: {self.init_duration_ms:.2f} ms"
            self.first_invoke = False
        footer = f"END RequestId: {request_id}\n{report}\n"
        logs = header + self.log.take() + footer
        reply = inv.get("_reply")
        if reply is not None:
            reply["result"] = ("error", logs, json.dumps(error).encode()) if error is not None else \
                ("response", logs, body)
            reply["event"].set()
        else:
            self.post(f"/invocations/{request_id}/logs", {"logs": logs})
            if error is not None:
                self.post(f"/invocations/{request_id}/error", error)
            else:
                self.post(f"/invocations/{request_id}/response", body)
        self.request_filter.request_id = None
        signal_activity(b"d")


if __name__ == "__main__":
    Runtime().run()
