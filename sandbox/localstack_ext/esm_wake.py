"""A poller's wake-up event: what a waiting event source mapping poller waits on, set when its mapping's worker stops,
is deleted or LocalStack stops (`localstack.services.lambda_.event_source_mapping.esm_worker.EsmWorker.stop`,
`delete`, `stop_for_shutdown` set the worker's own event, which a poller inside `poll_events` never sees).

Shared by the patches whose pollers wait: sqs_esm_wake_on_message (an idle SQS mapping waits for a message) and
stream_esm_idle_wait (a stream mapping pauses after an empty round). The worker's methods are wrapped once."""

from __future__ import annotations

import threading

KEY = "_sandbox_wake"


def wake_event(poller) -> threading.Event:
    """The poller's own wake-up event (made on first use)."""
    event = poller.__dict__.get(KEY)
    if event is None:
        event = poller.__dict__[KEY] = threading.Event()
    return event


def install() -> None:
    """Wraps the worker's stop, delete and stop_for_shutdown to set its poller's event (idempotent)."""
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker

    if getattr(EsmWorker.stop, "_sandbox_wake", False):
        return
    for name in ("stop", "delete", "stop_for_shutdown"):
        def stop(self, _original=getattr(EsmWorker, name)):
            _original(self)  # sets the worker's shutdown event first: the woken loop then ends
            event = getattr(getattr(self, "poller", None), "__dict__", {}).get(KEY)
            if event is not None:
                event.set()

        stop._sandbox_wake = True
        setattr(EsmWorker, name, stop)
