"""Logs: every Lambda function's CloudWatch Logs, merged in time order and followed live.

It polls even while hidden (every two seconds; once a second when shown): a scenario's reset deletes the log
groups, so lines not read by then would be lost. Its reads use observer clients, so they are not your traffic.
"""

from __future__ import annotations

import json
import threading

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, Select, Static
from textual.worker import get_current_worker

from tui.backend import Unavailable, enclosing_request_id
from tui.format import log_line
from tui.messages import LogLinesArrived
from tui.pane import Pane
from tui.pump import Pump
from tui.widgets import Notice, SearchInput, VerticalScrollPane, VirtualList, text_matcher

POLL_SECONDS = 1.0  # while the tab is shown
HIDDEN_POLL_SECONDS = 2.0  # while it is not
LEVEL_CHOICES = [("all levels", ""), ("errors", "ERROR"), ("warnings+", "WARNING"), ("info", "INFO"),
                 ("platform (START/END/REPORT)", "PLATFORM")]


class LogsPane(Pane):
    """Function logs, merged and followed: search, level filter, JSON pretty-printed."""

    TAB_ID = "logs"
    TAB_TITLE = "Logs"
    BINDINGS = [
        Binding("slash", "search", "Search", tooltip="Filter the function logs by text (re: for a regular expression)"),
        Binding("f", "toggle_follow", "Follow", tooltip="Keep the newest log line in view (toggle)"),
        Binding("e", "errors", "Errors", tooltip="Show only ERROR lines (toggle)"),
        Binding("t", "trace", "Trace", tooltip="Open the trace of the selected line (its request or correlation id) in Flow"),
        Binding("enter", "details", "Details", show=False, tooltip="Show the selected log line in full (JSON pretty-printed)"),
        Binding("escape", "close_details", "Close", show=False, tooltip="Close the line's details"),
        Binding("ctrl+l", "clear", "Clear", show=False, tooltip="Empty the view (new lines keep coming)"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._query = ""
        self._level = ""
        self._pump: Pump | None = None
        self.total = 0
        # Polled faster while the tab is shown; showing it polls at once.
        self._shown = threading.Event()
        self._wake = threading.Event()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="bar"):
            yield SearchInput(placeholder="search (/), re:regex", id="logs-search", compact=True)
            yield Select(LEVEL_CHOICES, value="", allow_blank=False, id="logs-level", compact=True)
            yield Label("", id="logs-count", classes="count")
        yield Notice(id="logs-notice")
        yield VirtualList(lambda line: log_line(line, self.clock), id="logs-list")
        with VerticalScrollPane(id="logs-detail-box"):
            yield Static("", id="logs-detail", classes="detail")

    def on_mount(self) -> None:
        self.query_one("#logs-detail-box").display = False
        self.query_one("#logs-notice", Notice).hide()
        self._pump = Pump(self, LogLinesArrived).start()
        self._update_count()

    def backend_ready(self) -> None:
        super().backend_ready()
        self._poll()

    def focus_main(self) -> None:
        self.query_one("#logs-list", VirtualList).focus()

    def activated(self) -> None:
        self._shown.set()
        self._wake.set()
        self.call_after_refresh(self._show_newest)

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_newest)

    def _show_newest(self) -> None:
        """While following: the newest line in view. (The list's own scroll is ignored while it has no
        scrollbar yet, e.g. for the first lines after the tab is shown, so it is forced here.)"""
        view = self.query_one("#logs-list", VirtualList)
        if view.follow and view.shown_count and view.scroll_offset.y < view.max_scroll_y:
            view.scroll_to(y=view.max_scroll_y, animate=False, force=True)

    def deactivated(self) -> None:
        self._shown.clear()

    def on_unmount(self) -> None:
        self._wake.set()

    # --- incoming --------------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="logs-poll")
    def _poll(self) -> None:
        worker = get_current_worker()
        cursor = None
        failures = 0
        while not worker.is_cancelled:
            try:
                lines, cursor = self.backend.poll_logs(cursor)
                failures = 0
            except Unavailable as e:
                self.app.call_from_thread(self.query_one("#logs-notice", Notice).show, str(e))
                return
            except Exception:  # noqa: BLE001 - the sandbox restarting: try again, slower
                failures += 1
                lines = []
                if failures == 1:  # stopped? the app says so, and how to start it
                    self.app.call_from_thread(self.app.check_sandbox)
            if lines:
                self._pump.extend(lines)
            if not self.backend.live:
                return
            interval = POLL_SECONDS if self._shown.is_set() else HIDDEN_POLL_SECONDS
            self._wake.wait(interval * min(failures + 1, 5))
            self._wake.clear()

    def ingest(self, lines: list) -> None:
        """Adds lines to the view (the poller does, through the pump; tests may too)."""
        self._pump.extend(lines)

    def on_log_lines_arrived(self, message: LogLinesArrived) -> None:
        message.stop()
        view = self.query_one("#logs-list", VirtualList)
        view.append(message.lines)
        self.total = len(view.rows)
        self._update_count()
        self._show_newest()
        self.call_after_refresh(self._show_newest)

    # --- filters ---------------------------------------------------------------------------------------------
    def _predicate(self):
        query, level = self._query, self._level
        if not query and not level:
            return None
        matches = text_matcher(query) if query else None
        levels = {"ERROR"} if level == "ERROR" else {"ERROR", "WARNING"} if level == "WARNING" else {level}

        def keep(line) -> bool:
            if matches is not None and not (matches(line.message) or matches(line.function)):
                return False
            return not level or line.level in levels

        return keep

    def _apply_filter(self) -> None:
        self.query_one("#logs-list", VirtualList).set_filter(self._predicate())

    @on(Input.Changed, "#logs-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._query = event.value.strip()
        self._apply_filter()

    @on(Input.Submitted, "#logs-search")
    def _search_submitted(self) -> None:
        self.focus_main()

    @on(Select.Changed, "#logs-level")
    def _level_changed(self, event: Select.Changed) -> None:
        self._level = event.value or ""
        self._apply_filter()

    @on(VirtualList.Filtered, "#logs-list")
    def _filtered(self) -> None:
        self._update_count()
        self.call_after_refresh(self._show_newest)

    @on(VirtualList.Highlighted, "#logs-list")
    def _highlighted(self) -> None:
        self._update_count()

    def _update_count(self) -> None:
        view = self.query_one("#logs-list", VirtualList)
        shown, total = view.shown_count, len(view.rows)
        follow = " · following" if view.follow else ""
        text = f"{total} lines{follow}" if shown == total else f"{shown} of {total} lines{follow}"
        self.query_one("#logs-count", Label).update(text)

    # --- actions ---------------------------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one("#logs-search", Input).focus()

    def action_toggle_follow(self) -> None:
        view = self.query_one("#logs-list", VirtualList)
        view.follow = not view.follow
        if view.follow:
            view.action_last()
        self._update_count()

    def action_errors(self) -> None:
        select = self.query_one("#logs-level", Select)
        select.value = "" if self._level == "ERROR" else "ERROR"

    def action_clear(self) -> None:
        self.query_one("#logs-list", VirtualList).clear()
        self._update_count()

    def action_details(self) -> None:
        item = self.query_one("#logs-list", VirtualList).highlighted
        if item is not None:
            self._show_details(item)

    def action_trace(self) -> None:
        """Jumps to the Flow tab with the trace of the highlighted line: by its Lambda request id (the invocation
        that wrote it: named in the line, else the START before it in its log stream), else by its correlation
        id."""
        view = self.query_one("#logs-list", VirtualList)
        line = view.highlighted
        if line is None:
            self.problem("select a log line first (up/down)", "warning")
            return
        request_id, correlation_id = line.request_id, line.correlation_id
        if not request_id and not correlation_id:
            request_id = enclosing_request_id(view.rows, view.row_index(view.cursor))
        if not request_id and not correlation_id:
            self.problem("this line names no request id or correlation id, and no START line of its invocation "
                         "is in the list (cleared, or written outside an invocation)", "warning")
            return
        flow = self.app.pane("flow")
        if flow is None or not flow.show_trace_of(correlation_id=correlation_id, request_id=request_id):
            what = f"request {request_id}" if request_id else f"correlation id {correlation_id}"
            self.problem(f"no recorded event for {what} in the Flow timeline (is the recorder on?)", "warning")
            return
        self.app.action_show_tab("flow")

    def action_close_details(self) -> None:
        self.query_one("#logs-detail-box").display = False

    @on(VirtualList.Selected, "#logs-list")
    def _selected(self, event: VirtualList.Selected) -> None:
        self._show_details(event.item)

    def _show_details(self, line) -> None:
        header = Text()
        header.append(f"{self.clock(line.time)}  ", style="dim")
        header.append(line.level or "-", style="bold")
        header.append(f"  {line.function}", style="magenta")
        if line.stream:
            header.append(f"  {line.stream}", style="dim")
        parsed = line.json
        body = Syntax(json.dumps(parsed, indent=2, ensure_ascii=False), "json", word_wrap=True,
                      theme="ansi_dark" if self.app.current_theme.dark else "ansi_light") \
            if parsed is not None else Text(line.text)
        from rich.console import Group

        self.query_one("#logs-detail", Static).update(Group(header, body))
        self.query_one("#logs-detail-box").display = True
