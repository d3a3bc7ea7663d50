"""Entry point of our code inside the LocalStack process.

localstack-core has no extension loader, so everything the sandbox adds to the running LocalStack (routes,
gateway handlers, workarounds for LocalStack bugs) is installed from this `on_infra_start` hook.
"""

import logging
import os
import sys

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


@hooks.on_infra_start(priority=100)
def load_sandbox_extensions():
    if not os.environ.get("SANDBOX_STATE_DIR"):
        return  # a LocalStack not started by the sandbox: stay out of its way
    from sandbox.localstack_ext import install, thread_dump

    try:
        thread_dump.install()  # first: a `down` that must kill LocalStack finds its threads in the log
    except (OSError, ValueError, AttributeError, RuntimeError) as e:  # a stderr without a file (an in-process harness)
        LOG.warning("no thread dump on SIGUSR2: %s", e)
    install.install_all()


@hooks.on_infra_start(priority=90)
def hold_readiness_for_saved_state():
    """`up --persist` with a saved state: `/_sandbox/info` answers 503 until it is loaded (load_saved_state)."""
    from sandbox.localstack_ext import persistence

    if persistence.enabled() and (persistence.folder() / "manifest.json").is_file():
        persistence.LOADING.set()


@hooks.on_infra_ready(priority=50)
def load_saved_state():
    """Before the warm-up: the services of a saved state are started and loaded (sandbox/localstack_ext/persistence.py)."""
    from sandbox.localstack_ext import persistence

    if not persistence.LOADING.is_set():
        return
    try:
        persistence.LOAD_REPORT.update(persistence.load_all())
    except Exception as e:  # noqa: BLE001 - a sandbox that starts empty is better than none; the log says why
        LOG.exception("could not load the saved state: %s", e)
        persistence.LOAD_REPORT.update({"loaded": [], "failed": {"*": str(e)}})
    finally:
        persistence.LOADING.clear()


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
    more and then no more (metric_batches.stop), and LocalStack's own calls no longer sleep through botocore's
    retries (shutdown_retries.stop)."""
    if not os.environ.get("SANDBOX_STATE_DIR"):
        return
    from sandbox.localstack_ext import metric_batches, shutdown_retries
    from sandbox.localstack_ext import warmup
    from sandbox.schedules import engine as schedules_engine

    shutdown_retries.stop()
    schedules_engine.stop()  # no schedule fires (and starts a service) any more
    warmup.stop()
    metric_batches.stop()


@hooks.on_infra_shutdown(priority=0)
def save_state():
    """`up --persist`: after the quiesce, before LocalStack stops its services (priority -10), every service's state
    is saved (sandbox/localstack_ext/persistence.py). Not while a saved state is still loading: half of it would be
    saved over the whole."""
    if not os.environ.get("SANDBOX_STATE_DIR"):
        return
    from sandbox.localstack_ext import persistence

    if persistence.enabled() and not persistence.LOADING.is_set():
        try:
            persistence.save_all()
        except Exception as e:  # noqa: BLE001 - the previous save stays; the log says why
            LOG.exception("could not save the state: %s", e)


@hooks.on_infra_shutdown(priority=-30)
def stop_late_services():
    """After LocalStack stopped its services: a service a last request started meanwhile is stopped too."""
    if not os.environ.get("SANDBOX_STATE_DIR"):
        return
    from localstack.services.plugins import SERVICE_PLUGINS

    SERVICE_PLUGINS.stop_all_services()


@hooks.on_infra_shutdown(priority=-40)
def stop_lambda_environments():
    """Last, after LocalStack stopped its services (priority -10, and stop_late_services), before its gateway stops:
    every Lambda environment still running is stopped (sandbox/lambda_process/executor.py `stop_all`). The patch
    lambda_starting_environments closes the ways we know one escaped the Lambda service's stop; should another
    remain, its invocation would hold a gateway thread that never ends, and LocalStack would never exit."""
    executor = sys.modules.get("sandbox.lambda_process.executor")
    if executor is None or not os.environ.get("SANDBOX_STATE_DIR"):
        return  # no function ever started here
    if stopped := executor.stop_all():
        LOG.warning("stopped %d Lambda environment(s) still running after LocalStack's Lambda service stopped", stopped)
