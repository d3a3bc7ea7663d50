"""Shown while the embedded sandbox starts (in a worker): progress lines, then it goes away by itself."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, LoadingIndicator, Static


class StartupScreen(ModalScreen):
    BINDINGS = [Binding("q", "app.quit", "Quit"), Binding("r", "retry", "Retry", show=False)]

    def __init__(self, label: str):
        super().__init__()
        self.label = label
        self._lines: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="startup-box"):
            yield Label("Serverless Sandbox", id="startup-title")
            yield Static(f"connecting to the sandbox ({self.label}) …", id="startup-what")
            yield LoadingIndicator(id="startup-spinner")
            yield Static("", id="startup-log")  # wraps when drawn (a RichLog cut lines wider than its first size)
            yield Static("", id="startup-error")

    MAX_LINES = 6  # wrapped, they must still fit the box at 80x24

    def add_lines(self, lines: list[str]) -> None:
        self._lines = (self._lines + list(lines))[-self.MAX_LINES:]
        self.query_one("#startup-log", Static).update(Text("\n".join(self._lines), style="dim"))

    def failed(self, error: str) -> None:
        self.query_one("#startup-spinner").display = False
        self.query_one("#startup-error", Static).update(
            Text.assemble(("could not start the sandbox\n", "bold red"), (error, "red"),
                          ("\n\nr: retry    q: quit", "dim")))

    def action_retry(self) -> None:
        self.query_one("#startup-spinner").display = True
        self.query_one("#startup-error", Static).update("")
        self.app.retry_start()
