"""What a lab is, as data: its tasks (from lab.md), and what a check says about one.

Results are plain data (`CheckResult.as_dict`) so the CLI, a TUI tab and an instructor's board can show the same
thing without running a check themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.errors import SandboxError


class LabError(SandboxError):
    """Something the attendee (or a lab's author) can fix: the message says what and how."""


class CheckFailed(Exception):
    """Raised by a check: what is still wrong, in the attendee's words, and the numbers behind it."""

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    body: str  # Markdown: what to do
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lab:
    id: str
    title: str
    intro: str  # Markdown before the first task
    tasks: tuple[Task, ...]
    folder: Path
    checks: dict[str, Callable] = field(default_factory=dict, compare=False, repr=False)
    # tasks whose solution is something to do (calls to make, answers to write), not only files to change
    solvers: dict[str, Callable] = field(default_factory=dict, compare=False, repr=False)
    setup: Callable | None = field(default=None, compare=False, repr=False)  # the situation the lab starts in
    pattern: str = ""  # the pattern the lab is built on (for the catalog)
    stack: str = ""  # the stack the workspace is deployed as

    @property
    def starter(self) -> Path:
        return self.folder / "starter"

    def solution(self, task_id: str) -> Path:
        """The files as they are once `task_id` is done (only those the task changes)."""
        return self.folder / "solution" / task_id

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise LabError(f"lab {self.id} has no task {task_id!r}. Valid: {', '.join(t.id for t in self.tasks)}")

    def tasks_through(self, task_id: str) -> list[Task]:
        """The task and those before it: the tasks build on each other."""
        index = [t.id for t in self.tasks].index(self.task(task_id).id)
        return list(self.tasks[:index + 1])

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "pattern": self.pattern, "stack": self.stack,
                "tasks": [{"id": t.id, "title": t.title, "hints": len(t.hints)} for t in self.tasks]}


@dataclass
class CheckResult:
    task_id: str
    title: str
    passed: bool
    message: str
    details: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"task": self.task_id, "title": self.title, "passed": self.passed, "message": self.message,
                "details": self.details, "seconds": round(self.seconds, 2)}
