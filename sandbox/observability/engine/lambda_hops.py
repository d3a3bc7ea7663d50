"""Lambda executions, and the attempts of asynchronous invocations, as spans.

Patched LocalStack behaviour (localstack-core 2026.3.0):

* `localstack.services.lambda_.invocation.execution_environment.ExecutionEnvironment.invoke` hands an invocation
  to the runtime executor together with the X-Ray header the function sees as _X_AMZN_TRACE_ID (LocalStack
  makes up a random Parent when there is none). The patch gives the execution its own span id and puts it in
  that header's Parent: the SDKs in the function send _X_AMZN_TRACE_ID as X-Amzn-Trace-Id, so the function's
  calls become children of its execution. The execution's own parent is the Parent the invocation came with:
  the Invoke request's span (see gateway.py), or the span the invoking thread is bound to. When the executor
  returns, the execution span is recorded ("lambda-exec"): duration, memory, billed duration (from the REPORT
  line, as AWS bills it), cold start, error, and the fault sandbox chaos injected, if any.
* `localstack.services.lambda_.invocation.event_manager.Poller.handle_message` runs each attempt of an Event
  (async) invocation: a RequestResponse Invoke through the gateway that carries the original X-Amzn-Trace-Id
  (whose Parent is the Event Invoke's span) and request id. The patch marks that call as hop "lambda-async"
  with its attempt number and the original caller, and binds the thread to the trace, so that deliveries to
  the function's dead-letter queue or destinations join it (a destination's own Invoke without that hop).

Each execution is remembered by invocation request id (`execution_of`), so what LocalStack does for it afterwards
on other threads - shipping its logs (lambda_logs_hops) - joins its trace.

`sandbox.lambda_process.hooks.after_invoke` adds what only the process executor knows (cold flag, the fault that intercepted it).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import time
from time import perf_counter

from sandbox.observability import correlation
from sandbox.observability.engine import propagation
from sandbox.observability import recorder as recorder_mod
from sandbox.observability.preview import preview
from sandbox.observability.recorder import GenerationMap
from sandbox.observability.spans import hop_span, new_span_id, new_trace_id, parse_trace_header

LOG = logging.getLogger(__name__)

REPORT_RE = re.compile(
    r"REPORT RequestId: \S*\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms(?:\tMemory Size: \d+ MB\tMax Memory Used: "
    r"(\d+) MB)?(?:\tInit Duration: ([\d.]+) ms)?")


def parse_report(logs: str | None) -> dict:
    """Duration, billed duration, max memory and init duration of the last REPORT line of an invocation's logs."""
    if not logs:
        return {}
    tail = logs[-2000:]
    found = None
    for found in REPORT_RE.finditer(tail):
        pass
    if found is None:
        return {}
    duration, billed, max_mem, init = found.groups()
    out = {"reported_ms": float(duration), "billed_ms": int(billed)}
    if max_mem:
        out["max_memory_mb"] = int(max_mem)
    if init:
        out["init_ms"] = float(init)
    return out


