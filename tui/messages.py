"""Messages the TUI's parts send each other: the app and its panes react to these, not to callbacks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class BackendReady(Message):
    """The backend answers (the embedded sandbox started, or was already running, or a recording loaded)."""

    detail: str


@dataclass
class BackendFailed(Message):
    error: str


@dataclass
class StartupProgress(Message):
    lines: list[str]


@dataclass
class ScenarioEvents(Message):
    """A batch of scenario runner events (at most 10 batches a second)."""

    events: list[dict]


@dataclass
class SpansArrived(Message):
    spans: list[dict]


@dataclass
class LogLinesArrived(Message):
    lines: list[Any]
