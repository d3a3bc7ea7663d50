"""Lambda-level faults: a `before_invoke` hook of the process executor that turns a matching rule into an intercept.

The intercept changes the invocation through the executor's `hooks.Environment`, without touching the function's
code: added latency (every invocation, or cold starts only), an error instead of the handler, a hang until the
function timeout, a crashed runtime. A new kind of Lambda fault is a rule in sandbox/faults/rules.py and a branch
of `LambdaFault.run` here.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

from localstack.services.lambda_.invocation.lambda_models import InvocationResult

from sandbox.faults.engine.store import STORE
from sandbox.faults.rules import qualifier_of
from sandbox.lambda_process import hooks

LOG = logging.getLogger(__name__)


@dataclass
class LambdaFault:
    """What a matching rule does to one invocation (a `hooks.Intercept`), applied in this order."""

    latency_ms: float = 0  # added before the invocation reaches the runtime
    crash: bool = False  # the runtime process dies: Runtime.ExitError, fresh environment next time
    timeout: bool = False  # the invocation hangs until the function timeout: Sandbox.Timedout
    error_type: str | None = None  # the invocation fails with this error, the handler does not run
    error_message: str = ""
    tags: dict = field(default_factory=dict)  # what the recorder notes on the execution span (the rule)

    def run(self, env: hooks.Environment, payload: dict[str, str]) -> InvocationResult:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if self.crash:
            env.kill()
            env.begin(payload)
            return env.failure("Runtime.ExitError", "Runtime exited with error: signal: killed")
        if self.timeout:
            env.begin(payload)
            time.sleep(env.timeout_s)
            env.kill()
            return env.failure("Sandbox.Timedout", f"Task timed out after {env.timeout_s:.2f} seconds",
                               status="timeout")
        if self.error_type:
            env.begin(payload)
            request_id = payload.get("invoke-id") or ""
            body = {"errorType": self.error_type, "errorMessage": self.error_message, "requestId": request_id,
                    "stackTrace": []}
            logs = (f"START RequestId: {request_id} Version: {env.qualifier}\n"
                    f"[ERROR] {self.error_type}: {self.error_message} (injected by the sandbox)\n"
                    f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: 0.00 ms\t"
                    f"Billed Duration: 1 ms\tMemory Size: {env.memory_mb} MB\tMax Memory Used: 0 MB\n")
            return InvocationResult(request_id, json.dumps(body).encode(), is_error=True, logs=logs)
        return env.run_invocation(payload)


def lambda_fault(info: hooks.InvokeInfo) -> LambdaFault | None:
    store = STORE
    if not store.lambda_rules:
        return None
    qualifiers = {q for q in (qualifier_of(info.function_arn), qualifier_of(info.invoked_arn)) if q}
    if not qualifiers:
        qualifiers = {"$LATEST"}
    rule = store.match_lambda(info.function_name, info.account, info.region, qualifiers, info.cold)
    if rule is None:
        return None
    LOG.info("Sandbox Lambda fault rule: %s for %s (request %s)", rule.fault, info.function_arn, info.request_id)
    tags = {"kind": "lambda-fault", "rule": dict(rule.spec)}
    if rule.fault in ("latency", "startup-latency"):
        return LambdaFault(latency_ms=rule.latency_ms, tags=tags)
    if rule.fault == "timeout":
        return LambdaFault(timeout=True, tags=tags)
    if rule.fault == "crash":
        return LambdaFault(crash=True, tags=tags)
    return LambdaFault(error_type=rule.error_type, error_message=rule.error_message, tags=tags)


def install() -> None:
    if lambda_fault not in hooks.before_invoke:
        hooks.before_invoke.append(lambda_fault)
