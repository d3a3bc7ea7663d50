"""Plays back a recorded run (`.sandbox/runs/*.jsonl`) with no LocalStack: same events, same reports."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from scenarios import events as ev
from scenarios.report import Report


class ReplayError(Exception):
    pass


def read_events(path: str | Path) -> Iterator[ev.Event]:
    """The events of a recording, typed (format version 1 or 2; see scenarios/events.py)."""
    path = Path(path)
    if not path.is_file():
        raise ReplayError(f"no recording at {path} (recordings are in .sandbox/runs/)")
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ReplayError(f"{path}:{number} is not UTF-8 text: this is not a recording of a run "
                                  "(recordings are the .jsonl files in .sandbox/runs/)") from None
            if not line.strip():
                continue
            try:
                event = ev.from_dict(json.loads(line))
            except ValueError as e:
                raise ReplayError(f"{path}:{number} is not an event of a recording ({e}): the recording is damaged, "
                                  "or was written by a newer sandbox") from None
            if isinstance(event, ev.RecordingStarted):
                if event.version > ev.FORMAT_VERSION:
                    raise ReplayError(f"{path} is a recording of format {event.version}; this sandbox reads up to "
                                      f"{ev.FORMAT_VERSION}: update it (`uv sync`)")
                continue
            yield event


def replay(path: str | Path, listener: Callable[[ev.Event], None] | None = None, speed: float = 0) -> list[Report]:
    """Re-emits every event; `speed` > 0 keeps the original pacing divided by it (0 = as fast as possible)."""
    reports = []
    previous = None
    for event in read_events(path):
        if speed and previous is not None:
            time.sleep(max(0.0, (event.ts - previous) / speed))
        previous = event.ts
        if listener:
            listener(event)
        if isinstance(event, ev.ReportReady):
            reports.append(event.report)
    if not reports:
        raise ReplayError(f"{path} holds no report: the run did not finish")
    return reports
