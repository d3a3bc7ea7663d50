"""DLQ: dead-letter queues with their depth and what feeds them; peek inside, redrive, purge.

Through `Sandbox.dlq` (list/peek/redrive/purge). Peeking receives the messages and makes them visible again at
once: it adds one to their receive count (as on AWS), so it happens on Enter, never on mere highlighting.
"""

from __future__ import annotations

import datetime
import json
import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Static

from tui.dlq.redrive_to import RedriveToScreen
from tui.pane import PollingPane
from tui.widgets import ConfirmScreen, Notice, VerticalScrollPane



def _attribute(name: str, value) -> str:
    """SQS timestamps (epoch milliseconds) as UTC times; anything else as it is."""
    if name.endswith("Timestamp") and str(value).isdigit():
        stamp = datetime.datetime.fromtimestamp(int(value) / 1000, datetime.UTC)
        return f"{stamp:%Y-%m-%d %H:%M:%S}.{stamp.microsecond // 1000:03d} UTC ({value})"
    return str(value)


def _cut(text: str, width: int, style: str = "") -> Text:
    """`text` whole (what the cell holds), drawn in `width` cells ending in "…" when it is longer."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


class DlqPane(PollingPane):
    """Dead-letter queues: depth, sources, messages with their errors; redrive and purge."""

    REFRESH_SECONDS = 3.0
    TAB_ID = "dlq"
    TAB_TITLE = "DLQ"
    BINDINGS = [
        Binding("r", "refresh", "Refresh", tooltip="List the dead-letter queues again"),
        Binding("p", "peek", "Peek", tooltip="Look at the selected DLQ's messages (leaves them in place)"),
        Binding("d", "redrive", "Redrive",
                tooltip="Send the selected DLQ's messages back to their source queue, or to a queue you name"),
        Binding("x", "purge", "Purge", tooltip="Delete every message of the selected DLQ"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.queues: list = []
        self.messages: list = []
        self._peeked: str | None = None  # the arn of the queue whose messages are shown
        self._wanted: str | None = None  # a queue the palette opened, selected once the list has it

    EMPTY = ("No dead-letter queues: nothing in the sandbox sends its failures to a queue.\n"
             "Deploy a pattern (6 Patterns) or run a scenario (1 Scenarios); its DLQs show here.")

    def compose(self) -> ComposeResult:
        yield Notice(id="dlq-notice")
        with Vertical(id="dlq-top"):
            with Horizontal(classes="bar"):
                yield Label("Dead-letter queues", classes="section-title")
                yield Label("", id="dlq-count", classes="count")
            yield DataTable(id="dlq-queues", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="dlq-bottom"):
            with Vertical(id="dlq-messages-box"):
                yield Label("Messages (enter: peek)", classes="section-title", id="dlq-messages-title")
                yield DataTable(id="dlq-messages", cursor_type="row", zebra_stripes=True)
            with VerticalScrollPane(id="dlq-detail-box"):
                yield Static("", id="dlq-detail", classes="detail")

    def on_mount(self) -> None:
        queues = self.query_one("#dlq-queues", DataTable)
        for label, key in (("queue", "name"), ("depth", "depth"), ("visible", "visible"), ("in flight", "in_flight"),
                           ("sources", "sources")):
            queues.add_column(label, key=key)
        messages = self.query_one("#dlq-messages", DataTable)
        for label, key in (("message", "id"), ("receives", "receives"), ("sent", "sent"), ("failure", "failure")):
            messages.add_column(label, key=key)
        self.query_one("#dlq-notice", Notice).show("waiting for the sandbox …")
        self.query_one("#dlq-detail", Static).update(Text("Select a queue and press enter (or p) to peek.",
                                                          style="dim"))

    def focus_main(self) -> None:
        self.query_one("#dlq-queues", DataTable).focus()

    # --- queues ----------------------------------------------------------------------------------------------
    FAILED = "listing dead-letter queues failed"

    def _fetch(self) -> list:
        return self.backend.dlqs()

    def sandbox_stopped(self, why: str) -> None:
        """Not "No dead-letter queues ... deploy a pattern": the queues are not known while it is stopped."""
        self.query_one("#dlq-notice", Notice).show(f"{why}\nIts dead-letter queues show here once it answers again.",
                                                   warning=True)
        self.query_one("#dlq-top").display = False
        self.query_one("#dlq-bottom").display = False
        self._forget_messages()

    def _show(self, found: list) -> None:
        if self.app.sandbox_down:  # a list read before it stopped, landing after
            return
        self._show_queues(found)

    def _unavailable(self, text: str) -> None:
        self.query_one("#dlq-notice", Notice).show(text)
        self.query_one("#dlq-top").display = False
        self.query_one("#dlq-bottom").display = False

    def _show_queues(self, found: list) -> None:
        if not found:  # an empty state, not the last queue's header and messages
            self.query_one("#dlq-notice", Notice).show(self.EMPTY)
        else:
            self.query_one("#dlq-notice", Notice).hide()
        self.query_one("#dlq-top").display = True
        self.query_one("#dlq-bottom").display = bool(found)
        if self._peeked is not None and all(q.arn != self._peeked for q in found):
            self._forget_messages()  # the peeked queue is gone (a reset, a destroyed stack)
        self.queues = found
        table = self.query_one("#dlq-queues", DataTable)
        selected = self.selected_queue
        name_w, sources_w = self._text_widths(found)
        table.clear(columns=True)  # the widths follow the pane's: every column shows, long texts end in "…"
        for label, key, width in (("queue", "name", name_w), ("depth", "depth", None), ("visible", "visible", None),
                                  ("in flight", "in_flight", None), ("sources", "sources", sources_w)):
            table.add_column(label, key=key, width=width)
        for q in found:
            sources = "; ".join(s.describe() for s in q.sources) or "-"
            if not q.exists:
                table.add_row(_cut(q.name, name_w, "red"), Text("MISSING", style="bold red"), "-", "-",
                              _cut(sources, sources_w), key=q.arn)
                continue
            depth = Text(str(q.depth), style="bold yellow" if q.depth else "green")
            table.add_row(_cut(q.name, name_w), depth, str(q.visible), str(q.in_flight), _cut(sources, sources_w),
                          key=q.arn)
        if selected is not None:
            for i, q in enumerate(found):
                if q.arn == selected.arn:
                    table.move_cursor(row=i)
        total = sum(q.depth for q in found if q.exists)
        self.query_one("#dlq-count", Label).update(f"{len(found)} queue(s), {total} message(s)")
        self._select_wanted()

    NUMBERS_WIDTH = 5 + 7 + 9 + 3 * 2 + 2 * 2 + 1  # depth, visible, in flight with their padding; the scrollbar

    def _text_widths(self, found: list) -> tuple[int, int]:
        """The widths of the queue and sources columns, so that every column shows (at 80 columns the sources were
        cut to "sourc"): the queue names first, cut with "…" only when they would leave the sources under 20."""
        room = max(self.size.width, 40) - self.NUMBERS_WIDTH
        self._widths_for = self.size.width
        names = max((len(q.name) for q in found), default=5)
        sources = max((len("; ".join(s.describe() for s in q.sources) or "-") for q in found), default=7)
        name_w = max(16, min(names, room - min(sources, 20)))
        return name_w, max(7, room - name_w)

    def on_resize(self) -> None:
        if self.queues and self.size.width != getattr(self, "_widths_for", None):
            self._show_queues(self.queues)

    def show_queue(self, name: str) -> None:
        """Puts the cursor on the queue `name` (the palette's "Open DLQ <name>"); a queue the list does not have
        yet is selected when the next load brings it."""
        self._wanted = name
        if not self._select_wanted():
            self._load()

    def _select_wanted(self) -> bool:
        index = next((i for i, q in enumerate(self.queues) if q.name == self._wanted), None)
        if index is None:
            return False
        self._wanted = None
        self.query_one("#dlq-queues", DataTable).move_cursor(row=index)
        return True

    @property
    def selected_queue(self):
        table = self.query_one("#dlq-queues", DataTable)
        if not self.queues or table.cursor_row is None or not (0 <= table.cursor_row < len(self.queues)):
            return None
        return self.queues[table.cursor_row]

    @on(DataTable.RowSelected, "#dlq-queues")
    def _queue_selected(self) -> None:
        self.action_peek()

    # --- messages --------------------------------------------------------------------------------------------
    def action_peek(self) -> None:
        if self.sandbox_missing():
            return
        queue = self.selected_queue
        if queue is None:
            self.problem("no dead-letter queue selected", "warning")
            return
        # the list is what this peek saw: a refresh does not peek again (a peek receives the messages: it counts)
        self.query_one("#dlq-messages-title", Label).update(
            f"Messages of {queue.name}, as peeked at {time.strftime('%H:%M:%S')} (p peeks again)")
        self._peeked = queue.arn
        self._peek(queue.name)

    def _forget_messages(self) -> None:
        self._peeked = None
        self.messages = []
        self.query_one("#dlq-messages", DataTable).clear()
        self.query_one("#dlq-messages-title", Label).update("Messages (enter: peek)")
        self.query_one("#dlq-detail", Static).update(Text("Select a queue and press enter (or p) to peek.",
                                                          style="dim"))

    @work(thread=True, exclusive=True, group="dlq-peek")
    def _peek(self, name: str) -> None:
        try:
            found = self.backend.peek(name)
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self.problem, f"peek {name} failed: {e}")
            return
        self.app.call_from_thread(self._show_messages, found)

    def _show_messages(self, found: list) -> None:
        self.messages = found
        table = self.query_one("#dlq-messages", DataTable)
        table.clear()
        for m in found:
            failure = m.failure or {}
            what = failure.get("error_type") or failure.get("error_message") or failure.get("error_code") or (
                f"from {failure['source']}" if failure.get("source") else failure.get("kind")) or ""
            table.add_row(m.message_id[:13], str(m.receive_count), (m.sent or "-")[11:23],
                          Text(str(what)[:40], style="red" if what else ""), key=m.message_id)
        if found:
            self._show_detail(found[0])
            table.focus()
        else:
            self.query_one("#dlq-detail", Static).update(Text("The queue is empty.", style="dim"))

    @on(DataTable.RowHighlighted, "#dlq-messages")
    def _message_highlighted(self, event: DataTable.RowHighlighted) -> None:
        found = next((m for m in self.messages if m.message_id == event.row_key.value), None)
        if found is not None:
            self._show_detail(found)

    def _show_detail(self, m) -> None:
        t = Text()
        t.append("message ", style="bold")
        t.append(f"{m.message_id}\n")
        t.append("receives before this peek ", style="bold")
        t.append(f"{m.receive_count}")
        # a peek receives the message too (as on AWS): past the source's maxReceiveCount, the count goes on
        t.append("  (the source's deliveries, then each peek's: every receive counts, as on AWS)\n", style="dim")
        if m.sent:
            t.append("sent ", style="bold")
            t.append(f"{m.sent}\n")
        if m.failure:
            t.append("\nfailure\n", style="bold red")
            for key, value in m.failure.items():
                if value not in (None, "", {}):
                    t.append(f"  {key}: ", style="red")
                    t.append(f"{value if not isinstance(value, (dict, list)) else json.dumps(value)}\n")
        if m.message_attributes:
            t.append("\nmessage attributes\n", style="bold")
            for name, value in m.message_attributes.items():
                t.append(f"  {name}", style="cyan")
                t.append(f" ({value.get('type')}): {value.get('value')}\n")
        t.append("\nbody\n", style="bold")
        t.append(m.pretty_body())
        t.append("\n\nattributes\n", style="bold")
        for name, value in sorted(m.attributes.items()):
            t.append(f"  {name}: ", style="dim")
            t.append(f"{_attribute(name, value)}\n")
        self.query_one("#dlq-detail", Static).update(t)

    # --- redrive / purge -------------------------------------------------------------------------------------
    def action_redrive(self) -> None:
        if self.sandbox_missing():
            return
        queue = self.selected_queue
        if queue is None or not queue.exists:
            self.problem("select an existing dead-letter queue first", "warning")
            return
        if len(queue.sources) != 1 or queue.sources[0].kind != "sqs-redrive":
            # no one source queue (a function's DLQ, several queues): ask where to, as `dlq redrive --to` does

            def chosen(destination: str | None) -> None:
                if destination:
                    self._act("redrive", queue.name, destination)

            self.app.push_screen(RedriveToScreen(queue, lambda to: self.backend.redrive_check(queue.name, to)),
                                 chosen)
            return
        body = (f"Move the {queue.depth} message(s) of {queue.name} back to {queue.sources[0].name}?\n\n"
                "Consumers will process them again: fix the cause first.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._act("redrive", queue.name)

        self.app.push_screen(ConfirmScreen(f"Redrive {queue.name}", body, "Redrive", danger=False), answered)

    def action_purge(self) -> None:
        if self.sandbox_missing():
            return
        queue = self.selected_queue
        if queue is None or not queue.exists:
            self.problem("select an existing dead-letter queue first", "warning")
            return
        body = f"Delete every message of {queue.name} ({queue.depth} now)? This cannot be undone."

        def answered(yes: bool | None) -> None:
            if yes:
                self._act("purge", queue.name)

        self.app.push_screen(ConfirmScreen(f"Purge {queue.name}", body, "Purge"), answered)

    @work(thread=True, group="dlq-act")
    def _act(self, what: str, name: str, destination: str | None = None) -> None:
        try:
            result = self.backend.redrive(name, destination) if what == "redrive" else self.backend.purge(name)
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self.problem, f"{what} {name} failed: {e}")
            return
        if what == "redrive":
            text = f"redrove {result.moved} message(s) from {name} to {result.destination} ({result.method})"
        else:
            text = f"purged {result.deleted} message(s) from {name}"
        self.app.call_from_thread(self.app.notify, text)
        self.app.call_from_thread(self._after_action)

    def _after_action(self) -> None:
        self.query_one("#dlq-messages", DataTable).clear()
        self.messages = []
        self.query_one("#dlq-detail", Static).update("")
        self._load()
