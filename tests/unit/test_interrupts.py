"""sandbox/interrupts.py: Ctrl-C/SIGTERM/SIGHUP during `sandbox up` raise once, never inside a shielded block (a
process started but not yet recorded), and never again during the clean-up they started."""

import os
import signal

import pytest

from sandbox.interrupts import Interrupted, interruptible, shielded


def deliver(sig: int) -> None:
    os.kill(os.getpid(), sig)
    for _ in range(1000):  # Python runs the handler between bytecodes, right after the kill returns
        pass


def test_a_signal_inside_shielded_is_raised_when_the_block_ends():
    # what was there before (Python's default_int_handler; SIG_IGN where pytest was started in the background)
    before = signal.getsignal(signal.SIGINT)
    steps = []
    with pytest.raises(Interrupted) as raised:
        with interruptible():
            with shielded():
                deliver(signal.SIGINT)
                steps.append("recorded the process")
            steps.append("after the block")
    assert steps == ["recorded the process"]
    assert raised.value.signum == signal.SIGINT and raised.value.exit_code == 130
    assert raised.value.what == "Interrupted"
    assert signal.getsignal(signal.SIGINT) is before  # the previous handlers are back


def test_repeated_signals_do_not_interrupt_the_clean_up():
    cleaned = False
    with interruptible():
        try:
            deliver(signal.SIGTERM)
            pytest.fail("not interrupted")
        except Interrupted as e:
            assert e.exit_code == 143 and e.what == "Terminated"
            deliver(signal.SIGINT)  # a second Ctrl-C (or `uv run` passing it on) while cleaning up: ignored
            deliver(signal.SIGHUP)
            cleaned = True
    assert cleaned
    assert isinstance(Interrupted(signal.SIGHUP), KeyboardInterrupt)  # code that catches Ctrl-C catches these too
