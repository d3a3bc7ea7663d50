"""twisted's access log line is no longer formatted for every HTTP request only to be dropped (speed).

twisted/web/http.py `HTTPFactory.log` formats a combined-log-format line for each request that LocalStack's
`TwistedGateway` (a `twisted.web.server.Site`) serves, and writes it to `twisted.python.log.logfile` when no
`logPath` was given, as LocalStack gives none. Nobody begins twisted's logging in LocalStack, so the line goes to
twisted's start-up buffer (the last 200 events) and a stderr observer that only lets critical events through: it
is never seen. A cProfile of a media-pipeline drain counted one per HTTP request, ~1 % of LocalStack's profile
(2026-12-06). LocalStack's own request log (`SANDBOX_LOG_REQUESTS=1`) is not this one and is unchanged. A factory
given a `logPath` (or a `logFile` of its own) keeps writing it. Were twisted's logging ever started, these lines
would still be dropped: nothing in LocalStack, rolo or the sandbox starts it.
"""

from __future__ import annotations

TARGET = "twisted.web.http"


def apply() -> None:
    from twisted.python import log
    from twisted.web.http import HTTPFactory

    if getattr(HTTPFactory, "_sandbox_quiet_access_log", False):
        return
    log_request = HTTPFactory.log

    def log_unless_dropped(self, request) -> None:
        # the check is made per request, so a factory started before this patch is covered too
        if not self.logPath and self._logFile is log.logfile:
            return
        log_request(self, request)

    log_unless_dropped.__wrapped__ = log_request
    HTTPFactory.log = log_unless_dropped
    HTTPFactory._sandbox_quiet_access_log = True
