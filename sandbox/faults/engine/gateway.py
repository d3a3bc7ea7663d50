"""The gateway handler that injects service faults and latency into AWS requests.

It sits in `serve_custom_service_request_handlers`: after the service, operation and region are parsed, before
the provider runs. Every AWS request passes it, also those of Lambda functions (normal requests from their
processes) and LocalStack's service-to-service calls (S3 notifications, API Gateway integrations, event source
mappings), which reach the gateway marked `is_internal_call`. The sandbox's own endpoints are never touched.
What it did is left on the request context as `context.sandbox_fault` for the recorder.
"""

from __future__ import annotations

import logging
import time

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.aws.chain import HandlerChain
from localstack.http import Response

from sandbox.faults.engine.store import STORE

LOG = logging.getLogger(__name__)

# Never faulted or delayed: LocalStack's and the sandbox's own APIs, and the Lambda runtime callbacks.
EXEMPT_PATH_PREFIXES = ("/_localstack/", "/_localstack_lambda/", "/_sandbox/", "/_aws/")


class InjectedFault(CommonServiceException):
    """The error of a fault rule, serialized by LocalStack in the protocol of the service (so SDKs parse it)."""

    def __init__(self, code: str, message: str, status_code: int):
        super().__init__(code, message, status_code=status_code, sender_fault=status_code < 500)


def inject_faults(chain: HandlerChain, context: RequestContext, response: Response) -> None:
    store = STORE
    if not store.active() or context.service is None:
        return
    if context.request.path.startswith(EXEMPT_PATH_PREFIXES):
        return
    latency = store.latency_ms
    if latency:
        time.sleep(latency / 1000)
        store.count_latency()
        context.sandbox_fault = {"kind": "latency", "rule": store.get_effects()}
    operation = context.operation.name if context.operation else None
    rule = store.match(context.service.service_name, context.region, operation, context.is_internal_call)
    if rule is None:
        return
    fault = {"kind": "fault", "rule": dict(rule.spec)}
    if latency:
        fault["latency_ms"] = latency
    context.sandbox_fault = fault
    LOG.info("Sandbox fault rule failed %s.%s (%s%s) with %s %s", context.service.service_name, operation,
             context.region, ", internal call" if context.is_internal_call else "", rule.status_code, rule.code)
    if context.operation is None:
        # The serializer needs an operation; LocalStack does the same for requests it cannot attribute.
        context.operation = context.service.operation_model(context.service.operation_names[0])
    raise InjectedFault(rule.code, rule.message, rule.status_code)
