"""Lambda-level faults: a `before_invoke` hook of the process executor that turns a matching rule into a Directive.

The executor carries the directive out without touching the function's code: added latency (every invocation,
or cold starts only), an error instead of the handler, a hang until the function timeout, a crashed runtime.
"""

from __future__ import annotations

import logging

from sandbox.chaos.rules import qualifier_of
from sandbox.chaos.store import STORE
from sandbox.lambda_process import hooks

LOG = logging.getLogger(__name__)


def lambda_fault(info: hooks.InvokeInfo) -> hooks.Directive | None:
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
        return hooks.Directive(latency_ms=rule.latency_ms, tags=tags)
    if rule.fault == "timeout":
        return hooks.Directive(timeout=True, tags=tags)
    if rule.fault == "crash":
        return hooks.Directive(crash=True, tags=tags)
    return hooks.Directive(error_type=rule.error_type, error_message=rule.error_message, tags=tags)


def install() -> None:
    if lambda_fault not in hooks.before_invoke:
        hooks.before_invoke.append(lambda_fault)
