"""The recorder inside LocalStack: `install()` is called from sandbox.localstack_ext.install.

Order matters only in one place: the gateway handlers go first in their composite handlers, so that the start
time is taken before other pre-processing and the span is opened (and the trace header rewritten) before any
other custom request handler can stop the chain - a fault injected by sandbox.faults is then recorded too.
Each hop patch is independent: one that cannot be applied is logged and skipped.
"""

from __future__ import annotations

import importlib
import logging
import os

LOG = logging.getLogger(__name__)

# hop patch -> the module whose first import arms it (LocalStack loads services lazily; so do we)
HOP_PATCHES = {
    "lambda_hops": "localstack.services.lambda_.provider",
    "esm_hops": "localstack.services.lambda_.provider",
    "sqs_hops": "localstack.services.sqs.provider",
    "notifier_hops": ("localstack.services.s3.provider", "localstack.services.sns.provider"),
    "sfn_hops": "localstack.services.stepfunctions.provider",
    "stream_hops": "sandbox.dynamodb_moto.provider",
    "events_hops": "localstack.services.events.target",
    "lambda_logs_hops": "localstack.services.lambda_.provider",
    "logs_hops": "localstack.services.logs.provider",
    "apigw_hops": "localstack.services.apigateway.next_gen.execute_api.handlers.integration",
    "cfn_hops": "localstack.services.cloudformation.resource_provider",
}
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from localstack.aws import handlers

    from sandbox.observability import recorder
    from sandbox.observability.engine import api, gateway, propagation

    if os.environ.get("SANDBOX_RECORDER", "1") in ("0", "false", "off"):
        LOG.info("Sandbox recorder disabled (SANDBOX_RECORDER=%s)", os.environ.get("SANDBOX_RECORDER"))
        return
    recorder.start(os.environ.get("SANDBOX_STATE_DIR"))
    propagation.install_client_hook()
    handlers.preprocess_request.handlers.insert(0, gateway.mark_start)
    handlers.serve_custom_service_request_handlers.handlers.insert(0, gateway.enter)
    handlers.run_custom_finalizers.append(gateway.finalize)
    from sandbox.localstack_ext.lazy import when_imported

    for name, targets in HOP_PATCHES.items():
        when_imported(targets, _hop_installer(name), what=f"recorder hop patch {name} (those hops stay unlinked)")
    api.install()
    _installed = True
    LOG.info("Sandbox recorder installed")


def _hop_installer(name: str):
    return lambda: importlib.import_module(f"sandbox.observability.engine.{name}").install()
