"""Extension points around each invocation in the process executor, for the recorder and Lambda-level faults.

`before_invoke` hooks may return an `Intercept` to change what happens to the invocation without touching the
function's code: the Lambda faults of sandbox.faults.engine.lambda_faults (after AWS FIS Lambda actions) add
latency, fail it, make it time out or crash its runtime, through the `Environment` the executor offers.
`after_invoke` hooks observe every finished invocation.
Hooks run inside LocalStack; an exception in a hook is logged and ignored, never breaks an invocation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from localstack.services.lambda_.invocation.lambda_models import InvocationResult

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


class Environment(Protocol):
    """What an intercept may do with the execution environment (the executor implements it)."""

    memory_mb: int
    timeout_s: float
    qualifier: str

    def run_invocation(self, payload: dict[str, str]) -> InvocationResult:
        """The real invocation, in the environment's runtime."""

    def begin(self, payload: dict[str, str]) -> None:
        """Start of an invocation the runtime does not see: the clock and the log offset its report uses."""

    def kill(self) -> None:
        """The runtime dies (the next invocation gets a fresh environment)."""

    def failure(self, error_type: str, message: str, status: str = "error") -> InvocationResult:
        """The result, START ... REPORT logs included, of an invocation the runtime could not finish."""


class Intercept(Protocol):
    """What a before-invoke hook returns to change an invocation (e.g. a Lambda fault, sandbox.faults.engine)."""

    tags: dict  # what to record about it (the recorder puts it on the execution span)

    def run(self, environment: Environment, payload: dict[str, str]) -> InvocationResult:
        """Carries out the invocation its own way: instead of, or around, `environment.run_invocation(payload)`."""


@dataclass
class InvokeOutcome:
    info: InvokeInfo
    is_error: bool
    payload: bytes | None
    duration_ms: float
    intercept: Intercept | None


before_invoke: list[Callable[[InvokeInfo], Intercept | None]] = []
after_invoke: list[Callable[[InvokeOutcome], None]] = []


def run_before(info: InvokeInfo) -> Intercept | None:
    """The first intercept a hook returns (every hook runs: each may count the invocation)."""
    first = None
    for hook in list(before_invoke):
        try:
            intercept = hook(info)
        except Exception:  # noqa: BLE001
            LOG.exception("before_invoke hook %s failed", hook)
            continue
        if intercept is not None and first is None:
            first = intercept
    return first


def run_after(outcome: InvokeOutcome) -> None:
    for hook in list(after_invoke):
        try:
            hook(outcome)
        except Exception:  # noqa: BLE001
            LOG.exception("after_invoke hook %s failed", hook)
