"""A deploy or destroy started from the Patterns screen: its log lines, the resources' statuses, its outcome.

Progress arrives as dicts from the backend (a stack event, or a message line) in batches on the UI thread;
`apply` turns each into a log line and remembers the resource's latest status, which the diagram shows on the
resource's box while the stack is being built (and for a few seconds after).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.text import Text

STATUS_HOLD_SECONDS = 4.0   # the boxes keep their created/failed colours this long after the end
LOG_HOLD_SECONDS = 6.0      # a successful operation's log stays open this long after the end


@dataclass
class Operation:
    kind: str                   # "deploy" or "destroy"
    pattern: str
    started: float = field(default_factory=time.monotonic)
    running: bool = True
    finished: float | None = None
    error: str | None = None
    summary: str = ""
    events: int = 0
    lines: list[Text] = field(default_factory=list)
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)  # stack -> logical id -> status

    def apply(self, item: dict) -> Text:
        stamp = time.strftime("%H:%M:%S")
        line = Text(f"{stamp} ", style="dim")
        stack = str(item.get("stack", ""))
        if "message" in item:
            line.append(str(item["message"]), style="bold")
        else:
            self.events += 1
            status = str(item.get("status", ""))
            self.statuses.setdefault(stack, {})[str(item.get("logical_id"))] = status
            style = "red" if status.endswith("FAILED") else "green" if status.endswith("COMPLETE") else "yellow"
            if stack != self.pattern:
                line.append(f"{stack}: ", style="dim")
            line.append(f"{item.get('logical_id')}", style="bold")
            line.append(f"  {item.get('type', '')}  ", style="dim")
            line.append(status, style=style)
            if item.get("reason"):
                line.append(f"  {item['reason']}", style="red" if status.endswith("FAILED") else "dim")
        self.lines.append(line)
        return line

    def finish(self, error: str | None, summary: str) -> Text:
        self.running, self.finished, self.error, self.summary = False, time.monotonic(), error, summary
        if self.kind == "destroy" and not error:
            self.statuses.clear()  # the boxes are gone: nothing left to colour
        line = Text(time.strftime("%H:%M:%S "), style="dim")
        line.append(error or summary, style="bold red" if error else "bold green")
        self.lines.append(line)
        return line

    def statuses_now(self, stack: str, now: float) -> dict[str, str]:
        """The statuses to draw on the stack's boxes: while running and a little after."""
        if self.running or (self.finished is not None and now - self.finished < STATUS_HOLD_SECONDS):
            return self.statuses.get(stack, {})
        return {}

    def log_open(self, now: float) -> bool:
        return self.running or self.error is not None or (
            self.finished is not None and now - self.finished < LOG_HOLD_SECONDS)

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started
