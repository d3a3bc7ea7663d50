"""Ctrl-C, SIGTERM and SIGHUP (terminal closed) while the sandbox starts processes: none may be left behind.

A terminal's Ctrl-C reaches the whole foreground process group (`uv run` and the `sandbox` CLI alike; `uv` may also
forward it once more), at any moment: in the middle of `subprocess.Popen` - the child forked but not recorded yet -
or of the clean-up after the first one. So while `interruptible()` is active:

- the first of these signals raises `Interrupted` (a KeyboardInterrupt: code that catches Ctrl-C catches it too),
  except inside `shielded()` - the few lines that start a process and record it - where it is held until the block
  ends;
- every later one is ignored: the clean-up that the first one started runs to its end.

Only the standard library here: the `sandbox` command imports this before anything slow (sandbox/entry.py).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


class Interrupted(KeyboardInterrupt):
    """A signal asked the process to stop; `exit_code` is the shell's convention (130 for Ctrl-C)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def what(self) -> str:
        return {signal.SIGINT: "Interrupted", signal.SIGTERM: "Terminated"}.get(self.signum, "Hung up")


class _State:
    active = 0  # interruptible() depth
    shield = 0  # shielded() depth
    pending: int | None = None  # the signal that arrived, once one did
    raised = False


_state = _State()


def _handler(signum, frame):
    if _state.pending is not None:
        return  # a clean-up is under way: let it finish
    _state.pending = signum
    if _state.shield == 0:
        _state.raised = True
        raise Interrupted(signum)


@contextmanager
def interruptible():
    """SIGINT/SIGTERM/SIGHUP raise `Interrupted` once within this block (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread() or _state.active:
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    _state.active, _state.pending, _state.raised = 1, None, False
    try:
        yield
    finally:
        _state.active = 0
        for s, h in previous.items():
            signal.signal(s, h)


def ignore_from_now_on() -> None:
    """For the last words of an interrupted command: a second Ctrl-C must not turn them into a traceback."""
    if threading.current_thread() is threading.main_thread():
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)


@contextmanager
def shielded():
    """A signal that arrives inside this block is raised when it ends (start a process and record it here)."""
    _state.shield += 1
    try:
        yield
    finally:
        _state.shield -= 1
        if _state.shield == 0 and _state.pending is not None and not _state.raised and _state.active:
            _state.raised = True
            raise Interrupted(_state.pending)
