"""The help screen: what each tab is for, and every key binding."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.widgets.key_scroll import VerticalScrollPane

GLOBAL_KEYS = [
    ("1 … 8", "switch tab (Scenarios, DLQ, Faults, Logs, Flow, Patterns, Cost, Labs)"),
    ("ctrl+p", "command palette: every action, searchable"),
    ("ctrl+t", "light / dark theme"),
    ("? or f1", "this help"),
    ("tab / shift+tab", "move focus"),
    ("q", "quit (ctrl+q anywhere)"),
]


def _key(key: str) -> str:
    names = {"question_mark": "?", "delete": "del", "escape": "esc", "slash": "/", "enter": "enter"}
    return " / ".join(names.get(k.strip(), k.strip()) for k in key.split(","))


def _section() -> Table:
    table = Table(box=None, show_header=False, expand=True, padding=(0, 1))
    table.add_column("key", style="bold cyan", no_wrap=True, width=16)
    table.add_column("what")
    return table


class HelpScreen(ModalScreen):
    """Opens at the section of the tab you are on (`current`), with the keys that work everywhere above it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def __init__(self, panes, current: str | None = None):
        super().__init__()
        self.panes = panes
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Label("Serverless Sandbox — keys", id="help-title")
            with VerticalScrollPane(id="help-scroll"):
                yield Static(self._global(), id="help-global")
                for i, pane in enumerate(self.panes, 1):
                    yield Static(self._pane(i, pane), id=f"help-{pane.TAB_ID}", classes="help-section")
            yield Label("esc to close · ↑↓ pgup/pgdn home/end to scroll", id="help-hint")

    def on_mount(self) -> None:
        found = self.query(f"#help-{self.current}") if self.current else None
        if found:
            section = found.first()
            section.add_class("-current")
            self.call_after_refresh(self.query_one("#help-scroll", VerticalScrollPane).scroll_to_widget, section,
                                    animate=False, top=True)

    @staticmethod
    def _global() -> Table:
        table = _section()
        table.add_row(Text("everywhere", style="bold underline"), "")
        for key, what in GLOBAL_KEYS:
            table.add_row(key, what)
        return table

    @staticmethod
    def _pane(index: int, pane) -> Table:
        table = _section()
        summary = (pane.__doc__ or "").strip().splitlines()[0] if pane.__doc__ else ""
        table.add_row(Text(f"{index} {pane.TAB_TITLE}", style="bold underline"), Text(summary, style="dim"))
        for binding in pane.BINDINGS:
            table.add_row(_key(binding.key), binding.description)
        for key, what in getattr(pane, "HELP_KEYS", ()):  # keys of a widget inside the pane
            table.add_row(key, what)
        return table

    def action_dismiss(self) -> None:
        self.dismiss()
