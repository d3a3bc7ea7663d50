"""Fault injection inside LocalStack (this package runs in the LocalStack process only).

    store.py         the configuration in memory, with hit counts
    gateway.py       handler in `serve_custom_service_request_handlers`: errors in the service's protocol, latency
    lambda_faults.py `before_invoke` hook of the process executor: error, latency, timeout, crash
    routes.py        /_localstack/chaos/{faults,effects}, /_sandbox/chaos/lambda, /_sandbox/chaos

Rules are validated by `sandbox.faults.rules`; the host's side (client, templates) is the rest of `sandbox.faults`.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    """Called once from `sandbox.localstack_ext.install.install_all`."""
    global _installed
    if _installed:
        return
    from localstack.aws.handlers import serve_custom_service_request_handlers
    from localstack.services.edge import ROUTER
    from localstack.services.internal import get_internal_apis

    from sandbox.faults.engine import gateway, lambda_faults, routes

    serve_custom_service_request_handlers.append(gateway.inject_faults)
    get_internal_apis().add(routes.ChaosApi())  # /_localstack/* is served by LocalStack's internal router
    ROUTER.add(routes.SandboxChaosApi())
    lambda_faults.install()
    _installed = True


def reset() -> None:
    """Removes every fault rule, Lambda fault rule and effect, and zeroes the counters (for `/_sandbox/reset`)."""
    from sandbox.faults.engine.store import STORE

    STORE.clear(counts=True)
