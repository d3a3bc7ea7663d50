"""Batched hand-over from worker threads to the UI: at most `hz` UI updates a second, however fast events come.

A worker calls `put`/`extend` (thread-safe, never blocks); a timer on the UI thread drains the buffer and posts
one message with the whole batch to the target, which handles it like any other message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

DEFAULT_HZ = 10


class Pump:
    def __init__(self, target: MessagePump, make_message: Callable[[list], Message], hz: float = DEFAULT_HZ,
                 max_batch: int | None = None):
        self.target = target
        self.make_message = make_message
        self.interval = 1 / hz
        self.max_batch = max_batch
        self._items: list[Any] = []
        self._lock = threading.Lock()
        self._timer = None

    def start(self) -> "Pump":
        if self._timer is None:
            self._timer = self.target.set_interval(self.interval, self.drain, name="pump")
        return self

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def put(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)

    def extend(self, items: Iterable[Any]) -> None:
        with self._lock:
            self._items.extend(items)

    def pending(self) -> int:
        with self._lock:
            return len(self._items)

    def drain(self) -> None:
        """On the UI thread: one message with what has accumulated (up to max_batch; the rest next tick)."""
        with self._lock:
            if not self._items:
                return
            if self.max_batch and len(self._items) > self.max_batch:
                batch, self._items = self._items[:self.max_batch], self._items[self.max_batch:]
            else:
                batch, self._items = self._items, []
        self.target.post_message(self.make_message(batch))
