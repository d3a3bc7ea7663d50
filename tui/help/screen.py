"""The help screen: what each tab is for, and every key binding."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

GLOBAL_KEYS = [
    ("1 … 7", "switch tab (Scenarios, DLQ, Faults, Logs, Flow, Patterns, Cost)"),
    ("ctrl+p", "command palette: every action, searchable"),
    ("ctrl+t", "light / dark theme"),
    ("? or f1", "this help"),
    ("tab / shift+tab", "move focus"),
    ("q", "quit (ctrl+q anywhere)"),
]


def _key(key: str) -> str:
    names = {"question_mark": "?", "delete": "del", "escape": "esc", "slash": "/", "enter": "enter"}
    return ",".join(names.get(k.strip(), k.strip()) for k in key.split(","))


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def __init__(self, panes):
        super().__init__()
        self.panes = panes

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Label("Serverless Sandbox — keys", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(self._table(), id="help-table")
            yield Label("esc to close", id="help-hint")

    def _table(self) -> Table:
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1))
        table.add_column("key", style="bold cyan", no_wrap=True, width=16)
        table.add_column("what")
        table.add_row(Text("everywhere", style="bold underline"), "")
        for key, what in GLOBAL_KEYS:
            table.add_row(key, what)
        for i, pane in enumerate(self.panes, 1):
            table.add_row("", "")
            table.add_row(Text(f"{i} {pane.TAB_TITLE}", style="bold underline"), Text((pane.__doc__ or "").strip()
                                                                                    .splitlines()[0] if pane.__doc__
                                                                                    else "", style="dim"))
            for binding in pane.BINDINGS:
                table.add_row(_key(binding.key), binding.description)
        return table

    def action_dismiss(self) -> None:
        self.dismiss()
