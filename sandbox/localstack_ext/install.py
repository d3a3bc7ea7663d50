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


class _DroppedMemberWarnings(logging.Filter):
    """localstack.aws.protocol.serializer warns "Response object Rule contains a member which is not specified: X"
    for every field a model carries beyond the API's shape (EventBridge rules, after each deploy): dropped from the
    answer as it should be, and dozens of lines a user reading `sandbox logs` takes for trouble."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.WARNING and str(record.msg).startswith(
            "Response object %s contains a member which is not specified"))


def quiet_known_noise() -> None:
    # aws-sam-translator warns "There are unpublished metrics" when a Translator's Metrics is collected: LocalStack's
    # CloudFormation engine applies SAM's transform with metrics nobody publishes (our deploy does the same quietly)
    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)
    logging.getLogger("localstack.aws.protocol.serializer").addFilter(_DroppedMemberWarnings())


def install_all() -> None:
    from sandbox.faults import engine as faults_engine
    from sandbox.http_api import engine as http_api_engine
    from sandbox.rest_authorizers import engine as rest_authorizers_engine
    from sandbox.localstack_ext import internal_api, loopback_guard, patches, request_census, unsupported_services

    quiet_request_log()
    quiet_known_noise()
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
