"""Entry point of our code inside the LocalStack process.

localstack-core has no extension loader, so everything the sandbox adds to the running LocalStack (routes,
gateway handlers, workarounds for LocalStack bugs) is installed from this `on_infra_start` hook.
"""

import logging
import os

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


@hooks.on_infra_start(priority=100)
def load_sandbox_extensions():
    if not os.environ.get("SANDBOX_STATE_DIR"):
        return  # a LocalStack not started by the sandbox: stay out of its way
    from sandbox.localstack_ext import install

    install.install_all()


@hooks.on_infra_ready()
def warm_up_sandbox():
    if not os.environ.get("SANDBOX_STATE_DIR"):
        return
    from sandbox.localstack_ext import warmup

    warmup.install()
