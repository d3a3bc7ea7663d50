"""What a LocalStack that does not stop was doing, in its log.

`sandbox down` sends SIGTERM and, after a grace period, SIGKILL. A kill leaves no trace of why LocalStack hung, so
before it `down` writes a banner into LocalStack's log and asks for two dumps, which go to LocalStack's stderr (that
log, `localstack.log` in the state dir):

- THREAD_DUMP_SIGNAL (SIGUSR2): every thread, with its name, from a Python handler (in the main thread, as soon as
  it runs Python again: it does while the interpreter's exit waits for threads, and the gateway's main loop wakes
  four times a second). Safe: it reads the frames holding the GIL. `kill -USR2 <pid>` on a running sandbox.
- then FAULT_DUMP_SIGNAL (SIGUSR1): faulthandler's, from its C signal handler. It comes even when no Python code can
  run (a thread holding the GIL in C), but shows at most 100 threads, newest first, and reads the other threads'
  frames while they run: it crashed a busy LocalStack now and then (a segfault in libpython, ninth round), which is
  why it is sent only right before the kill, and not on SIGUSR2 any more.

Imported by the CLI process too (embedded.py), so it imports nothing of LocalStack.
"""

import faulthandler
import signal
import sys
import threading
import traceback

THREAD_DUMP_SIGNAL = signal.SIGUSR2
FAULT_DUMP_SIGNAL = signal.SIGUSR1
FAULT_MARK = "(most recent call first)"  # faulthandler's thread headers (the named dump's say "call last")
BANNER = "--- sandbox down: LocalStack did not stop within {grace:.0f} s; its threads (SIGUSR2) ---"
NAMED_MARK = "--- every thread of LocalStack, with its name"  # begins the second dump (embedded.py waits for it)
NAMED_HEADER = NAMED_MARK + " ({count} threads) ---"


def named_stacks() -> str:
    """Every thread's stack under its name (threading's), without faulthandler's limit of 100 threads."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    frames = sys._current_frames()
    out = [NAMED_HEADER.format(count=len(frames))]
    for ident, frame in frames.items():
        out.append(f'\nThread {ident:#x} "{names.get(ident, "?")}" (most recent call last):')
        out.extend(line.rstrip("\n") for line in traceback.format_stack(frame))
    return "\n".join(out) + "\n"


def install() -> None:
    """Registers both dumps for the whole life of the LocalStack process."""
    stream = sys.stderr

    def write_named_stacks(signum, frame):  # noqa: ARG001 - a signal handler's signature
        stream.write(named_stacks())
        stream.flush()

    signal.signal(THREAD_DUMP_SIGNAL, write_named_stacks)
    faulthandler.register(FAULT_DUMP_SIGNAL, file=stream, all_threads=True)
