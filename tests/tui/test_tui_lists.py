"""Issue 14: lists and views that must not leave an attendee stuck (no LocalStack: fake backends and recordings)."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, Label

from sandbox.dlq import DeadLetterQueue, PeekedMessage
from tests.tui.test_tui import plain, q, until
from tui.app import SandboxApp
from tui.backend import Backend

DLQ_NAME = "media-pipeline-DeadLetterQueue-ABC123"


class _Dlqs(Backend):
    """A live backend with one DLQ holding one message, until `reset()` empties the sandbox."""

    live, label = True, "fake"

    def __init__(self):
        self.queues = [DeadLetterQueue(DLQ_NAME, f"arn:aws:sqs:us-east-1:000000000000:{DLQ_NAME}", "us-east-1",
                                       "http://q", visible=1)]

    def start(self, on_progress) -> str:
        return "fake backend"

    def dlqs(self) -> list:
        return list(self.queues)

    def peek(self, queue: str) -> list:
        return [PeekedMessage("m-1", '{"job": 1}', {"SentTimestamp": "1800000000000"}, {}, 1)] if self.queues else []

    def reset(self) -> None:
        self.queues = []


# --- 9. after a reset the DLQ tab shows an empty state, not the gone queue's header ---------------------------
def test_dlq_after_a_reset_shows_an_empty_state_not_the_gone_queue():
    async def scenario():
        backend = _Dlqs()
        app = SandboxApp(backend=backend)
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: app.backend_ready and app.screen is app.main_screen, 10, "the app")
            await pilot.press("2")
            pane = app.pane("dlq")
            queues = q(app, "#dlq-queues", DataTable)
            await until(pilot, lambda: queues.row_count == 1, 10, "the queue")
            queues.focus()
            await pilot.press("enter")  # peek
            messages = q(app, "#dlq-messages", DataTable)
            await until(pilot, lambda: messages.row_count == 1, 10, "the message")
            title = str(q(app, "#dlq-messages-title", Label).render())
            # what the list is: this peek's view (a refresh does not peek again: a peek counts as a receive)
            assert DLQ_NAME in title and ", as peeked at " in title and "(p peeks again)" in title, title
            backend.reset()
            pane.action_refresh()
            await until(pilot, lambda: "0 queue(s)" in str(q(app, "#dlq-count", Label).render()), 10, "the refresh")
            await pilot.pause()
            assert DLQ_NAME not in str(q(app, "#dlq-messages-title", Label).render())
            assert messages.row_count == 0 and pane.messages == []
            notice = q(app, "#dlq-notice")
            assert notice.display and "No dead-letter queues" in plain(notice), plain(notice)
            assert not q(app, "#dlq-bottom").display

    asyncio.run(scenario())


# --- 3. an opened trace shows the selected span: highlighted, in view; the footer shows the trace's keys ---------
def _replay_span(operation: str) -> dict:
    from scenarios.replay import read_events
    from tests.tui.test_tui import RECORDING

    spans = [e.span for e in read_events(RECORDING) if e.kind == "span"]
    return next(s for s in spans if s.get("operation") == operation and s.get("trace_id"))


def test_opening_a_trace_highlights_the_selected_span_and_scrolls_it_into_view():
    from tests.tui.test_tui import RECORDING, replay_loaded

    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=(100, 30)) as pilot:
            await replay_loaded(pilot)
            await pilot.press("5")
            flow = app.pane("flow")
            span = _replay_span("DeleteItem")  # deep in a trace of 23 spans: below the waterfall's first rows
            flow.open_trace(span)
            waterfall = q(app, "#flow-trace")
            await until(pilot, lambda: waterfall.trace is not None, 10, "the trace")
            rows = waterfall.rows

            def shown_at() -> int | None:  # the selected span's row, once the view has scrolled to it
                wanted = next(i for i in range(rows.shown_count) if rows.shown_row(i)["span_id"] == span["span_id"])
                top, height = rows.scroll_offset.y, rows.scrollable_content_region.height
                return wanted if rows.cursor == wanted and top <= wanted < top + height else None

            await until(pilot, lambda: shown_at() is not None, 10, "the selected span scrolled into view")
            wanted = next(i for i in range(rows.shown_count) if rows.shown_row(i)["span_id"] == span["span_id"])
            top, height = rows.scroll_offset.y, rows.scrollable_content_region.height
            assert wanted >= height, (wanted, height)  # not among the first rows
            assert rows.cursor == wanted, (rows.cursor, wanted)
            assert height > 0 and top <= wanted < top + height, (top, height, wanted)
            assert "DeleteItem" in rows.render_line(wanted - top).text
            assert app.focused is rows
            await pilot.press("down")  # the first down moves the cursor, not only the view
            assert rows.cursor == wanted + 1
            keys = {k.key for k in app.main_screen.query("FooterKey")}
            assert {"z", "escape"} <= keys, keys
            await pilot.press("escape")
            await until(pilot, lambda: not waterfall.display, 5, "the trace closed")
            await pilot.pause()
            keys = {k.key for k in app.main_screen.query("FooterKey")}
            assert "z" not in keys, keys

    asyncio.run(scenario())


# --- 2. every list has a cursor row: / filter, enter into the list, enter opens the row ---------------------------
def test_flow_filter_enter_enter_opens_a_trace_and_lists_always_have_a_cursor():
    from tests.tui.test_tui import RECORDING, replay_loaded
    from tui.widgets import VirtualList

    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=(100, 30)) as pilot:
            await replay_loaded(pilot)
            for key, selector in (("4", "#logs-list"), ("5", "#flow-list")):
                await pilot.press(key)
                await pilot.pause()
                view = q(app, selector, VirtualList)
                assert 0 <= view.cursor < view.shown_count, (selector, view.cursor)  # a cursor row from the start
            flow = q(app, "#flow-list", VirtualList)
            unfiltered = flow.shown_count  # noise aside
            await pilot.press("slash", *"DeleteItem", "enter")  # the filter box, then into the list
            await until(pilot, lambda: 0 < flow.shown_count < len(flow.rows), 10, "the filter")
            assert app.focused is flow
            assert 0 <= flow.cursor < flow.shown_count and flow.highlighted["operation"] == "DeleteItem"
            await pilot.press("enter")  # opens the row
            waterfall = q(app, "#flow-trace")
            await until(pilot, lambda: waterfall.trace is not None, 10, "the trace")
            assert waterfall.trace["trace_id"] == flow.highlighted["trace_id"]
            # a filter that keeps nothing, then none: the cursor is back on a row
            await pilot.press("escape")
            await pilot.press("slash", *"zzz-no-such-thing")
            await until(pilot, lambda: flow.shown_count == 0, 10, "nothing shown")
            assert flow.cursor == -1
            await pilot.press(*["backspace"] * 40, "enter")
            await until(pilot, lambda: flow.shown_count == unfiltered, 10, "everything shown")
            assert 0 <= flow.cursor < flow.shown_count

    asyncio.run(scenario())


# --- at 80x24 and 100x30: the footer keeps "q Quit", every DLQ column shows, a lab's task titles are whole ------
def _quit_key_shown(app) -> bool:
    """Whether the footer's "q Quit" is wholly on screen, left of the docked "^p palette"."""
    from textual.widgets._footer import FooterKey

    keys = list(app.screen.query(FooterKey))
    quit_key = next((k for k in keys if k.key == "q"), None)
    palette = next((k for k in keys if k.action == "command_palette"), None)
    limit = palette.region.x if palette is not None else app.size.width
    return quit_key is not None and quit_key.region.width > 0 and quit_key.region.right <= limit


