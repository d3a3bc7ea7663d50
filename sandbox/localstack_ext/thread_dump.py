"""What a LocalStack that does not stop was doing, in its log.

`sandbox down` sends SIGTERM and, after a grace period, SIGKILL. A kill leaves no trace of why LocalStack hung, so
before it `down` writes a banner into LocalStack's log and sends THREAD_DUMP_SIGNAL: Python's faulthandler writes
every thread's stack to LocalStack's stderr, which is that log (`localstack.log` in the state dir). faulthandler
answers from its C signal handler, so the dump comes even when no Python code can run (during the interpreter's
exit, or a thread holding the GIL in C). The same signal works on a running sandbox (`kill -USR2 <pid>`) and does
not stop it.

Imported by the CLI process too (embedded.py), so it imports nothing of LocalStack.
"""

import faulthandler
import signal
import sys

THREAD_DUMP_SIGNAL = signal.SIGUSR2
BANNER = "--- sandbox down: LocalStack did not stop within {grace:.0f} s; its threads (SIGUSR2) ---"


def install() -> None:
    """Registers the dump for the whole life of the LocalStack process."""
    faulthandler.register(THREAD_DUMP_SIGNAL, file=sys.stderr, all_threads=True)
