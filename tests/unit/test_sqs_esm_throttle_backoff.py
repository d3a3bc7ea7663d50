"""sqs_esm_concurrency's back-off on throttles: what doubles, what starts it over, what counts as a throttle."""

from botocore.exceptions import ClientError

from sandbox.localstack_ext.patches import sqs_esm_concurrency as patch


def test_each_throttle_of_a_streak_doubles_the_wait_up_to_its_cap():
    backoff = patch.ThrottleBackoff()
    waits = [backoff.next_wait(100.0 + i * 0.1) for i in range(7)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_a_quiet_spell_starts_the_back_off_over():
    backoff = patch.ThrottleBackoff()
    assert [backoff.next_wait(t) for t in (0.0, 1.0, 2.0)] == [0.5, 1.0, 2.0]
    assert backoff.next_wait(2.0 + patch.THROTTLE_QUIET + 0.1) == 0.5  # no throttle for THROTTLE_QUIET
    assert backoff.next_wait(2.0 + patch.THROTTLE_QUIET + 0.2) == 1.0


def test_only_a_429_from_invoke_counts_as_a_throttle():
    def error(code):
        return ClientError({"Error": {"Code": code, "Message": "x"}}, "Invoke")

    assert patch.throttled(error("TooManyRequestsException"))
    assert not patch.throttled(error("ResourceNotFoundException"))
    assert not patch.throttled(RuntimeError("a function error"))


def test_no_retry_when_the_queue_or_function_is_gone():
    assert patch.retry_window("arn:aws:sqs:us-east-1:000000000000:gone", "arn:aws:lambda:us-east-1:000000000000:"
                                                                         "function:gone") == 0.0


def test_a_throttle_streak_that_never_ends_keeps_waiting_the_cap():
    """Throttled for half an hour without a quiet spell: the wait stays at its cap (0.5 * 2**1024 overflowed, and
    every later throttle then dropped its batch at once)."""
    backoff = patch.ThrottleBackoff()
    assert {backoff.next_wait(i * 1.0) for i in range(2000)} >= {patch.THROTTLE_BACKOFF_MAX}
    assert backoff.next_wait(2000.0) == patch.THROTTLE_BACKOFF_MAX


def test_a_batch_waiting_to_retry_goes_when_an_invocation_ends_or_stops_with_its_mapping():
    import threading
    import time

    backoff, stopped = patch.ThrottleBackoff(), threading.Event()
    woken = []
    waiter = threading.Thread(target=lambda: woken.append((backoff.wait_freed(30, stopped), time.monotonic())))
    waiter.start()
    time.sleep(0.1)
    freed_at = time.monotonic()
    backoff.freed()
    waiter.join(5)
    assert woken and woken[0][0] is True and woken[0][1] - freed_at < 1  # not the 30 s of its back-off

    assert backoff.wait_freed(0.05, stopped) is True  # the back-off ran out: retry
    stopper = threading.Timer(0.1, stopped.set)
    stopper.start()
    assert backoff.wait_freed(30, stopped) is False  # the mapping stopped: no retry


def test_an_invocation_that_ended_before_the_wait_is_taken_by_the_next_waiter_only():
    """Ended while a throttled batch looked up its window: that batch still goes at once (the wake-up was lost), and
    the one after it waits (one freed environment, one retry)."""
    import threading
    import time

    backoff, stopped = patch.ThrottleBackoff(), threading.Event()
    backoff.freed()
    started = time.monotonic()
    assert backoff.wait_freed(30, stopped) is True and time.monotonic() - started < 1
    started = time.monotonic()
    assert backoff.wait_freed(0.3, stopped) is True and time.monotonic() - started >= 0.29  # its back-off, not a wake
