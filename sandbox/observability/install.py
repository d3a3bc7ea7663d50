"""Installs the recorder into the running LocalStack (called from sandbox.localstack_ext.install).

Order matters only in one place: the gateway handlers go first in their composite handlers, so that the start
time is taken before other pre-processing and the span is opened (and the trace header rewritten) before any
other custom request handler can stop the chain - a fault injected by sandbox chaos is then recorded too.
Each hop patch is independent: one that cannot be applied is logged and skipped.
"""

from __future__ import annotations

import importlib
import logging
import os

LOG = logging.getLogger(__name__)

HOP_PATCHES = ("lambda_hops", "esm_hops", "sqs_hops", "notifier_hops", "sfn_hops", "stream_hops")
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from localstack.aws import handlers

    from sandbox.observability import api, gateway, propagation, recorder

    if os.environ.get("SANDBOX_RECORDER", "1") in ("0", "false", "off"):
        LOG.info("Sandbox recorder disabled (SANDBOX_RECORDER=%s)", os.environ.get("SANDBOX_RECORDER"))
        return
    recorder.start(os.environ.get("SANDBOX_STATE_DIR"))
    propagation.install_client_hook()
    handlers.preprocess_request.handlers.insert(0, gateway.mark_start)
    handlers.serve_custom_service_request_handlers.handlers.insert(0, gateway.enter)
    handlers.run_custom_finalizers.append(gateway.finalize)
    for name in HOP_PATCHES:
        try:
            importlib.import_module(f"sandbox.observability.{name}").install()
        except Exception:  # noqa: BLE001 - the sandbox starts without that link of the traces
            LOG.exception("Sandbox recorder: %s could not be installed; those hops will not be linked", name)
    api.install()
    _installed = True
    LOG.info("Sandbox recorder installed")
