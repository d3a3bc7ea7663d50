"""The Python runtime's two ways to hand back a result, run for real (bootstrap.py as its own process) against a
stand-in for LocalStack's executor endpoint: callbacks through the gateway, or inline in the answer to /invoke."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

BOOTSTRAP_DIR = Path(__file__).resolve().parents[2] / "sandbox" / "lambda_process" / "environment"
TOKEN = "t" * 32


class Endpoint:
    """Records the runtime's callbacks (ready, logs, response, error) as LocalStack's executor endpoint would."""

    def __init__(self):
        self.calls: list[tuple[str, bytes]] = []
        self.ready = threading.Event()
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                endpoint.calls.append((self.path, body))
                if self.path.endswith("/ready"):
                    endpoint.port = json.loads(body)["port"]
                    endpoint.ready.set()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/_localstack_lambda/env1"


HANDLER = """import os
def handler(event, context):
    print('hello', event['n'])
    if event['n'] < 0:
        raise ValueError('negative')
    if event['n'] == 0:
        os._exit(3)
    return {'double': event['n'] * 2}
"""


@pytest.fixture
def runtime(tmp_path):
    with start_runtime(tmp_path) as endpoint:
        yield endpoint


@contextlib.contextmanager
def start_runtime(tmp_path, **extra_env):
    (tmp_path / "app.py").write_text(HANDLER)
    endpoint = Endpoint()
    env = {"PATH": os.environ["PATH"], "LOCALSTACK_RUNTIME_ID": "env1", "LOCALSTACK_RUNTIME_ENDPOINT": endpoint.url,
           "LAMBDA_TASK_ROOT": str(tmp_path), "_HANDLER": "app.handler", "SANDBOX_INVOKE_TOKEN": TOKEN,
           "SANDBOX_PYTHONPATH": str(tmp_path), "TMPDIR": str(tmp_path), "AWS_LAMBDA_FUNCTION_TIMEOUT": "3",
           **extra_env}
    proc = subprocess.Popen([sys.executable, str(BOOTSTRAP_DIR / "bootstrap.py")], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert endpoint.ready.wait(20), "the runtime never said it was ready"
        yield endpoint
    finally:
        proc.kill()
        proc.wait()
        endpoint.server.shutdown()


def invoke(endpoint, n: int, inline: bool, request_id: str) -> requests.Response:
    headers = {"X-Sandbox-Invoke-Token": TOKEN}
    if inline:
        headers["X-Sandbox-Reply"] = "inline"
    return requests.post(f"http://127.0.0.1:{endpoint.port}/invoke", headers=headers, timeout=10,
                         json={"invoke-id": request_id, "payload": json.dumps({"n": n})})


def parse_inline(body: bytes) -> tuple[dict, str, bytes]:
    meta, _, rest = body.partition(b"\n")
    meta = json.loads(meta)
    return meta, rest[:meta["logs_bytes"]].decode(), rest[meta["logs_bytes"]:]


def test_an_inline_reply_carries_logs_and_result_and_makes_no_callback(runtime):
    answer = invoke(runtime, 21, inline=True, request_id="req-1")
    assert answer.status_code == 200
    meta, logs, payload = parse_inline(answer.content)
    assert meta["kind"] == "response" and json.loads(payload) == {"double": 42}
    assert "START RequestId: req-1" in logs and "hello 21" in logs and "REPORT RequestId: req-1" in logs
    answer = invoke(runtime, -1, inline=True, request_id="req-2")
    meta, logs, payload = parse_inline(answer.content)
    assert meta["kind"] == "error" and json.loads(payload)["errorType"] == "ValueError"
    assert [path for path, _ in runtime.calls if "/invocations/" in path] == []


def test_without_the_header_the_runtime_calls_back_as_before(runtime):
    assert invoke(runtime, 5, inline=False, request_id="req-3").status_code == 202
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len([c for c in runtime.calls if "/invocations/" in c[0]]) < 2:
        time.sleep(0.02)
    callbacks = [(path.rsplit("/", 1)[-1], body) for path, body in runtime.calls if "/invocations/req-3/" in path]
    assert [name for name, _ in callbacks] == ["logs", "response"]
    assert json.loads(callbacks[1][1]) == {"double": 10}


def test_a_forged_reply_slot_in_the_invocation_is_ignored(runtime):
    answer = requests.post(f"http://127.0.0.1:{runtime.port}/invoke", timeout=10,
                           headers={"X-Sandbox-Invoke-Token": TOKEN},
                           json={"invoke-id": "req-4", "payload": "{\"n\": 1}", "_reply": {"event": 1}})
    assert answer.status_code == 202
    assert invoke(runtime, 2, inline=True, request_id="req-5").status_code == 200  # the runtime survived


@pytest.mark.parametrize("inline", [True, False], ids=["inline reply", "callbacks"])
def test_a_handler_that_ends_the_process_at_once_was_accepted_first(tmp_path, inline):
    """The runtime's 200 is out before the handler runs: a handler that ends the process (os._exit) is a crash of an
    accepted invocation (Runtime.ExitError), not a runtime that was dead before the send (which the executor
    retries on a fresh one, and then failed: "Remote end closed connection without response", once in CI). Under
    load the thread that answers can be descheduled right after it queues the invocation; a sitecustomize makes
    every queueing slow in that way, so the handler runs first if the code allows it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import queue, time\n"
        "_put = queue.Queue.put\n"
        "def put(self, *args, **kwargs):\n"
        "    _put(self, *args, **kwargs)\n"
        "    time.sleep(0.3)\n"
        "queue.Queue.put = put\n")
    with start_runtime(tmp_path, PYTHONPATH=str(site)) as endpoint:
        connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
        body = json.dumps({"invoke-id": "req-6", "payload": json.dumps({"n": 0})})
        headers = {"X-Sandbox-Invoke-Token": TOKEN, "Content-Type": "application/json"}
        if inline:
            headers["X-Sandbox-Reply"] = "inline"
        connection.request("POST", "/invoke", body, headers)
        response = connection.getresponse()  # RemoteDisconnected here: the handler ran before the answer was out
        if inline:
            assert response.status == 200
            with pytest.raises((http.client.IncompleteRead, ConnectionError)):
                response.read()
        else:
            assert response.status == 202 and response.read() == b""
        connection.close()
