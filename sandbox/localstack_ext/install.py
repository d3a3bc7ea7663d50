"""Installs every sandbox extension into the running LocalStack, in a fixed order."""

import logging

LOG = logging.getLogger(__name__)


def install_all() -> None:
    from sandbox.faults import engine as faults_engine
    from sandbox.http_api import engine as http_api_engine
    from sandbox.localstack_ext import internal_api, loopback_guard, patches, unsupported_services

    loopback_guard.install()
    unsupported_services.install()
    internal_api.install()
    faults_engine.install()
    http_api_engine.install()
    patches.apply_all()
    __import__("sandbox.lambda_process.layer_fetcher", fromlist=["install"]).install()  # public Powertools layers
    __import__("sandbox.observability.engine", fromlist=["install"]).install()  # recorder: /_sandbox/events ...
    __import__("sandbox.schedules.engine", fromlist=["install"]).install()  # schedules fire: /_sandbox/schedules
    LOG.info("Serverless Sandbox extensions loaded")
