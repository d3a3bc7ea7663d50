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
