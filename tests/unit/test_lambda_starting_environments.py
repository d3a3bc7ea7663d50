"""The patch lambda_starting_environments on LocalStack's own classes, with environments that only record their stop:
the orders of events a live test cannot force (an environment that finishes starting while its version stops)."""

from __future__ import annotations

import pytest

from sandbox.localstack_ext.patches import lambda_starting_environments as patch


@pytest.fixture
def classes(monkeypatch):
    """LocalStack's AssignmentService and ExecutionEnvironment, patched; `start` is a stand-in set per test."""
    from localstack.services.lambda_.invocation.assignment import AssignmentService
    from localstack.services.lambda_.invocation.execution_environment import (
        ExecutionEnvironment,
        InvalidStatusException,
    )

    monkeypatch.setattr(ExecutionEnvironment, "start", lambda self: self.during_start())
    monkeypatch.setattr(ExecutionEnvironment, "reserve", ExecutionEnvironment.reserve)
    monkeypatch.setattr(AssignmentService, "stop_environments_for_version",
                        AssignmentService.stop_environments_for_version)
    monkeypatch.setattr(patch, "_stopped_versions", set())

    def stop(self):
        if self.stopped:
            raise InvalidStatusException("already stopped")
        self.stopped = True

    monkeypatch.setattr(ExecutionEnvironment, "stop", stop)
    patch.apply()
    return AssignmentService, ExecutionEnvironment


def environment(cls, version: str, during_start=lambda: None):
    env = cls.__new__(cls)  # no function version, executor or timers: only what the patch touches
    env.id, env.version_manager_id, env.stopped, env.during_start = f"env-{id(env)}", version, False, during_start
    return env


def test_an_environment_added_while_the_stop_is_busy_is_stopped_too(classes):
    service_cls, env_cls = classes
    service = service_cls.__new__(service_cls)
    service.environments = {"v1": {}}
    late = environment(env_cls, "v1")
    first = environment(env_cls, "v1")

    def slow_stop():  # while the stop is at `first`, `late` finishes its start and is added
        first.stopped = True
        service.environments["v1"][late.id] = late

    first.stop = slow_stop
    service.environments["v1"][first.id] = first
    service.stop_environments_for_version("v1")
    assert first.stopped and late.stopped, "the environment added during the stop kept running"


def test_an_environment_still_starting_is_stopped_with_its_version(classes):
    service_cls, env_cls = classes
    service = service_cls.__new__(service_cls)
    service.environments = {"v1": {}}
    starting = environment(env_cls, "v1")
    starting.during_start = lambda: service.stop_environments_for_version("v1")  # the stop comes mid-start
    with pytest.raises(RuntimeError, match="function version was stopped"):
        starting.start()
    assert starting.stopped and patch.starting("v1") == []


def test_an_environment_of_a_stopped_version_is_not_reserved_but_stopped(classes):
    """Added to its version after the stop's last pass (LocalStack adds, then reserves): stopped, never invoked."""
    from localstack.services.lambda_.invocation.execution_environment import InvalidStatusException

    service_cls, env_cls = classes
    service = service_cls.__new__(service_cls)
    service.environments = {"v1": {}}
    service.stop_environments_for_version("v1")
    late = environment(env_cls, "v1")
    with pytest.raises(InvalidStatusException, match="function version was stopped"):
        late.reserve()
    assert late.stopped


def test_a_stopped_version_or_a_stopping_localstack_starts_no_environment(classes, monkeypatch):
    from localstack.runtime import events

    service_cls, env_cls = classes
    service = service_cls.__new__(service_cls)
    service.environments = {"v1": {}}
    service.stop_environments_for_version("v1")
    started = []
    with pytest.raises(RuntimeError, match="function version was stopped"):
        environment(env_cls, "v1", lambda: started.append("v1")).start()
    monkeypatch.setattr(events, "infra_stopping", type(events.infra_stopping)())
    events.infra_stopping.set()
    with pytest.raises(RuntimeError, match="LocalStack is stopping"):
        environment(env_cls, "v2", lambda: started.append("v2")).start()
    assert started == []


def test_stop_all_stops_every_environment_still_running(monkeypatch):
    """executor.stop_all, which the last shutdown hook (hooks.stop_lambda_environments) calls: the safety net."""
    import weakref

    from sandbox.lambda_process import executor

    monkeypatch.setattr(executor, "_executors", weakref.WeakSet())
    running, stopped = (executor.ProcessRuntimeExecutor.__new__(executor.ProcessRuntimeExecutor) for _ in range(2))
    for env, name, done in ((running, "running-env", False), (stopped, "stopped-env", True)):
        env.id, env.stopped = name, done
        env.stop = lambda env=env: setattr(env, "stopped", True)
        executor._executors.add(env)
    assert executor.stop_all() == 1 and running.stopped
    assert executor.stop_all() == 0
