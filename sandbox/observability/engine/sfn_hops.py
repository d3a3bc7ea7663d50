"""Step Functions executions and their task states, in the trace of the request that started them.

Patched LocalStack behaviour (localstack-core 2026.3.0, `localstack.services.stepfunctions`):

* `backend.execution.Execution.start` starts an execution's interpreter on its own thread. It is called in the
  thread of StartExecution (or of the EventBridge target / the parent state machine that started it), so the
  span bound there is the execution's parent. The execution gets a span id, remembered by execution ARN.
* `backend.execution.BaseExecutionWorkerCommunication.terminated` runs when the interpreter ends: the hop span
  "sfn-execution" is recorded (status, error, type, state transitions - counted from the execution history as
  states entered plus task retries, which is what AWS bills for Standard workflows).
* `asl...state_task.state_task_lambda.StateTaskLambda._eval_execution` and
  `asl...state_task.service.state_task_service.StateTaskService._eval_execution` run a Task state (on a thread
  of its own, with the state's environment). They are bound to the execution's span, so the task's call - a
  Lambda Invoke, an SQS SendMessage, an aws-sdk call - is the execution's child, marked hop "sfn-task" with the
  state name and attempt.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from sandbox.observability.engine import propagation
from sandbox.observability import recorder as recorder_mod
from sandbox.observability.preview import preview
from sandbox.observability.recorder import GenerationMap
from sandbox.observability.spans import hop_span, new_span_id, new_trace_id

TASK_SCHEDULED = ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled")


class ExecutionSpan(NamedTuple):
    trace_id: str
    span_id: str
    parent_id: str | None
    state_machine_arn: str
    ts: float
    correlation_id: str | None


_executions = GenerationMap(10_000)


def count_transitions(history: list) -> dict:
    entered = scheduled = task_entered = 0
    for event in history or []:
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            entered += 1
            if kind == "TaskStateEntered":
                task_entered += 1
        elif kind in TASK_SCHEDULED:
            scheduled += 1
    retries = max(0, scheduled - task_entered)
    return {"state_transitions": entered + retries, "states_entered": entered, "retries": retries}


def _on_start(execution) -> None:
    rec = recorder_mod._recorder
    if rec is None or not rec.enabled:
        return
    cur = propagation.current()
    trace_id = cur.trace_id if cur else new_trace_id()
    parent_id = cur.span_id if cur else None
    corr = None
    if isinstance(execution.input_data, dict):
        from sandbox.observability.correlation import from_object

        corr = from_object(execution.input_data)
    corr = corr or rec.inherited_correlation(parent_id)
    span_id = new_span_id()
    sm_arn = execution.state_machine_arn
    rec.open(span_id, trace_id, corr, {"kind": "service", "name": "states", "source_arn": sm_arn})
    _executions[execution.exec_arn] = ExecutionSpan(trace_id, span_id, parent_id, sm_arn, time.time(), corr)


def _on_terminated(execution) -> None:
    rec = recorder_mod._recorder
    known = _executions.pop(execution.exec_arn)
    if rec is None or known is None:
        return
    env = getattr(execution.exec_worker, "env", None)
    history = env.event_manager.get_event_history() if env is not None else []
    counts = count_transitions(history)
    status = str(execution.exec_status) if execution.exec_status else None
    error = None
    if status and status != "SUCCEEDED":
        error = {"code": str(execution.error or status), "message": str(execution.cause or "")[:1000] or None}
    parts = known.state_machine_arn.split(":")
    rec.record(hop_span(
        ts=known.ts, duration_ms=(time.time() - known.ts) * 1000, hop="sfn-execution",
        account=execution.account_id, region=execution.region_name, service="stepfunctions",
        operation="Execution", resource=known.state_machine_arn,
        resource_name=parts[-1] if parts else None, trace_id=known.trace_id, span_id=known.span_id,
        parent_id=known.parent_id,
        caller={"kind": "service", "name": "states", "source_arn": known.state_machine_arn}, error=error,
        correlation_id=known.correlation_id, request=preview(execution.input_data),
        response=preview(execution.output), attrs={
            "execution_arn": execution.exec_arn, "status": status, "type": str(execution.sm_type), **counts},
    ))


def _task_current(env) -> propagation.Current | None:
    try:
        data = env.states.context_object.context_object_data
        exec_arn = data["Execution"]["Id"]
        state = data["State"]["Name"]
        retry = int(data["State"].get("RetryCount") or 0)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    known = _executions.get(exec_arn)
    if known is None:
        return None
    return propagation.Current(known.trace_id, known.span_id, hop={
        "hop": "sfn-task",
        "caller": {"kind": "service", "name": "states", "source_arn": known.state_machine_arn},
        "attrs": {"state": state, "attempt": retry + 1, "execution_arn": exec_arn},
        "correlation_id": known.correlation_id,
    })


def _patch_task(cls) -> None:
    original = cls.__dict__["_eval_execution"]
    if getattr(original, "_sandbox_observability", False):
        return

    def _eval_execution(self, env):
        cur = _task_current(env)
        if cur is None:
            return original(self, env)
        with propagation.bound(cur):
            return original(self, env)

    _eval_execution._sandbox_observability = True
    cls._eval_execution = _eval_execution


def install() -> None:
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service import (  # noqa: E501
        StateTaskService,
    )
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.state_task_lambda import (
        StateTaskLambda,
    )
    from localstack.services.stepfunctions.backend.execution import BaseExecutionWorkerCommunication, Execution

    if not getattr(Execution.start, "_sandbox_observability", False):
        original_start = Execution.start

        def start(self):
            _on_start(self)
            return original_start(self)

        start._sandbox_observability = True
        Execution.start = start

    if not getattr(BaseExecutionWorkerCommunication.terminated, "_sandbox_observability", False):
        original_terminated = BaseExecutionWorkerCommunication.terminated

        def terminated(self):
            try:
                return original_terminated(self)
            finally:
                try:
                    _on_terminated(self.execution)
                except Exception:  # noqa: BLE001
                    import logging

                    logging.getLogger(__name__).exception("could not record a Step Functions execution")

        terminated._sandbox_observability = True
        BaseExecutionWorkerCommunication.terminated = terminated

    _patch_task(StateTaskLambda)
    _patch_task(StateTaskService)