def _error_of(payload) -> dict:
    try:
        body = json.loads(payload) if payload else {}
    except (ValueError, TypeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    return {"code": body.get("errorType") or "Unhandled", "message": str(body.get("errorMessage") or "")[:1000]}


def _function_arn(function_version) -> tuple[str, str]:
    fid = function_version.id
    return f"arn:aws:lambda:{fid.region}:{fid.account}:function:{fid.function_name}", fid.function_name


# invocation request id -> (trace id, execution span id): what is done for an execution later (lambda_logs_hops)
executions = GenerationMap(10_000)


def execution_of(request_id: str | None) -> tuple[str, str] | None:
    """(trace id, span id) of the execution of the invocation `request_id`, while remembered."""
    return executions.get(request_id) if request_id else None


def after_invoke(outcome) -> None:
    """hooks.after_invoke: keeps the executor's view of the execution until the execution span is recorded."""
    rec = recorder_mod._recorder
    if rec is None:
        return
    _, exec_id = parse_trace_header(outcome.info.trace_header)
    if exec_id:
        rec.pending[exec_id] = outcome


def install() -> None:
    from localstack.services.lambda_.invocation import event_manager, execution_environment
    from localstack.utils.xray.trace_header import TraceHeader

    from sandbox.lambda_process import hooks

    if after_invoke not in hooks.after_invoke:
        hooks.after_invoke.append(after_invoke)

    env_cls = execution_environment.ExecutionEnvironment
    if not getattr(env_cls.invoke, "_sandbox_observability", False):
        original_invoke = env_cls.invoke

        def invoke(self, invocation):
            rec = recorder_mod._recorder
            if rec is None or not rec.enabled:
                return original_invoke(self, invocation)
            trace_context = invocation.trace_context or {}
            hdr = trace_context.get("aws_trace_header")
            if isinstance(hdr, str):
                hdr = TraceHeader.from_header_str(hdr)
            cur = propagation.current()
            trace_id = (hdr.root if hdr is not None else None) or (cur.trace_id if cur else None) or new_trace_id()
            parent_id = (hdr.parent if hdr is not None else None) or (cur.span_id if cur else None)
            exec_id = new_span_id()
            fv = self.function_version
            fn_arn, fn_name = _function_arn(fv)
            corr = correlation.from_payload(invocation.payload) or rec.inherited_correlation(parent_id)
            rec.open(exec_id, trace_id, corr, {"kind": "service", "name": "lambda", "source_arn": fn_arn})
            if invocation.request_id:
                executions[invocation.request_id] = (trace_id, exec_id)
            running_key = (trace_id, fn_name)
            running = rec.running.get(running_key)
            rec.running[running_key] = (*running, exec_id) if running else (exec_id,)
            invocation = dataclasses.replace(invocation, trace_context={
                **trace_context,
                "aws_trace_header": TraceHeader(root=trace_id, parent=exec_id, sampled=1,
                                                lineage=getattr(hdr, "lineage", None)),
            })
            ts, t0 = time.time(), perf_counter()
            result = failure = None
            try:
                result = original_invoke(self, invocation)
                return result
            except Exception as e:
                failure = e
                raise
            finally:
                left = tuple(e for e in rec.running.get(running_key) or () if e != exec_id)
                if left:
                    rec.running[running_key] = left
                else:
                    rec.running.pop(running_key)
                try:
                    # built by the span writer, off the invocation's path (its outcome is taken now: the map is
                    # bounded, and the next invocation of this id would find it)
                    rec.record_later(_execution_span, (
                        rec.pending.pop(exec_id), fv, invocation, exec_id, trace_id, parent_id, corr, ts,
                        (perf_counter() - t0) * 1000, result, failure), ts, "lambda", _unbuilt_execution_span)
                except Exception:  # noqa: BLE001 - never break an invocation over its span
                    LOG.exception("could not record the execution of %s", fn_name)

        invoke._sandbox_observability = True
        env_cls.invoke = invoke

    poller_cls = event_manager.Poller
    if not getattr(poller_cls.handle_message, "_sandbox_observability", False):
        original_handle = poller_cls.handle_message

        def handle_message(self, message: dict) -> None:
            rec = recorder_mod._recorder
            if rec is None or not rec.enabled:
                return original_handle(self, message)
            try:
                body = json.loads(message["Body"])
                root, parent = parse_trace_header((body.get("trace_context") or {}).get("aws_trace_header"))
                attrs = {"attempt": int(body.get("retries") or 0) + 1, "request_id": body.get("request_id")}
            except (ValueError, KeyError, TypeError, AttributeError):
                return original_handle(self, message)
            cur = propagation.Current(root or new_trace_id(), parent,
                                      hop={"hop": "lambda-async", "caller": "inherit", "attrs": attrs},
                                      hop_ops={"Invoke"})
            with propagation.bound(cur):
                return original_handle(self, message)

        handle_message._sandbox_observability = True
        poller_cls.handle_message = handle_message
        # A destination's Invoke (OnSuccess/OnFailure of type Lambda) is made on the attempt's thread, whose hop
        # marks every Invoke as that attempt: the destination was recorded as an attempt of an external caller
        # (`external -> Catcher Invoke` in the service map, no Chain -> Catcher edge). It runs without the hop, so
        # its caller is what LocalStack's call says: the lambda service for the function.
        for name in ("process_success_destination", "process_failure_destination"):
            setattr(poller_cls, name, _without_attempt_hop(getattr(poller_cls, name)))


def _without_attempt_hop(original):
    if getattr(original, "_sandbox_observability", False):
        return original

    def deliver(self, *args, **kwargs):
        cur = propagation.current()
        if cur is None or cur.hop_json is None:
            return original(self, *args, **kwargs)
        with propagation.bound(propagation.Current(cur.trace_id, cur.span_id)):
            return original(self, *args, **kwargs)

    deliver._sandbox_observability = True
    return deliver


def _unbuilt_execution_span(outcome, fv, invocation, exec_id, trace_id, parent_id, corr, ts, wall_ms, *_) -> dict:
    """What the invocation knew of its execution span, when `_execution_span` fails (store.Deferred adds the error)."""
    fn_arn, fn_name = _function_arn(fv)
    return hop_span(ts=ts, duration_ms=wall_ms, hop="lambda-exec", account=fv.id.account, region=fv.id.region,
                    service="lambda", operation="Execute", resource=fn_arn, resource_name=fn_name, trace_id=trace_id,
                    span_id=exec_id, parent_id=parent_id, correlation_id=corr, request_id=invocation.request_id,
                    caller={"kind": "service", "name": "lambda", "source_arn": fn_arn})


def _execution_span(outcome, fv, invocation, exec_id, trace_id, parent_id, corr, ts, wall_ms, result, failure) -> dict:
    fn_arn, fn_name = _function_arn(fv)
    report = parse_report(getattr(result, "logs", None))
    duration_ms = outcome.duration_ms if outcome is not None else wall_ms
    memory_mb = int(fv.config.memory_size)
    attrs = {
        "function": fn_name,
        "qualifier": fv.id.qualifier,
        "memory_mb": memory_mb,
        "billed_ms": report.get("billed_ms") or max(1, math.ceil(duration_ms)),
        "cold": outcome.info.cold if outcome is not None else "init_ms" in report,
        "runtime": str(fv.config.runtime) if fv.config.runtime else None,
        "arch": (fv.config.architectures or ["x86_64"])[0],
        "invocation_type": str(invocation.invocation_type) if invocation.invocation_type else None,
        "timeout_s": fv.config.timeout,
    }
    for key in ("reported_ms", "max_memory_mb", "init_ms"):
        if key in report:
            attrs[key] = report[key]
    if outcome is not None:
        attrs["environment_id"] = outcome.info.environment_id
    error = None
    if failure is not None:
        error = {"code": type(failure).__name__, "message": str(failure)[:1000]}
    elif result is not None and result.is_error:
        error = _error_of(result.payload)
    injected = None
    intercept = outcome.intercept if outcome is not None else None
    if intercept is not None:
        injected = dict(getattr(intercept, "tags", None) or {"kind": "fault"})
    return hop_span(
        ts=ts, duration_ms=wall_ms, hop="lambda-exec", account=fv.id.account, region=fv.id.region,
        service="lambda", operation="Execute", resource=fn_arn, resource_name=fn_name, trace_id=trace_id,
        span_id=exec_id, parent_id=parent_id, caller={"kind": "service", "name": "lambda", "source_arn": fn_arn},
        error=error, correlation_id=corr, request=preview(invocation.payload),
        response=preview(result.payload) if result is not None else None, request_id=invocation.request_id,
        injected=injected, attrs=attrs,
    )
