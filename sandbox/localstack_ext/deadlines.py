"""A synchronous call its caller stops waiting for at a deadline, while the call itself runs on.

API Gateway stops waiting for an integration at its timeout (REST APIs: the integration's `timeoutInMillis`, 29 s
unless set; HTTP APIs: 30 s unless set) and answers 504 / 503, while the Lambda function it called runs on to its
own timeout: the classic trap of a synchronous chain whose function's timeout is longer than the API's. LocalStack
2026.3.0 waited for the function however long it took (REST:
`localstack/services/apigateway/next_gen/execute_api/handlers/integration.py`, its HTTP integration's
"TODO: configurable timeout"; the sandbox's own HTTP API gateway waited too). Used by patch
`apigateway_integration_timeout` and sandbox/http_api/engine/gateway.py.

The call runs in a thread of its own (a daemon: a function still running when LocalStack stops does not hold it),
bound to the recorder's span of the request, so what it calls is still traced as caused by the API request.
"""

from __future__ import annotations

import logging
import threading

LOG = logging.getLogger(__name__)


class DeadlineExceeded(Exception):
    """The call did not return within its deadline (it goes on; what it returns or raises later is dropped)."""


def call_within(seconds: float, fn, *args, **kwargs):
    """fn(*args, **kwargs), if it returns or raises within `seconds`; else DeadlineExceeded."""
    from sandbox.observability.engine import propagation

    outcome: dict = {}
    done, given_up = threading.Event(), threading.Event()

    def run() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the caller as raised
            outcome["error"] = e
            if given_up.is_set():  # nobody waits for it any more: said here, or it would leave no trace
                LOG.info("a call given up on at its deadline (%g s) failed later: %r", seconds, e)
        finally:
            done.set()

    threading.Thread(target=propagation.carrying(run, propagation.current()), name="sandbox-integration-call",
                     daemon=True).start()
    if not done.wait(seconds):
        given_up.set()
        raise DeadlineExceeded(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
