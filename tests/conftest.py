"""One real embedded LocalStack per test session, on a free loopback port; state reset between tests.

The tiers: tests/unit (pure logic), tests/tui (the TUI on recordings, SVG snapshots), tests/live (the embedded
sandbox). Every test that uses the sandbox fixture, wherever it is, is marked `live` here, so
`pytest -m "not live"` is the fast tier: no LocalStack is started.
"""

from __future__ import annotations

import io
import json
import os
import shutil
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


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    os.environ.update(HOST_SECRETS)
    # Not under /tmp: a function gets a private /tmp only when nothing the sandbox needs lives there, and the
    # tests are to see what a user's sandbox (./.sandbox in a project) does.
    state = Path(tempfile.mkdtemp(prefix="sandbox-test-state-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    settings = Settings(state_dir=state, port=free_port(), endpoint=None)
    settings.allowed_origins = ["http://localhost:5173"]  # a local web app (test_security)
    # Fast failure modes for tests: async retries after 1 s, ESM polls every 0.2 s.
    settings.knobs.lambda_retry_base_delay = 1
    settings.knobs.esm_poll_interval = 0.2
    settings.knobs.esm_max_empty_backoff = 1
    sb = Sandbox(settings)
    sb.up(timeout=120)
    yield sb
    # No test may have made LocalStack reach beyond loopback (test_loopback_guard_* provokes 0.0.0.0 on purpose).
    unexpected = [b for b in (sb.info() or {}).get("blocked_connections", []) if "0.0.0.0" not in b]
    stopped = sb.down()
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
