"""The shared timer that replaces a thread per warm invocation (patches/lambda_keepalive_timers.py)."""

from __future__ import annotations

import threading

from sandbox.localstack_ext.patches import lambda_keepalive_timers as timers


def test_a_timer_fires_once_and_a_cancelled_one_never():
    fired, cancelled_fired = threading.Event(), threading.Event()
    keep = timers.SharedTimer(0.05, fired.set)
    drop = timers.SharedTimer(0.05, cancelled_fired.set)
    keep.start()
    drop.start()
    drop.cancel()
    assert fired.wait(5), "the timer never fired"
    assert keep.finished.wait(5) and not keep.is_alive()
    assert not cancelled_fired.wait(0.3)


def test_timers_cancelled_at_each_invocation_do_not_pile_up():
    """A warm function arms a 10-minute keep-alive and cancels it at the next call, thousands of times."""
    for _ in range(5000):
        timer = timers.SharedTimer(600, lambda: None)
        timer.start()
        timer.cancel()
    assert len(timers._CLOCK._heap) < 200


def test_the_patch_gives_execution_environments_the_shared_timer():
    from localstack.services.lambda_.invocation import execution_environment

    original = execution_environment.Timer
    try:
        timers.apply()
        assert execution_environment.Timer is timers.SharedTimer
    finally:
        execution_environment.Timer = original
