"""The instructor's board (`sandbox workshop host`): one row per attendee, one column per task, who is stuck.

It draws `board.snapshot()` (scenarios.workshop.board.Board, handed in by the command: the TUI imports no
scenarios). A report re-draws it at once (`BoardChanged`, posted from the server's thread); a timer moves the
stuck times on.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from tui.widgets import Notice

STUCK = 10 * 60.0  # from here a cell is shown as stuck (someone should walk over)


@dataclass
class BoardChanged(Message):
    """An attendee reported (posted from the server's request thread)."""


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def cell(entry: dict) -> Text:
    match entry["state"]:
        case "passed":
            return Text("✔", style="bold green")
        case "failed" | "working" as state:
            stuck = entry.get("stuck", 0)
            mark = "✘" if state == "failed" else "…"
            style = "bold white on red" if stuck >= STUCK else ("red" if state == "failed" else "yellow")
            return Text(f"{mark} {duration(stuck)}", style=style)
    return Text("·", style="dim")


class BoardApp(App):
    TITLE = "Workshop board"
    CSS_PATH = ["board.tcss"]
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("ctrl+t", "toggle_theme", "Theme")]
    REFRESH_SECONDS = 5.0

    def __init__(self, board, url: str, token: str, refresh: bool = True):
        super().__init__()
        self.board = board
        self.url = url
        self.token = token
        self.refresh_timer = refresh
        self.sub_title = url
        self.columns = 0

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="λ")
        yield Static(Text.assemble(("join: ", "dim"), (f"sandbox lab join {self.url} --name YOUR-NAME --token "
                                                        f"{self.token}", "bold")), id="board-join")
        yield Notice("No attendee has reported yet. Each `sandbox lab check` (or check in the Labs tab) of an "
                     "attendee who joined adds their row.", id="board-empty")
        yield DataTable(id="board-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.board.listeners.append(lambda: self.call_from_thread_safe(BoardChanged()))
        if self.refresh_timer:
            self.set_interval(self.REFRESH_SECONDS, self.redraw, name="board-clock")
        self.redraw()

    def call_from_thread_safe(self, message: Message) -> None:
        """From the server's thread (or the UI's, in tests): post_message is thread-safe."""
        self.post_message(message)

    def on_board_changed(self, message: BoardChanged) -> None:
        self.redraw()

    def redraw(self) -> None:
        snapshot = self.board.snapshot()
        table = self.query_one("#board-table", DataTable)
        rows = snapshot["rows"]
        self.query_one("#board-empty", Notice).display = not rows
        table.display = bool(rows)
        if snapshot["columns"] != self.columns or not table.columns:
            table.clear(columns=True)
            table.add_column("attendee", key="name")
            table.add_column("lab", key="lab")
            table.add_column("done", key="done")
            for i in range(snapshot["columns"]):
                table.add_column(f"task {i + 1}", key=f"t{i}")
            table.add_column("last report", key="last")
            self.columns = snapshot["columns"]
        keep = table.cursor_row
        table.clear()
        for row in rows:
            cells = [cell(c) for c in row["cells"]] + [Text("")] * (self.columns - len(row["cells"]))
            done = Text(f"{row['done']}/{row['total']}", style="bold green" if row["done"] == row["total"] else "")
            table.add_row(row["name"], row["lab"], done, *cells, Text(f"{duration(row['last_report'])} ago",
                                                                       style="dim"), key=row["name"])
        if rows:
            table.move_cursor(row=min(keep, len(rows) - 1))
        stuck = sum(1 for row in rows for c in row["cells"] if c.get("stuck", 0) >= STUCK)
        self.sub_title = f"{self.url} · {len(rows)} attendee(s)" + (f" · {stuck} stuck" if stuck else "")

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"
