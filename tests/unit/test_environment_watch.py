"""The executor's process watcher against the respawn that can overtake it: an order a live test cannot force (the
watcher thread descheduled between the old runtime's exit and its reading of the endpoint)."""

from __future__ import annotations

import threading
from concurrent.futures import Future

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
    watcher = threading.Thread(target=executor._watch, args=(process, old))
    watcher.start()

    new = executor_module.ProcessEndpoint("env-1", "b" * 32)  # what _respawn makes for the next invocation
    new.startup_future, new.invocation_future = Future(), Future()
    executor.endpoint = new
    process.gone.set()  # the old runtime's exit reaches the watcher only now
    watcher.join(5)

    assert not watcher.is_alive()
    assert not new.startup_future.done(), f"the old exit failed the new start: {new.startup_future.exception()}"
    assert not new.invocation_future.done(), "the old runtime's exit settled the next invocation"
