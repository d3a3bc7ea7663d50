"""The instructor's board as data: one row per attendee, one cell per task, and how long each is stuck.

Reports carry results only (task ids, passed, when): never messages, code or payloads, which may hold an attendee's
data. A report is validated against the lab catalog, so a row can only ever show known labs and tasks.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

NAME = re.compile(r"^[\w .@'-]{1,40}$")


class ReportError(ValueError):
    """A report the board cannot take; the message goes back to the attendee."""


@dataclass
class Attendee:
    name: str
    lab: str
    tasks: tuple[str, ...]
    passed: dict[str, float] = field(default_factory=dict)  # task -> when it first passed
    failed: dict[str, float] = field(default_factory=dict)  # task -> when it last failed
    reached: dict[str, float] = field(default_factory=dict)  # task -> when it became the one to do
    last_report: float = 0.0

    def current(self) -> str | None:
        return next((t for t in self.tasks if t not in self.passed), None)


class Board:
    """Thread-safe: the host's request threads record, the TUI reads `snapshot`."""

    def __init__(self, labs: dict[str, tuple[str, ...]], clock: Callable[[], float] = time.time):
        self.labs = labs  # lab id -> its task ids, in order (the catalog)
        self.clock = clock
        self.attendees: dict[str, Attendee] = {}
        self._lock = threading.Lock()
        self.listeners: list[Callable[[], None]] = []

    def record(self, report: dict) -> dict:
        """Takes one attendee's report ({name, lab, results: [{task, passed, at}]}); returns what it recorded."""
        name, lab, results = _validate(report, self.labs)
        now = self.clock()
        with self._lock:
            attendee = self.attendees.get(name)
            if attendee is None or attendee.lab != lab:
                attendee = self.attendees[name] = Attendee(name, lab, self.labs[lab])
                attendee.reached[attendee.tasks[0]] = now
            for result in results:
                task, at = result["task"], min(float(result.get("at") or now), now)
                if result["passed"]:
                    attendee.passed.setdefault(task, at)
                    attendee.failed.pop(task, None)
                else:
                    attendee.passed.pop(task, None)  # a task can break again (a later edit undid it)
                    attendee.failed[task] = at
            current = attendee.current()
            if current is not None:
                attendee.reached.setdefault(current, now)
            attendee.last_report = now
        for listener in list(self.listeners):
            listener()
        return {"name": name, "lab": lab, "recorded": len(results)}

    def snapshot(self) -> dict:
        """What the board screen draws: the widest lab's number of task columns and a row per attendee."""
        now = self.clock()
        with self._lock:
            rows = []
            for attendee in sorted(self.attendees.values(), key=lambda a: a.name.lower()):
                current = attendee.current()
                cells = []
                for task in attendee.tasks:
                    if task in attendee.passed:
                        cells.append({"task": task, "state": "passed"})
                    elif task == current:
                        cells.append({"task": task, "state": "failed" if task in attendee.failed else "working",
                                      "stuck": now - attendee.reached.get(task, now)})
                    else:
                        cells.append({"task": task, "state": "todo"})
                rows.append({"name": attendee.name, "lab": attendee.lab, "cells": cells,
                             "done": len(attendee.passed), "total": len(attendee.tasks),
                             "last_report": now - attendee.last_report})
            return {"columns": max((len(t) for t in {a.lab: a.tasks for a in self.attendees.values()}.values()),
                                   default=0), "rows": rows}


def _validate(report, labs: dict[str, tuple[str, ...]]) -> tuple[str, str, list[dict]]:
    if not isinstance(report, dict):
        raise ReportError("a report is a JSON object: {name, lab, results}")
    name, lab, results = report.get("name"), report.get("lab"), report.get("results")
    if not isinstance(name, str) or not NAME.match(name.strip()):
        raise ReportError("the name must be 1 to 40 letters, digits, spaces or . @ ' - (`--name`)")
    if lab not in labs:
        raise ReportError(f"unknown lab {lab!r}: the host knows {', '.join(labs)} (is its sandbox the same version?)")
    if not isinstance(results, list) or len(results) > len(labs[lab]):
        raise ReportError("results must be a list with at most one entry per task")
    clean = []
    for result in results:
        if not isinstance(result, dict) or result.get("task") not in labs[lab] or \
                not isinstance(result.get("passed"), bool) or not isinstance(result.get("at", 0), (int, float)):
            raise ReportError(f"a result is {{task, passed, at}} with a task of lab {lab}: {', '.join(labs[lab])}")
        clean.append({"task": result["task"], "passed": result["passed"], "at": result.get("at")})
    return name.strip(), lab, clean
