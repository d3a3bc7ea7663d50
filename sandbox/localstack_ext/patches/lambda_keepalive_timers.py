"""Every warm invocation started a thread: the environment's keep-alive timer.

localstack/services/lambda_/invocation/execution_environment.py `ExecutionEnvironment.release` creates a new
`threading.Timer` (a thread) after every invocation, to stop the environment when it stays idle for
LAMBDA_KEEPALIVE_MS, and `reserve` cancels it at the next invocation. Thread creation was about 3 % of
LocalStack's CPU in a warm invoke loop (py-spy). Here the module's `Timer` is one shared timer thread with a heap
of deadlines: `start` and `cancel` are a heap push and a flag. What runs when a deadline passes (stopping an
environment, or a startup timeout) runs on a thread of its own, as with threading.Timer.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time

TARGET = "localstack.services.lambda_.invocation.execution_environment"


class _Clock:
    """One daemon thread that fires due timers."""

    def __init__(self):
        self._heap: list[tuple[float, int, SharedTimer]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._cancelled = 0  # timers in the heap that were cancelled

    def add(self, timer: "SharedTimer") -> None:
        with self._wake:
            if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
                # a warm function cancels one timer per invocation: drop them before they pile up
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0
            heapq.heappush(self._heap, (time.monotonic() + timer.interval, next(self._order), timer))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lambda-shared-timers", daemon=True)
                self._thread.start()
            self._wake.notify()

    def cancelled(self) -> None:
        with self._wake:
            self._cancelled += 1

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)  # cancelled at the next invocation: the usual case
                    self._cancelled = max(0, self._cancelled - 1)
                if not self._heap:
                    self._wake.wait()
                    continue
                due, _, timer = self._heap[0]
                now = time.monotonic()
                if due > now:
                    self._wake.wait(due - now)
                    continue
                heapq.heappop(self._heap)
            threading.Thread(target=timer.fire, name="lambda-timer", daemon=True).start()


_CLOCK = _Clock()


class SharedTimer:
    """What execution_environment uses of threading.Timer: Timer(interval, function), start(), cancel()."""

    def __init__(self, interval: float, function, args=None, kwargs=None):
        self.interval = float(interval)
        self.function, self.args, self.kwargs = function, args or [], kwargs or {}
        self.cancelled = False
        self.finished = threading.Event()

    def start(self) -> None:
        _CLOCK.add(self)

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            _CLOCK.cancelled()

    def fire(self) -> None:
        if not self.cancelled:
            self.function(*self.args, **self.kwargs)
        self.finished.set()

    def is_alive(self) -> bool:
        return not self.finished.is_set() and not self.cancelled


def apply() -> None:
    from localstack.services.lambda_.invocation import execution_environment

    execution_environment.Timer = SharedTimer
