"""What a waiting event source mapping poller waits on: its mapping's stop, and (SQS) a wake-up.

`localstack.services.lambda_.event_source_mapping.esm_worker.EsmWorker.stop`, `delete` and `stop_for_shutdown` set
the worker's own shutdown event, which a poller inside `poll_events` never sees. So:
- `stopped(poller)` is that event, handed to the poller when its worker is made: a wait that only has to end when
  the mapping stops waits on it (stream_esm_idle_wait's pause after an empty round, sqs_esm_concurrency's throttle
  back-off and slot wait). It stays set until the mapping is enabled again (`EsmWorker.start` clears it).
- `wake_event(poller)` is the poller's own event, for a wait that other things end too (sqs_esm_wake_on_message: an
  idle SQS mapping waits for a message); a stop sets it as well. Its owner clears it before it waits.
The worker's methods are wrapped once, whichever patch installs first."""

from __future__ import annotations

import threading

KEY = "_sandbox_wake"
STOPPED = "_sandbox_stopped"


def wake_event(poller) -> threading.Event:
    """The poller's own wake-up event (made on first use)."""
    event = poller.__dict__.get(KEY)
    if event is None:
        event = poller.__dict__[KEY] = threading.Event()
    return event


def stopped(poller) -> threading.Event | None:
    """Set while the poller's mapping is stopped, deleted or LocalStack stops (its worker's shutdown event); None for
    a poller no worker was made for since install()."""
    return poller.__dict__.get(STOPPED)


def install() -> None:
    """Hands each worker's shutdown event to its poller and wraps the worker's stop, delete and stop_for_shutdown to
    set its poller's wake-up event (idempotent)."""
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker

    if getattr(EsmWorker.stop, "_sandbox_wake", False):
        return
    original_init = EsmWorker.__init__

    def __init__(self, esm_config, poller, *args, **kwargs):
        original_init(self, esm_config, poller, *args, **kwargs)
        poller.__dict__[STOPPED] = self._shutdown_event

    EsmWorker.__init__ = __init__
    for name in ("stop", "delete", "stop_for_shutdown"):
        def stop(self, _original=getattr(EsmWorker, name)):
            _original(self)  # sets the worker's shutdown event first: the woken loop then ends
            event = getattr(getattr(self, "poller", None), "__dict__", {}).get(KEY)
            if event is not None:
                event.set()

        stop._sandbox_wake = True
        setattr(EsmWorker, name, stop)
