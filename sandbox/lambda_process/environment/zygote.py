"""Fork server for Python execution environments: pays for `import boto3` once, not at every cold start.

A cold start on a fresh interpreter spends ~250 ms importing boto3 and ~100 ms loading the JSON models of its
first client. This process imports boto3, botocore and aws-lambda-powertools once, preloads the common service
models, and then forks one child per execution environment; each child runs `bootstrap.Runtime` exactly as a
freshly started interpreter would. The handler's own code is still imported in the child (that is its init).
There is one fork server per interpreter (python3.12 functions fork from a Python 3.12 one). It imports only from
the standard library and SANDBOX_ZYGOTE_PATH (the Lambda runtime site and the bundled Powertools layer), never
from the sandbox's virtualenv; a child forgets whatever its function could not import itself
(supervisor.forget_unreachable_modules).

Each child becomes an environment's supervisor (supervisor.py), which confines and runs the runtime.

Protocol with the executor (JSON lines): on stdin `{"op": "spawn", "id", "spec", "log"}` (spec: see
supervisor.Spec); on the protocol fd `{"op": "spawned", "id", "pid"}`, `{"op": "error", "id", "message"}`,
`{"op": "exited", "pid", "code"}`. Single-threaded on purpose: fork() from a threaded process can deadlock, and
a user namespace can only be created by a single-threaded process.
The fork server is a subreaper too: a process of an environment whose supervisor was killed outright comes
back to it, and it kills such strays.
Like bootstrap.py, this file must not import anything from `sandbox`.
"""

import io
import json
import os
import selectors
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Warm up what nearly every handler imports; the child can still shadow them with its own copies (see below).
PRELOAD = ("boto3", "botocore.session", "aws_lambda_powertools", "aws_lambda_powertools.logging",
           "aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.idempotency",
           "aws_lambda_powertools.utilities.typing", "aws_lambda_powertools.utilities.data_classes")
PRELOAD_MODELS = ("s3", "dynamodb", "sqs", "sns", "lambda", "events", "stepfunctions", "ses", "sesv2", "logs",
                  "sts", "cloudwatch", "kinesis", "ssm", "secretsmanager", "apigateway", "scheduler")


def preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional module missing only costs speed
            pass
    share_botocore_loader()
    # botocore patched for speed, each unless its switch is off (zygote_client.zygote_flags): sdk_speedups.py,
    # lean_http.py. A failure only costs speed: the functions then run on botocore as shipped.
    for flag, module in (("--no-sdk-speedups", "sdk_speedups"), ("--no-lean-http", "lean_http")):
        if flag not in sys.argv:
            try:
                importlib.import_module(module).apply()
            except Exception as e:  # noqa: BLE001
                print(f"{module} not applied: {e!r}", file=sys.stderr)


def share_botocore_loader() -> None:
    """Every botocore Session in the children reuses one data loader with the common models already parsed."""
    try:
        import botocore.loaders
        import botocore.session
    except ImportError:
        return
    loader = botocore.loaders.create_loader()
    loader.load_data("endpoints")
    loader.load_data("partitions")
    loader.load_data("sdk-default-configuration")
    for service in PRELOAD_MODELS:
        for kind in ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2"):
            try:
                loader.load_service_model(service, kind)
            except Exception:  # noqa: BLE001 - not every service has every kind
                pass
    original = botocore.session.Session._register_data_loader

    def register_shared_loader(self):
        if os.environ.get("AWS_DATA_PATH"):
            return original(self)  # custom model paths: a loader of its own, as botocore would build it
        self._components.lazy_register_component("data_loader", lambda: loader)

    botocore.session.Session._register_data_loader = register_shared_loader


def preloaded_top_level() -> set[str]:
    return {name.split(".")[0] for name in sys.modules}


def child(request: dict, protocol_fd: int, preloaded: set[str]) -> None:
    """Runs in the forked child: become a fresh environment's supervisor, which runs the runtime."""
    os.setsid()
    os.close(protocol_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    sys.stdin = open(0, closefd=False)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace",
                                  write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="replace",
                                  write_through=True)
    import supervisor

    spec = supervisor.Spec(request["spec"])
    spec.parent_is_single_threaded = True
    supervisor.run(spec, preloaded)


def kill_strays(spawned: set[int]) -> None:
    """Processes re-parented to us (we are a subreaper) whose supervisor is gone: nobody answers for them."""
    import proctree

    strays = [pid for pid in proctree.children(os.getpid()) if pid not in spawned]
    if strays:
        proctree.kill_all(strays)


def main() -> None:
    # Protocol messages go to a private copy of stdout; fd 1 itself points at our log like stderr.
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    protocol = io.FileIO(protocol_fd, "w", closefd=False)
    sys.path.insert(0, HERE)
    import bootstrap  # imported once here so children start with it loaded
    import supervisor  # noqa: F401

    sys.path[:] = [HERE] + bootstrap.lambda_sys_path({"SANDBOX_RUNTIME_SITE": os.environ.get("SANDBOX_ZYGOTE_PATH", "")})

    preload()
    preloaded = preloaded_top_level()

    def send(msg: dict) -> None:
        protocol.write((json.dumps(msg) + "\n").encode())

    parent = os.getppid()
    import confine

    confine.own_process_tree()
    spawned: set[int] = set()
    selector = selectors.DefaultSelector()
    os.set_blocking(0, False)
    selector.register(0, selectors.EVENT_READ)
    buffer = b""
    send({"op": "ready", "pid": os.getpid()})
    while True:
        events = selector.select(timeout=0.2)
        # reap children and report their exit codes
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in spawned:
                spawned.discard(pid)
                send({"op": "exited", "pid": pid, "code": os.waitstatus_to_exitcode(status)})
        kill_strays(spawned)
        if os.getppid() != parent:
            os._exit(0)  # LocalStack is gone; our children notice we are gone and exit too
        if not events:
            continue
        chunk = os.read(0, 1 << 20)
        if not chunk:
            os._exit(0)
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            request = json.loads(line)
            try:
                pid = os.fork()
            except OSError as e:
                send({"op": "error", "id": request["id"], "message": str(e)})
                continue
            if pid == 0:
                try:
                    selector.close()
                    child(request, protocol_fd, preloaded)
                finally:
                    os._exit(1)
            spawned.add(pid)
            send({"op": "spawned", "id": request["id"], "pid": pid})


if __name__ == "__main__":
    main()
