"""A trace as a waterfall: one row per span, indented under its parent, a bar on the trace's time line."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from tui.format import span_outcome, span_what

LABEL_WIDTH = 34
MS_WIDTH = 9


class Waterfall(Static):
    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.trace: dict | None = None

    def show(self, trace: dict | None, message: str | None = None) -> None:
        self.trace = trace
        self._message = message
        self.update(self._render_trace())

    def on_resize(self) -> None:
        if self.trace is not None:
            self.update(self._render_trace())

    def _render_trace(self):
        trace = self.trace
        if trace is None:
            return Text(getattr(self, "_message", None) or "Select an event (enter) to see its trace.", style="dim")
        spans = trace.get("spans") or []
        start = trace.get("start") or 0
        total = max(float(trace.get("duration_ms") or 0), 0.001)
        width = max(self.size.width, 60)
        label_width = max(LABEL_WIDTH, min(48, int(width * 0.4)))
        bar_width = max(10, width - label_width - MS_WIDTH - 8 - 3)
        title = Text()
        title.append(f"trace {trace.get('trace_id')}", style="bold")
        title.append(f"  ·  {len(spans)} spans  ·  {total:.1f} ms  ·  ", style="dim")
        errors = trace.get("errors", 0)
        title.append(f"{errors} error(s)", style="bold red" if errors else "dim")
        if trace.get("orphans"):
            title.append(f"  ·  {len(trace['orphans'])} orphan(s) shown at the top level", style="yellow")
        rows = [title]
        for span in spans:
            depth = span.get("depth", 0)
            offset = ((span.get("ts") or start) - start) * 1000
            left = min(int(offset / total * bar_width), bar_width - 1)
            size = max(1, int(round((span.get("duration_ms") or 0) / total * bar_width)))
            size = min(size, bar_width - left)
            style = "red" if span.get("error") else "yellow" if span.get("kind") == "hop" else "cyan"
            label = Text("  " * depth + ("└ " if depth else ""))
            label.append(span_what(span), style="dim" if span.get("noise") else "bold")
            attrs = span.get("attrs") or {}
            if attrs.get("attempt"):
                label.append(f" #{attrs['attempt']}", style="yellow")
            if span.get("injected"):
                label.append(" ⚡", style="bold red")
            label.truncate(label_width, pad=True)
            row = Text(no_wrap=True)
            row.append_text(label)
            row.append(f"{span.get('duration_ms') or 0:>{MS_WIDTH}.1f} ", style="cyan")
            outcome = span_outcome(span)
            outcome.truncate(8, pad=True)
            row.append_text(outcome)
            row.append(" ")
            row.append(" " * left)
            row.append("█" * size, style=style)
            row.append(" " * (bar_width - left - size))
            rows.append(row)
        return Group(*rows)