class _LongDlqs(_Dlqs):
    def __init__(self):
        from sandbox.dlq import DlqSource

        self.queues = [DeadLetterQueue("media-pipeline-IngestDeadLetterQueue-eb970613", "arn:aws:sqs:us-east-1:0:a",
                                       "us-east-1", "http://q", visible=2,
                                       sources=[DlqSource("sqs-redrive", "media-pipeline-UploadsQueue-0123abcd",
                                                          "arn:aws:sqs:us-east-1:0:b", max_receive_count=3)])]


def test_at_80x24_and_100x30_quit_stays_in_the_footer_and_the_dlq_sources_show():
    async def scenario(size):
        app = SandboxApp(backend=_LongDlqs())
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: app.backend_ready and app.screen is app.main_screen, 10, "the app")
            for tab in "12345678":
                await pilot.press(tab)
                await pilot.pause(0.2)
                assert _quit_key_shown(app), f"tab {tab} at {size}: q Quit is cut off the footer"
            await pilot.press("2")
            queues = q(app, "#dlq-queues", DataTable)
            await until(pilot, lambda: queues.row_count == 1, 10, "the queue")
            await pilot.pause(0.2)
            header = queues.render_line(0).text
            assert "sources" in header, header
            row = queues.render_line(1).text
            assert "queue media-pipelin" in row and "depth" in header, row  # the sources, cut with "…" if need be
            assert "media-pipeline-UploadsQueue-0123abcd" in str(queues.get_cell_at((0, 4)))  # held whole

    asyncio.run(scenario((80, 24)))
    asyncio.run(scenario((100, 30)))


def test_a_labs_task_titles_are_whole_at_100x30(tmp_path, monkeypatch):
    """The tasks list read "task▏" and "(solution appl": the title first, the id after it."""
    from tests.tui.test_tui_labs import labs_shown, started_backend

    backend = started_backend(tmp_path, monkeypatch)

    async def scenario():
        app = SandboxApp(backend=backend)
        async with app.run_test(size=(100, 30)) as pilot:
            await labs_shown(pilot, app)
            tasks = q(app, "#labs-tasks", DataTable)
            await until(pilot, lambda: tasks.row_count == 2, 10, "the tasks")
            await pilot.pause(0.2)
            header = tasks.render_line(0).text
            assert header.split()[:1] == ["task"], header
            for i, task in enumerate(app.pane("labs").status["tasks"], 1):
                assert task["title"] in tasks.render_line(i).text, (task["title"], tasks.render_line(i).text)

    asyncio.run(scenario())
