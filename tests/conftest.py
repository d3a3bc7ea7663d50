"""One real embedded LocalStack per test session, on a free loopback port; state reset between tests.

The tiers: tests/unit (pure logic), tests/tui (the TUI on recordings, SVG snapshots), tests/live (the embedded
sandbox). Every test that uses the sandbox fixture, wherever it is, is marked `live` here, so
`pytest -m "not live"` is the fast tier: no LocalStack is started.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import shutil
import signal
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from sandbox import Sandbox, Settings
from sandbox.embedded import free_port

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


# Host credentials that must never reach LocalStack or a function (the tests check for them).
HOST_SECRETS = {"AWS_ACCESS_KEY_ID": "AKIAHOSTSHOULDNOTLEAK", "AWS_SECRET_ACCESS_KEY": "host-secret-should-not-leak",
                "AWS_PROFILE": "host-profile-should-not-leak", "AWS_SESSION_TOKEN": "host-token-should-not-leak"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "sandbox" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live)


# --- parallel runs (pytest-xdist) --------------------------------------------------------------------------------
WORKERS = 2  # CI's 2 cores; each worker that gets a live test starts its own embedded LocalStack


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which turns -n into workers
def pytest_cmdline_main(config):
    """`uv run pytest` (and `-m "not live"`, or a folder) runs in WORKERS xdist workers. Named files or tests run in
    this process, as does anything with -n (`-n 0`: no workers), --pdb, --collect-only or `-p no:xdist`."""
    option = config.option
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return
    if option.numprocesses is not None or option.tx or option.usepdb or option.collectonly or option.looponfail:
        return
    if any(not Path(arg.split("::")[0]).is_dir() for arg in config.args):
        return
    option.numprocesses = WORKERS


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") != "no":
        config.sandbox_lock_dir = tempfile.mkdtemp(prefix="sandbox-tests-lock-")


def pytest_unconfigure(config):
    if folder := getattr(config, "sandbox_lock_dir", None):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):  # xdist, in the controller: what each worker is told
    node.workerinput["sandbox_lock_dir"] = node.config.sandbox_lock_dir


class RunLock:
    """Held by every test of a parallel run: shared, or alone by a test marked `exclusive` (one that measures
    latencies, which another worker's load would skew). A waiting exclusive test holds the gate, so the other
    workers stop taking new tests instead of starving it."""

    def __init__(self, folder: str):
        self.gate = open(os.path.join(folder, "gate"), "a")
        self.lock = open(os.path.join(folder, "lock"), "a")

    @contextlib.contextmanager
    def held(self, exclusive: bool):
        fcntl.flock(self.gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            fcntl.flock(self.gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(self.lock, fcntl.LOCK_UN)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    folder = getattr(item.config, "workerinput", {}).get("sandbox_lock_dir")
    if folder is None:
        return (yield)
    if not hasattr(item.config, "sandbox_run_lock"):
        item.config.sandbox_run_lock = RunLock(folder)
    with item.config.sandbox_run_lock.held(item.get_closest_marker("exclusive") is not None):
        return (yield)


def _terminate_as_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    os.environ.update(HOST_SECRETS)
    # A SIGTERM (a CI job's timeout, `kill` of the run) ends the run as Ctrl-C does: pytest then tears the session's
    # fixtures down and the sandbox below is stopped. By default SIGTERM ended pytest at once and left the embedded
    # LocalStack and its functions running (it runs in a session of its own).
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    # Not under /tmp: a function gets a private /tmp only when nothing the sandbox needs lives there, and the
    # tests are to see what a user's sandbox (./.sandbox in a project) does.
    state = Path(tempfile.mkdtemp(prefix="sandbox-test-state-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    settings = Settings(state_dir=state, port=free_port(), endpoint=None)
    settings.allowed_origins = ["http://localhost:5173"]  # a local web app (test_security)
    # Fast failure modes for tests: async retries after 1 s. Event source mappings poll as in the product (no pause
    # after a poll: with 0.2 s here, an idle stream mapping that never paused kept a core busy in every user's
    # sandbox and no test saw it).
    settings.knobs.lambda_retry_base_delay = 1
    settings.knobs.esm_max_empty_backoff = 1
    sb = Sandbox(settings)
    try:
        sb.up(timeout=120)
    except BaseException:  # a SIGTERM or a failure while starting: what started is stopped (no teardown runs)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sb.down()
        signal.signal(signal.SIGTERM, previous)
        raise
    yield sb
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a SIGTERM now would cut the stop short; `down` is bounded
    # No test may have made LocalStack reach beyond loopback (test_loopback_guard_* provokes 0.0.0.0 on purpose).
    unexpected = [b for b in (sb.info() or {}).get("blocked_connections", []) if "0.0.0.0" not in b]
    stopped = sb.down()
    signal.signal(signal.SIGTERM, previous)
    assert not unexpected, f"LocalStack tried to reach beyond loopback: {unexpected}"
    leftovers = [r for r in sb.embedded.registry.alive()]
    shutil.rmtree(state, ignore_errors=True)
    assert not leftovers, f"processes left behind after down: {leftovers} (stopped: {stopped})"


@pytest.fixture
def sb(sandbox) -> Sandbox:
    """The session sandbox, emptied before the test."""
    sandbox.reset()
    return sandbox


def zip_code(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_function(sb: Sandbox, code: str | dict[str, str], *, name: str | None = None, handler="app.handler",
                    runtime="python3.13", timeout=5, wait=True, **kwargs) -> str:
    files = {"app.py": code} if isinstance(code, str) else code
    name = name or unique("fn")
    lam = sb.client("lambda")
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                        Code={"ZipFile": zip_code(files)}, Timeout=timeout, **kwargs)
    if wait:
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    return name


def invoke(sb: Sandbox, name: str, event=None, **kwargs) -> tuple[dict | list | str | None, dict]:
    resp = sb.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}), **kwargs)
    body = resp["Payload"].read()
    try:
        return json.loads(body), resp
    except ValueError:
        return body.decode(), resp


class StandInGateway:
    """LocalStack's gateway for unit tests of clients that hand it requests in process (gateway_calls): answers
    each request with the next (status, body) or (status, headers, body) of `answers` (a body that is not bytes is
    sent as JSON); keeps the requests."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def handle(self, context, response):
        self.requests.append(context.request)
        answer = self.answers.pop(0)
        status, headers, body = answer if len(answer) == 3 else (answer[0], {}, answer[1])
        response.status_code = status
        response.headers.update(headers)
        response.set_data(body if isinstance(body, bytes) else json.dumps(body).encode())


@pytest.fixture
def no_sleep(monkeypatch):
    """The retries of gateway_calls without their back-off sleeps (returned: the sleeps asked for), LocalStack not
    stopping."""
    from sandbox.localstack_ext import gateway_calls

    slept = []
    monkeypatch.setattr(gateway_calls.time, "sleep", slept.append)
    monkeypatch.setattr(gateway_calls, "stopping", lambda: False)
    return slept


def wait_for(predicate, timeout: float = 30, interval: float = 0.2, message: str = "condition"):
    """Polls `predicate` until it returns a truthy value; fails the test with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message} (last value: {last!r})")


def log_text(sb: Sandbox, function_name: str) -> str:
    logs = sb.client("logs")
    group = f"/aws/lambda/{function_name}"
    try:
        events = logs.filter_log_events(logGroupName=group)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return ""
    return "".join(e["message"] for e in events)


@pytest.fixture
def helpers():
    """Test helpers as a namespace, so test modules need no import from conftest."""
    import types

    return types.SimpleNamespace(HOST_SECRETS=HOST_SECRETS, zip_code=zip_code, unique=unique, create_function=create_function, invoke=invoke,
                                 wait_for=wait_for, log_text=log_text, ROLE=ROLE)


@pytest.fixture
def no_host_profile(monkeypatch):
    """The live tests' session sets a host AWS profile that must never be found (HOST_SECRETS), and a worker runs unit
    tests after it: boto3 sessions made by a unit test (LocalStack's modules make one on import, and its request
    builder a client) need none. (Here, not in a tests/unit/conftest.py: that one would be imported as `conftest`
    too, and the live tests' `from conftest import ...` would find it.)"""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
