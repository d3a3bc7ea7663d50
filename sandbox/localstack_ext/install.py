"""Installs every sandbox extension into the running LocalStack, in a fixed order."""

import logging

LOG = logging.getLogger(__name__)


# One INFO line per request ("AWS sqs.SendMessage => 200"), written under the log handler's lock by every
# gateway thread: about a quarter of LocalStack's busy time while a pipeline drains (py-spy, bench/pipeline.py).
# The recorder (`sandbox events`) shows the requests; SANDBOX_LOG_REQUESTS=1 brings the lines back.
REQUEST_LOGGERS = ("localstack.request.aws", "localstack.request.http", "localstack.request.internal.aws",
                   "localstack.request.internal.http")


def quiet_request_log() -> None:
    import os

    if os.environ.get("SANDBOX_LOG_REQUESTS") not in ("1", "true"):
        for name in REQUEST_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def install_all() -> None:
    from sandbox.faults import engine as faults_engine
    from sandbox.http_api import engine as http_api_engine
    from sandbox.rest_authorizers import engine as rest_authorizers_engine
    from sandbox.localstack_ext import internal_api, loopback_guard, patches, request_census, unsupported_services

    quiet_request_log()
    request_census.install()
    loopback_guard.install()
    unsupported_services.install()
    internal_api.install()
    faults_engine.install()
    http_api_engine.install()
    rest_authorizers_engine.install()
    patches.apply_all()
    __import__("sandbox.lambda_process.layer_fetcher", fromlist=["install"]).install()  # public Powertools layers
    __import__("sandbox.observability.engine", fromlist=["install"]).install()  # recorder: /_sandbox/events ...
    __import__("sandbox.schedules.engine", fromlist=["install"]).install()  # schedules fire: /_sandbox/schedules
    LOG.info("Serverless Sandbox extensions loaded")
