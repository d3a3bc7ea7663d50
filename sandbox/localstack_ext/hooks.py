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


@hooks.on_infra_shutdown(priority=10)
def quiesce_sandbox():
    """Before LocalStack stops its services (its hook has priority -10): nothing of ours may start a service after
    that, or the service is never stopped and its non-daemon threads keep LocalStack from exiting (`sandbox down`
    then waits 20 s and kills it). The warm-up is waited for (warmup.stop), the Lambda metrics are published once
    more and then no more (metric_batches.stop)."""
    if not os.environ.get("SANDBOX_STATE_DIR"):
        return
    from sandbox.localstack_ext import warmup
    from sandbox.localstack_ext import metric_batches
    from sandbox.schedules import engine as schedules_engine

    schedules_engine.stop()  # no schedule fires (and starts a service) any more
    warmup.stop()
    metric_batches.stop()


@hooks.on_infra_shutdown(priority=-30)
def stop_late_services():
    """After LocalStack stopped its services: a service a last request started meanwhile is stopped too."""
    if not os.environ.get("SANDBOX_STATE_DIR"):
        return
    from localstack.services.plugins import SERVICE_PLUGINS

    SERVICE_PLUGINS.stop_all_services()
