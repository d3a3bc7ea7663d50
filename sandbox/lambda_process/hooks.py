"""Extension points around each invocation in the process executor, for the recorder and Lambda-level faults.

`before_invoke` hooks may return a `Directive` to change what happens to the invocation without touching the
function's code (modelled on AWS FIS Lambda actions): add start-up or invocation latency, fail it with an
error, make it time out, or crash its runtime. `after_invoke` hooks observe every finished invocation.
Hooks run inside LocalStack; an exception in a hook is logged and ignored, never breaks an invocation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

LOG = logging.getLogger(__name__)


@dataclass
class InvokeInfo:
    function_name: str
    function_arn: str  # qualified ARN of the version
    invoked_arn: str
    account: str
    region: str
    memory_mb: int
    timeout_s: float
    runtime: str
    request_id: str
    payload: str
    trace_header: str
    environment_id: str
    cold: bool  # first invocation in this environment process (it ran the init)


@dataclass
class Directive:
    """What a before-invoke hook wants done to an invocation (all optional, applied in this order)."""

    latency_ms: float = 0  # added before the invocation reaches the runtime
    crash: bool = False  # the runtime process dies: Runtime.ExitError, fresh environment next time
    timeout: bool = False  # the invocation hangs until the function timeout: Sandbox.Timedout
    error_type: str | None = None  # the invocation fails with this error, the handler does not run
    error_message: str = ""
    tags: dict = field(default_factory=dict)  # what to record about it (e.g. the fault rule)


@dataclass
class InvokeOutcome:
    info: InvokeInfo
    is_error: bool
    payload: bytes | None
    duration_ms: float
    directive: Directive | None


before_invoke: list[Callable[[InvokeInfo], Directive | None]] = []
after_invoke: list[Callable[[InvokeOutcome], None]] = []


def run_before(info: InvokeInfo) -> Directive | None:
    merged = None
    for hook in list(before_invoke):
        try:
            directive = hook(info)
        except Exception:  # noqa: BLE001
            LOG.exception("before_invoke hook %s failed", hook)
            continue
        if directive is not None:
            merged = directive if merged is None else merged
    return merged


def run_after(outcome: InvokeOutcome) -> None:
    for hook in list(after_invoke):
        try:
            hook(outcome)
        except Exception:  # noqa: BLE001
            LOG.exception("after_invoke hook %s failed", hook)
