"""Lambda environments still starting are stopped with their function version, and none starts once LocalStack stops.

localstack/services/lambda_/invocation/assignment.py `AssignmentService.get_environment` adds a new on-demand
environment to `self.environments` only after `start_environment` returns, and `stop_environments_for_version`
(called when LocalStack stops, and when a function is updated or deleted) stops only those: an environment still
starting - a cold start, or a function whose init is slow or hangs - keeps waiting for its runtime's ready call.
When LocalStack stops, its gateway stops its thread pool, so that call is never served: the Invoke request that
started the environment holds a gateway thread until the startup timer fires (LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT,
20 s), then blocks for ever writing its answer to the stopped reactor, and LocalStack never exits. `sandbox down`
waited its 20 s and killed it: every time during a slow init, and now and then after a burst of uploads (CI).

The fix: every environment is known to its version while `ExecutionEnvironment.start` runs, and
`stop_environments_for_version` stops those too (the executor then cancels the wait for the ready call, and the
invocation fails). Once LocalStack is stopping, no environment starts.
"""

from __future__ import annotations

import threading

TARGET = "localstack.services.lambda_.invocation.assignment"

_lock = threading.Lock()
_starting: dict[str, set] = {}  # version manager id -> its environments whose start() is running


def starting(version_manager_id: str) -> list:
    with _lock:
        return list(_starting.get(version_manager_id, ()))


def apply() -> None:
    from localstack.runtime import events
    from localstack.services.lambda_.invocation.assignment import AssignmentService
    from localstack.services.lambda_.invocation.execution_environment import (
        ExecutionEnvironment,
        InvalidStatusException,
    )

    original_start = ExecutionEnvironment.start
    original_stop_for_version = AssignmentService.stop_environments_for_version

    def start(self) -> None:
        if events.infra_stopping.is_set():
            raise RuntimeError("LocalStack is stopping: no new execution environment is started")
        with _lock:
            _starting.setdefault(self.version_manager_id, set()).add(self)
        try:
            original_start(self)
        finally:
            with _lock:
                envs = _starting.get(self.version_manager_id)
                if envs is not None:
                    envs.discard(self)
                    if not envs:
                        del _starting[self.version_manager_id]

    def stop_environments_for_version(self, version_manager_id: str) -> None:
        original_stop_for_version(self, version_manager_id)
        for env in starting(version_manager_id):
            try:
                env.stop()  # status STOPPED; the executor stops its process and cancels the wait for ready
            except InvalidStatusException:
                pass  # its start ended meanwhile (failed, or timed out and stopped itself)

    ExecutionEnvironment.start = start
    AssignmentService.stop_environments_for_version = stop_environments_for_version
