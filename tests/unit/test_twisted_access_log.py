"""patches/twisted_access_log.py: a factory without a log path formats no access line per request; one with a log
path still writes its lines."""

from __future__ import annotations

from twisted.python import log
from twisted.web.http import HTTPFactory

from sandbox.localstack_ext.patches import twisted_access_log

twisted_access_log.apply()


class CountingFormatter:
    def __init__(self):
        self.lines = 0

    def __call__(self, timestamp, request):
        self.lines += 1
        return "a line"


def test_a_factory_without_log_path_formats_nothing():
    formatter = CountingFormatter()
    factory = HTTPFactory(logFormatter=formatter)
    factory.startFactory()
    try:
        factory.log(object())
        assert formatter.lines == 0
    finally:
        factory.stopFactory()


def test_a_factory_with_a_log_path_keeps_writing_its_lines(tmp_path):
    formatter = CountingFormatter()
    path = tmp_path / "access.log"
    factory = HTTPFactory(logPath=str(path), logFormatter=formatter)
    factory.startFactory()
    try:
        factory.log(object())
    finally:
        factory.stopFactory()
    assert formatter.lines == 1
    assert path.read_text() == "a line\n"


def test_unpatched_twisted_formats_the_line_the_patch_drops():
    """What the patch removes: twisted's own `HTTPFactory.log`, on the same started factory, formats the line."""
    formatter = CountingFormatter()
    factory = HTTPFactory(logFormatter=formatter)
    factory.startFactory()
    try:
        assert factory._logFile is log.logfile
        HTTPFactory.log.__wrapped__(factory, object())
        assert formatter.lines == 1
    finally:
        factory.stopFactory()
