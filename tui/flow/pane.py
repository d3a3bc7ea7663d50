"""Flow: the recorder's live event timeline (every request and hop), filtered; select one to see its trace.

Rows are in the order they started, the time each row shows: a cause comes before what it caused (an Invoke
before its execution), although the recorder hands a span over when it ends.

Through `Sandbox.events()` (long-polled in a worker) and `Sandbox.trace()`. The list is virtual, so 100k spans
cost no more than a screenful; filtering runs in a worker thread on long lists. Without the recorder (a plain
LocalStack) the tab says so.
"""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label
from textual.worker import get_current_worker

from tui.backend import NotAnswering, Unavailable, is_real_error
from tui.flow.waterfall import Waterfall
from tui.format import span_line, span_what
from tui.messages import SpansArrived
from tui.pane import Pane
from tui.pump import Pump
from tui.widgets import Notice, SearchInput, VirtualList, text_matcher


def start_time(span: dict) -> float:
    return span.get("ts") or 0.0


class FlowPane(Pane):
    """Live event timeline from the recorder; enter opens the event's trace as a waterfall."""

    TAB_ID = "flow"
    TAB_TITLE = "Flow"
    BINDINGS = [
        Binding("slash", "search", "Filter", tooltip="Filter the timeline by service, operation, resource or trace id"),
        Binding("e", "toggle_errors", "Errors", tooltip="Show only failed requests and hops, not the existence probes "
                "deployers make on purpose (toggle)"),
        Binding("n", "toggle_noise", "Noise", tooltip="Also show log shipping, polls and role assumption (toggle)"),
        Binding("f", "toggle_follow", "Follow", tooltip="Keep the newest event in view (toggle)"),
        Binding("z", "zoom_trace", "Zoom trace", tooltip="Give the open trace the whole tab, or share it with the timeline (toggle)"),
        Binding("escape", "close_trace", "Close trace", tooltip="Hide the waterfall"),
        Binding("ctrl+l", "clear", "Clear", show=False, tooltip="Empty the view (new events keep coming)"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._query = ""
        self._errors = False
        self._noise = False
        self._pump: Pump | None = None
        self._wanted_trace: str | None = None  # the trace last opened (loads of earlier ones are dropped)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="bar"):
            yield SearchInput(placeholder="filter (/): service, operation, resource, trace id; re:regex",
                        id="flow-search", compact=True)
            yield Label("", id="flow-flags", classes="count")
            yield Label("", id="flow-count", classes="count")
        yield Notice(id="flow-notice")
        timeline = VirtualList(lambda span: span_line(span, self.clock, timeline.scrollable_content_region.width),
                               id="flow-list")
        yield timeline
        yield Waterfall(id="flow-trace")

    def on_mount(self) -> None:
        self.query_one("#flow-trace").display = False
        self.query_one("#flow-notice", Notice).hide()
        self._pump = Pump(self, SpansArrived).start()
        self._apply_filter()

    def backend_ready(self) -> None:
        super().backend_ready()
        self._poll()

    def focus_main(self) -> None:
        waterfall = self.query_one("#flow-trace", Waterfall)
        if waterfall.display and waterfall.trace is not None:
            waterfall.focus_rows()
        else:
            self.query_one("#flow-list", VirtualList).focus()

    # --- incoming --------------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="flow-poll")
    def _poll(self) -> None:
        worker = get_current_worker()
        cursor = None
        failures = 0
        while not worker.is_cancelled:
            started = time.monotonic()
            try:
                spans, new_cursor = self.backend.poll_events(cursor, wait=1.0)
                if failures:
                    self.app.call_from_thread(self._answering_again)
                failures = 0
            except Unavailable as e:
                self.app.call_from_thread(self._unavailable, str(e))
                return
            except Exception as e:  # noqa: BLE001 - the sandbox stopped or restarting: try again, slower
                failures += 1
                if failures == 1 and isinstance(e, NotAnswering):
                    self.app.call_from_thread(self._not_answering, str(e))
                spans, new_cursor = [], cursor
                time.sleep(min(failures, 5))
            if isinstance(cursor, int) and isinstance(new_cursor, int) and new_cursor < cursor:
                new_cursor = None  # a new recorder (the sandbox restarted): start from its newest events
            cursor = new_cursor
            if spans:
                self._pump.extend(spans)
            if not self.backend.live:
                return
            if not spans and time.monotonic() - started < 0.5:
                time.sleep(1.0)  # no long poll (a stopped sandbox answers from its file at once)

    def _not_answering(self, text: str) -> None:
        self.query_one("#flow-notice", Notice).show(
            f"{text}: stopped or restarting? New events appear here once it is back (`sandbox up`).", warning=True)

    def _answering_again(self) -> None:
        self.query_one("#flow-notice", Notice).hide()

    def _unavailable(self, text: str) -> None:
        self.query_one("#flow-notice", Notice).show(
            f"{text}\n\nThe Flow tab shows the recorder's events: it needs the sandbox's embedded backend.",
            warning=True)
        self.query_one("#flow-list").display = False

    def ingest(self, spans: list[dict]) -> None:
        """Adds spans to the timeline (the poller does, through the pump; tests may too)."""
        self._pump.extend(spans)

    def on_spans_arrived(self, message: SpansArrived) -> None:
        message.stop()
        # in start order, as labelled (the recorder sends a span when it ends: a long one arrives late)
        self.query_one("#flow-list", VirtualList).insert_sorted(message.spans, key=start_time)
        self._update_count()

    # --- filters ---------------------------------------------------------------------------------------------
    def _predicate(self):
        query, errors, noise = self._query, self._errors, self._noise
        if not query and not errors and noise:
            return None
        matches = text_matcher(query) if query else None

        def keep(span: dict) -> bool:
            if not noise and span.get("noise"):
                return False
            if errors and not is_real_error(span):  # expected existence probes are not what went wrong
                return False
            if matches is not None:
                text = f"{span_what(span)} {span.get('resource_name') or ''} {span.get('trace_id') or ''} " \
                       f"{span.get('correlation_id') or ''}"
                return matches(text)
            return True

        return keep

    def _apply_filter(self) -> None:
        self.query_one("#flow-list", VirtualList).set_filter(self._predicate())
        flags = []
        if self._errors:
            flags.append("errors only")
        if self._noise:
            flags.append("+noise")
        self.query_one("#flow-flags", Label).update(" ".join(flags))

    @on(Input.Changed, "#flow-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._query = event.value.strip()
        self._apply_filter()

    @on(Input.Submitted, "#flow-search")
    def _search_submitted(self) -> None:
        self.focus_main()

    @on(VirtualList.Filtered, "#flow-list")
    @on(VirtualList.Highlighted, "#flow-list")
    def _filtered(self) -> None:
        self._update_count()

    def _update_count(self) -> None:
        view = self.query_one("#flow-list", VirtualList)
        shown, total = view.shown_count, len(view.rows)
        follow = " · following" if view.follow else ""
        self.query_one("#flow-count", Label).update(f"{shown} of {total} events{follow}")

    # --- actions ---------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The trace's keys (z, esc) are in the footer, and act, only while a trace is open."""
        if action in ("zoom_trace", "close_trace"):
            return self.trace_open
        return True

    @property
    def trace_open(self) -> bool:
        return bool(self.is_mounted and self.query_one("#flow-trace", Waterfall).display)

    def action_search(self) -> None:
        self.query_one("#flow-search", Input).focus()

    def action_toggle_errors(self) -> None:
        self._errors = not self._errors
        self._apply_filter()

    def action_toggle_noise(self) -> None:
        self._noise = not self._noise
        self._apply_filter()

    def action_toggle_follow(self) -> None:
        view = self.query_one("#flow-list", VirtualList)
        view.follow = not view.follow
        if view.follow:
            view.action_last()
        self._update_count()

    def action_clear(self) -> None:
        self.query_one("#flow-list", VirtualList).clear()
        self._update_count()

    def action_close_trace(self) -> None:
        waterfall = self.query_one("#flow-trace", Waterfall)
        if waterfall.display:
            waterfall.display = False
            self._zoom(False)
            self.query_one("#flow-list", VirtualList).focus()
            self.refresh_bindings()

    def action_zoom_trace(self) -> None:
        if self.query_one("#flow-trace", Waterfall).display:
            self._zoom(self.query_one("#flow-list").display)

    def _zoom(self, on: bool) -> None:
        self.query_one("#flow-list").display = not on
        self.query_one("#flow-trace", Waterfall).set_class(on, "-zoomed")

    @on(VirtualList.Selected, "#flow-list")
    def _selected(self, event: VirtualList.Selected) -> None:
        self.open_trace(event.item)

    def open_trace(self, span: dict) -> None:
        """Opens the trace `span` belongs to, with `span` highlighted."""
        trace_id = span.get("trace_id")
        if not trace_id:
            return
        waterfall = self.query_one("#flow-trace", Waterfall)
        waterfall.display = True
        self.refresh_bindings()
        waterfall.show(None, f"loading trace {trace_id} …")
        self._wanted_trace = trace_id
        self._load_trace(trace_id, span.get("span_id"), self._noise or bool(span.get("noise")))

    def find_span(self, correlation_id: str | None = None, request_id: str | None = None) -> dict | None:
        """The span of a Lambda invocation (`request_id`), else the first span of a correlation id, in the
        timeline (newest rows last)."""
        rows = self.query_one("#flow-list", VirtualList).rows
        if request_id:
            found = [s for s in rows if s.get("request_id") == request_id]
            if found:  # the execution itself, rather than the Invoke request that caused it
                return next((s for s in found if s.get("hop") == "lambda-exec"), found[0])
        if correlation_id:
            return next((s for s in rows if s.get("correlation_id") == correlation_id and not s.get("noise")),
                        None)
        return None

    def show_trace_of(self, correlation_id: str | None = None, request_id: str | None = None) -> bool:
        """Jumps to the trace of a log line (its request id or correlation id): filters the timeline by the
        correlation id and opens the trace. False when the timeline has no such span."""
        span = self.find_span(correlation_id, request_id)
        if span is None:
            return False
        if correlation_id:
            self.query_one("#flow-search", Input).value = correlation_id
        self.open_trace(span)
        return True

    @work(thread=True, exclusive=True, group="flow-trace")
    def _load_trace(self, trace_id: str, span_id: str | None, noise: bool) -> None:
        try:
            trace = self.backend.trace(trace_id, all=noise)
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self._trace_loaded, trace_id, None, span_id, f"trace {trace_id}: {e}")
            return
        self.app.call_from_thread(self._trace_loaded, trace_id, trace, span_id)

    def _trace_loaded(self, trace_id: str, trace: dict | None, span_id: str | None, error: str | None = None) -> None:
        if trace_id != self._wanted_trace:  # a slower load of a trace opened before the one now wanted
            return
        waterfall = self.query_one("#flow-trace", Waterfall)
        waterfall.show(trace, error, span_id=span_id)
        if trace is not None:
            waterfall.focus_rows()
