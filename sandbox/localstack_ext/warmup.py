"""Warm-up after start: the first request to each service should not pay for loading it.

Right after LocalStack is ready, a background thread starts the Lambda fork server, loads the service catalog
(shared across state directories through a per-user cache, since building it takes seconds) and loads the
services the built-in patterns use. `sandbox up` returns as soon as LocalStack is healthy; this runs behind it.
"""

import glob
import logging
import os
import shutil
import threading
import time

LOG = logging.getLogger(__name__)

# Not Step Functions: loading it (its ASL parsers) takes 140 MB of LocalStack's 320 MB after the warm-up
# (measured 2026-12-05), so it loads when first used (a state machine's first deploy pays about a second).
SERVICES = ("sts", "iam", "s3", "sqs", "lambda", "logs", "dynamodb", "dynamodbstreams", "events",
            "apigateway", "sns", "ses", "cloudformation", "cloudwatch", "ssm")
# Files in LocalStack's cache dir that are costly to make and the same for every instance of this version.
SHARED_CACHE_FILES = ("service-catalog-*.dill", "server.test.pem*")


def share_cache_files(source_dir: str, target_dir: str) -> list[str]:
    """Copies the shareable cache files that `target_dir` does not have yet."""
    copied = []
    os.makedirs(target_dir, exist_ok=True)
    for pattern in SHARED_CACHE_FILES:
        for path in glob.glob(os.path.join(source_dir, pattern)):
            target = os.path.join(target_dir, os.path.basename(path))
            if not os.path.exists(target):
                tmp = f"{target}.{os.getpid()}.tmp"
                shutil.copyfile(path, tmp)
                os.replace(tmp, target)
                copied.append(target)
    return copied


def warm_up() -> None:
    started = time.perf_counter()
    try:
        from sandbox.lambda_process import zygote_client
        from sandbox.lambda_process.executor import zygote

        if zygote_client.enabled():
            zygote()._ensure_started()
    except Exception as e:  # noqa: BLE001 - warm-up only saves time; never break start-up
        LOG.warning("Could not pre-start the Lambda fork server: %s", e)
    try:
        from localstack import config
        from localstack.aws.spec import get_service_catalog

        get_service_catalog()
        shared = os.environ.get("SANDBOX_SHARED_CACHE")
        if shared:
            share_cache_files(config.dirs.cache, shared)
    except Exception as e:  # noqa: BLE001
        LOG.warning("Could not prepare the service catalog: %s", e)
    from localstack.services.plugins import SERVICE_PLUGINS

    for name in SERVICES:
        if _stopping.is_set():
            LOG.info("Sandbox warm-up cut short: LocalStack is stopping")
            return
        try:
            SERVICE_PLUGINS.require(name)
        except Exception as e:  # noqa: BLE001
            LOG.warning("Could not pre-load service %s: %s", name, e)
    from sandbox.localstack_ext import gc_tuning

    gc_tuning.set_young_threshold()
    gc_tuning.freeze_start_up_objects()
    LOG.info("Sandbox warm-up done in %.1fs", time.perf_counter() - started)


_stopping = threading.Event()
_thread: threading.Thread | None = None


def install() -> None:
    global _thread
    _thread = threading.Thread(target=warm_up, name="sandbox-warmup", daemon=True)
    _thread.start()


def stop(timeout: float = 15.0) -> None:
    """An on_infra_shutdown hook that runs before LocalStack stops its services (sandbox/localstack_ext/hooks.py).

    localstack/runtime/shutdown.py stops the services that are running when shutdown begins. A service the warm-up
    was still loading then (CloudWatch, whose alarm scheduler is a non-daemon thread) came up afterwards, was never
    stopped, and kept the process alive until `sandbox down` killed it 20 s later (`sandbox up` then `down` at
    once). So the warm-up is told to stop and waited for: whatever it loaded is running before the services are
    stopped."""
    _stopping.set()
    if _thread is not None and _thread.is_alive():
        _thread.join(timeout)
