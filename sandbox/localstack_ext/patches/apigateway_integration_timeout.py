"""A REST API answers 504 "Endpoint request timed out" when its integration does not answer within its timeout.

`localstack/services/apigateway/next_gen/execute_api/handlers/integration.py` (`IntegrationHandler.__call__`,
localstack-core 2026.3.0) waited for the integration however long it took: a Lambda function with a 60 s timeout
behind a REST API answered after 60 s, where API Gateway gives up at the integration's `timeoutInMillis` (29 s
unless set; SAM `TimeoutInMillis` on an Api event) and answers 504 (the INTEGRATION_TIMEOUT gateway response), while
the function runs on. Now the integration is waited for that long (sandbox/localstack_ext/deadlines.py); a MOCK
integration, which answers at once, is called as before.
"""

from __future__ import annotations

TARGET = "localstack.services.apigateway.next_gen.execute_api.handlers.integration"
DEFAULT_TIMEOUT_MS = 29_000


def timeout_seconds(integration: dict) -> float:
    """The integration's timeoutInMillis (a number or, as imported from OpenAPI, a string); 29 s when unset, not a
    number or not above 0; at least API Gateway's minimum of 50 ms."""
    try:
        millis = int(integration.get("timeoutInMillis") or 0)
    except (TypeError, ValueError):
        millis = 0
    return max(millis if millis > 0 else DEFAULT_TIMEOUT_MS, 50) / 1000


def apply() -> None:
    from localstack.services.apigateway.next_gen.execute_api.gateway_response import IntegrationTimeoutError
    from localstack.services.apigateway.next_gen.execute_api.handlers.integration import IntegrationHandler

    from sandbox.localstack_ext.deadlines import DeadlineExceeded, call_within

    original = IntegrationHandler.__call__

    def __call__(self, chain, context, response):
        integration = context.integration or {}
        if str(integration.get("type", "")).upper() == "MOCK":
            return original(self, chain, context, response)
        try:
            return call_within(timeout_seconds(integration), original, self, chain, context, response)
        except DeadlineExceeded:
            raise IntegrationTimeoutError("Endpoint request timed out", status_code=504) from None

    IntegrationHandler.__call__ = __call__
