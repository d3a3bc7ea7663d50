"""Lambda environments that are starting, or finish starting, while their version stops are stopped too.

localstack/services/lambda_/invocation/assignment.py `AssignmentService.get_environment` adds a new on-demand
environment to `self.environments` only after `start_environment` returns, and `stop_environments_for_version`
(called when LocalStack stops, and when a function is updated or deleted) stops the environments it finds there
when it begins. Two kinds escaped it:

- one still starting (a cold start, or an init that is slow or hangs) kept waiting for its runtime's ready call.
  When LocalStack stops, its gateway stops its thread pool, so that call is never served: the Invoke that started
  the environment held a gateway thread until the startup timer fired (LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT, 20 s),
  then blocked for ever writing its answer to the stopped reactor. `sandbox down` during a hanging init always
  waited its 20 s and killed LocalStack; a function deleted during one kept its process until that timer.
- one that finished starting while the stop was busy with the others (it stops them one by one, seconds under
  load) was added afterwards and ran its invocation; the function's calls then went to a gateway that no longer
  answered, and the gateway thread waiting for the function never ended. CI's `down` right after a burst of
  uploads was killed so (its thread dump showed two gateway threads waiting for functions that were never stopped).

The fix: a version being stopped starts no environment, one that finishes starting stops itself, and none of its
environments can be reserved for an invocation any more; the stop also stops the environments still starting, and
then those added meanwhile. Once LocalStack is stopping, no environment starts at all.

One behaviour changes with it: an invocation whose cold start overlaps a function update (the old version's stop)
now fails (an internal error, as LocalStack already answers an invocation whose warm environment that stop kills),
where before it finished on the old code in an environment nobody stopped. AWS would finish it.
"""

from __future__ import annotations

import logging
import threading

TARGET = "localstack.services.lambda_.invocation.assignment"
LOG = logging.getLogger(__name__)

_lock = threading.Lock()
_starting: dict[str, set] = {}  # version manager id -> its environments whose start() is running
_stopped_versions: set[str] = set()  # version manager ids stopped (a stopped version manager is never restarted)


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

    original_start, original_reserve = ExecutionEnvironment.start, ExecutionEnvironment.reserve
    original_stop_for_version = AssignmentService.stop_environments_for_version

    def refused(version_manager_id: str) -> str | None:
        if events.infra_stopping.is_set():
            return "LocalStack is stopping"
        if version_manager_id in _stopped_versions:
            return "its function version was stopped (updated or deleted)"
        return None

    def start(self) -> None:
        with _lock:  # the stop marks its version under this lock: either it sees this start, or this start sees it
            if reason := refused(self.version_manager_id):
                raise RuntimeError(f"no new execution environment is started: {reason}")
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
        if reason := refused(self.version_manager_id):  # it finished while its version stopped: never used
            stop_quietly(self)
            raise RuntimeError(f"execution environment stopped after its start: {reason}")

    def reserve(self) -> None:
        """LocalStack reserves a new environment right after adding it to its version's: one added after the
        stop's second pass is stopped here instead of running an invocation."""
        if self.version_manager_id in _stopped_versions:
            stop_quietly(self)
            raise InvalidStatusException(f"Execution environment {self.id}: its function version was stopped")
        original_reserve(self)

    def stop_quietly(env) -> None:
        try:
            env.stop()  # status STOPPED; the executor stops its process (and cancels the wait for ready)
        except InvalidStatusException:
            pass  # already stopped, or its start ended meanwhile (failed, or timed out and stopped itself)
        except Exception as e:  # noqa: BLE001 - the other environments must still be stopped
            LOG.debug("could not stop execution environment %s: %s", env.id, e)

    def stop_environments_for_version(self, version_manager_id: str) -> None:
        with _lock:
            _stopped_versions.add(version_manager_id)
        original_stop_for_version(self, version_manager_id)
        for env in starting(version_manager_id):
            stop_quietly(env)
        original_stop_for_version(self, version_manager_id)  # any added while the first pass was busy

    ExecutionEnvironment.start, ExecutionEnvironment.reserve = start, reserve
    AssignmentService.stop_environments_for_version = stop_environments_for_version
