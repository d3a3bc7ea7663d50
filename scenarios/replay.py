"""Plays back a recorded run (`.sandbox/runs/*.jsonl`) with no LocalStack: same events, same reports."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from scenarios.runner import Report


class ReplayError(Exception):
    pass


def read_events(path: str | Path) -> Iterator[dict]:
    path = Path(path)
    if not path.is_file():
        raise ReplayError(f"no recording at {path} (recordings are in .sandbox/runs/)")
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                raise ReplayError(f"{path}:{number} is not a JSON line: the recording is damaged") from None


def replay(path: str | Path, listener: Callable[[dict], None] | None = None, speed: float = 0) -> list[Report]:
    """Re-emits every event; `speed` > 0 keeps the original pacing divided by it (0 = as fast as possible)."""
    reports = []
    previous = None
    for event in read_events(path):
        if speed and previous is not None and "ts" in event:
            time.sleep(max(0.0, (event["ts"] - previous) / speed))
        previous = event.get("ts", previous)
        if listener:
            listener(event)
        if event.get("type") == "report":
            reports.append(Report.from_dict(event["report"]))
    if not reports:
        raise ReplayError(f"{path} holds no report: the run did not finish")
    return reports
