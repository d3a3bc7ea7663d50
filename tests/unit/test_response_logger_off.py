"""patches/response_logger_off.py: LocalStack's ResponseLogger builds no line while its loggers are below INFO (as
the sandbox sets them), and logs as before when one of them is on (SANDBOX_LOG_REQUESTS=1)."""

from __future__ import annotations

import logging

import pytest
from localstack.aws.handlers.logging import ResponseLogger

from sandbox.localstack_ext.install import REQUEST_LOGGERS
from sandbox.localstack_ext.patches import response_logger_off

response_logger_off.apply()


@pytest.fixture
def levels():
    loggers = [logging.getLogger(name) for name in REQUEST_LOGGERS]
    saved = [logger.level for logger in loggers]
    yield loggers
    for logger, level in zip(loggers, saved):
        logger.setLevel(level)


class Spy(ResponseLogger):
    def __init__(self):
        self.lines = 0

    def _log(self, context, response):
        self.lines += 1


class Context:
    class request:  # noqa: N801 - the attribute LocalStack's handler reads
        path = "/"


def test_nothing_is_built_while_the_request_loggers_are_off(levels):
    for logger in levels:
        logger.setLevel(logging.WARNING)
    spy = Spy()
    spy(None, Context(), None)
    assert spy.lines == 0


@pytest.mark.parametrize("name", REQUEST_LOGGERS)
def test_any_request_logger_at_info_logs_as_before(levels, name):
    for logger in levels:
        logger.setLevel(logging.WARNING)
    logging.getLogger(name).setLevel(logging.INFO)
    spy = Spy()
    spy(None, Context(), None)
    assert spy.lines == 1


def test_warnings_that_mean_nothing_to_a_user_stay_out_of_localstacks_log(caplog):
    """`sandbox logs` after a deploy was full of "Response object Rule contains a member which is not specified" and
    "There are unpublished metrics" (a newcomer took them for trouble in their own code); other warnings stay."""
    import logging

    from sandbox.localstack_ext.install import quiet_known_noise

    quiet_known_noise()
    serializer = logging.getLogger("localstack.aws.protocol.serializer")
    with caplog.at_level(logging.WARNING):
        serializer.warning("Response object %s contains a member which is not specified: %s", "Rule", "CreatedBy")
        serializer.warning("Something else went wrong: %s", "x")
        logging.getLogger("samtranslator.metrics").warning("There are unpublished metrics.")
    assert [r.getMessage() for r in caplog.records] == ["Something else went wrong: x"]
