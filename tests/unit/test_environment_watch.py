"""The executor and a runtime's exit, in the orders a live test cannot force: the process watcher against the respawn
that can overtake it (the watcher thread descheduled between the old runtime's exit and its reading of the
endpoint), and a runtime that says it is about to exit but does not."""

from __future__ import annotations

import json
import subprocess
import threading
from concurrent.futures import Future

import pytest

from sandbox.lambda_process import executor as executor_module
from sandbox.process_registry import ProcessRegistry


class ExitingProcess:
    """A runtime whose exit the test releases."""

    pid = 424242

    def __init__(self):
        self.gone = threading.Event()

    def wait(self, timeout=None):
        self.gone.wait(timeout)
        return 1


def test_a_respawn_before_the_watcher_wakes_keeps_its_startup_and_invocation(monkeypatch, tmp_path):
    monkeypatch.setattr(executor_module, "process_registry", lambda: ProcessRegistry(tmp_path / "pids"))
    executor = executor_module.ProcessRuntimeExecutor.__new__(executor_module.ProcessRuntimeExecutor)
    executor.id, executor.stopped, executor.env_dir = "env-1", False, tmp_path
    executor.log_path = tmp_path / "process.log"
    old = executor_module.ProcessEndpoint("env-1", "a" * 32)
    old.startup_future, old.invocation_future = Future(), Future()
    old.startup_future.set_result(True)
    old.invocation_future.set_result("the crash's own error, already delivered")
    executor.endpoint = old
    process = ExitingProcess()
    failures = []

    def watch():
        try:
            executor._watch(process, old)
        except BaseException as e:  # noqa: BLE001 - a watcher that cannot even run must fail the test
            failures.append(e)

    watcher = threading.Thread(target=watch)
    watcher.start()

    new = executor_module.ProcessEndpoint("env-1", "b" * 32)  # what _respawn makes for the next invocation
    new.startup_future, new.invocation_future = Future(), Future()
    executor.endpoint = new
    process.gone.set()  # the old runtime's exit reaches the watcher only now
    watcher.join(5)

    assert not watcher.is_alive() and not failures, failures
    assert not new.startup_future.done(), f"the old exit failed the new start: {new.startup_future.exception()}"
    assert not new.invocation_future.done(), "the old runtime's exit settled the next invocation"


class StuckProcess:
    """A runtime that said it would exit, and does not."""

    pid = 424243

    def wait(self, timeout=None):
        raise subprocess.TimeoutExpired("runtime", timeout)


class Reply:
    """The runtime's inline answer to /invoke: a meta line, the logs, the payload."""

    def __init__(self, meta: dict):
        self.data = json.dumps({"kind": "error", "logs_bytes": 4, **meta}).encode() + b"\nlogs{\"errorType\": \"E\"}"

    def read(self):
        return self.data


@pytest.mark.parametrize("says_exit", [True, False])
def test_a_runtime_that_says_it_exits_is_waited_for_and_killed_if_it_does_not(monkeypatch, says_exit):
    executor = executor_module.ProcessRuntimeExecutor.__new__(executor_module.ProcessRuntimeExecutor)
    executor.endpoint = executor_module.ProcessEndpoint("env-1", "a" * 32)
    executor.endpoint.invocation_future, executor._current_request_id = Future(), "req-1"
    executor.process = StuckProcess()
    kills = []
    monkeypatch.setattr(executor, "_kill", lambda: kills.append("killed"), raising=False)
    monkeypatch.setattr(executor_module, "EXIT_AFTER_CRASH_S", 0.05)
    result = executor._inline_result(Reply({"exit": True} if says_exit else {}), executor.endpoint.invocation_future, 3)
    assert result.is_error and json.loads(result.payload) == {"errorType": "E"} and result.logs == "logs"
    assert kills == (["killed"] if says_exit else []), "the next invocation must not reach a runtime on its way out"
