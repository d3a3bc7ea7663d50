"""Whether a REST API request reached its integration: what API Gateway bills when the request fails.

Patched LocalStack behaviour (localstack-core 2026.3.0): `localstack.services.apigateway.next_gen.execute_api.handlers.
integration.IntegrationHandler` invokes a REST API method's integration (Lambda, HTTP, MOCK, AWS service), after the
handlers that may refuse the request first (no such resource, authorizers, API keys, throttling, request
validation). The patch marks the request's environ when it gets there; the recorder's API Gateway span carries it
(`attrs.integration`), and the cost meter bills a failed request only then (cost.py `billed_failure`). HTTP APIs
are the sandbox's own gateway, which marks it itself (sandbox/http_api/engine/gateway.py).
"""

from __future__ import annotations

from sandbox.observability.engine.gateway import REST_INTEGRATION_ENVIRON_KEY


def install() -> None:
    from localstack.services.apigateway.next_gen.execute_api.handlers.integration import IntegrationHandler

    original = IntegrationHandler.__call__
    if getattr(original, "_sandbox_observability", False):
        return

    def __call__(self, chain, context, response):
        context.request.environ[REST_INTEGRATION_ENVIRON_KEY] = True
        return original(self, chain, context, response)

    __call__._sandbox_observability = True
    IntegrationHandler.__call__ = __call__
