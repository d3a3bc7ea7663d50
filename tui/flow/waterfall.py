"""A trace as a waterfall: one row per span, indented under its parent, a bar on the trace's time line; the
highlighted span's details (payloads, error, injected fault, ids) beside or below it.

The rows are a `VirtualList`, so a trace of thousands of spans scrolls as cheaply as a short one, and the keys
and mouse work as in the timeline: up/down move, the details follow.
"""

from __future__ import annotations

import json

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from tui.format import caller_label, failed_records, probe_of, span_outcome, span_what
from tui.widgets import VerticalScrollPane, VirtualList

MS_WIDTH = 9
WIDE = 150  # columns from which the span's details go beside the waterfall, not below


class Waterfall(Vertical):
    """`show(trace)` draws it; `trace` is what is shown (None: a message instead), `span` the highlighted span."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trace: dict | None = None
        self._message: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="trace-title")
        with Vertical(id="trace-body"):
            rows = VirtualList(self._row, id="trace-spans")
            rows.follow = False
            yield rows
            with VerticalScrollPane(id="span-detail-box"):
                yield Static("", id="span-detail", classes="detail")

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")
        self.query_one("#trace-title", Static).update(self._title())

    @property
    def rows(self) -> VirtualList:
        return self.query_one("#trace-spans", VirtualList)

    def show(self, trace: dict | None, message: str | None = None, span_id: str | None = None) -> None:
        """Shows `trace` with the span `span_id` highlighted (else its first error, else its root)."""
        self.trace, self._message = trace, message
        spans = (trace or {}).get("spans") or []
        self.query_one("#trace-title", Static).update(self._title())
        self.query_one("#trace-body").display = bool(spans)
        rows = self.rows
        rows.set_rows(spans)
        if spans:
            wanted = next((i for i, s in enumerate(spans) if span_id and s.get("span_id") == span_id), None)
            if wanted is None:
                wanted = next((i for i, s in enumerate(spans) if s.get("error")), 0)
            rows.move_to(wanted)
            rows.follow = False
            self._show_span(spans[wanted])

    def focus_rows(self) -> None:
        self.rows.focus()

    # --- drawing ---------------------------------------------------------------------------------------------
    def _title(self) -> Text:
        trace = self.trace
        if trace is None:
            return Text(self._message or "Select an event (enter) to see its trace.", style="dim")
        spans = trace.get("spans") or []
        total = float(trace.get("duration_ms") or 0)
        title = Text(no_wrap=True, overflow="ellipsis")
        trace_id = str(trace.get("trace_id"))
        narrow = self.size.width < 100
        title.append(f"trace …{trace_id[-12:]}" if narrow else f"trace {trace_id}", style="bold")
        title.append(f" · {len(spans)} spans · {total:.0f} ms · " if narrow
                     else f"  ·  {len(spans)} spans  ·  {total:.1f} ms  ·  ", style="dim")
        probes = sum(1 for s in spans if probe_of(s) is not None)  # expected "no"s: not counted as errors
        errors = max(trace.get("errors", 0) - probes, 0)
        title.append(f"{errors} error(s)", style="bold red" if errors else "dim")
        if probes:
            title.append(f" · {probes} expected probe(s)", style="yellow")
        injected = sum(1 for s in spans if s.get("injected"))
        if injected:
            title.append(f"  ·  ⚡ {injected} injected", style="bold red")
        if trace.get("orphans"):
            title.append(f"  ·  {len(trace['orphans'])} orphan(s) at the top level", style="yellow")
        return title

    def _row(self, span: dict) -> Text:
        trace = self.trace or {}
        start = trace.get("start") or 0
        total = max(float(trace.get("duration_ms") or 0), 0.001)
        width = max(self.rows.scrollable_content_region.width, 50)
        label_width = max(24, min(48, int(width * 0.4)))
        outcome_width = max(8, min(24, int(width * 0.12)))
        bar_width = max(6, width - label_width - MS_WIDTH - outcome_width - 3)
        depth = span.get("depth", 0)
        offset = ((span.get("ts") or start) - start) * 1000
        left = max(0, min(int(offset / total * bar_width), bar_width - 1))
        size = max(1, int(round((span.get("duration_ms") or 0) / total * bar_width)))
        size = min(size, bar_width - left)
        failed = span.get("error") and probe_of(span) is None  # an expected probe's "no" is not drawn as a failure
        style = "red" if failed else "yellow" if span.get("kind") == "hop" else "cyan"
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
        outcome = span_outcome(span, outcome_width)
        outcome.truncate(outcome_width, pad=True)
        row.append_text(outcome)
        row.append(" ")
        row.append(" " * left)
        row.append("█" * size, style=style)
        row.append(" " * (bar_width - left - size))
        return row

    @on(VirtualList.Highlighted, "#trace-spans")
    def _highlighted(self, event: VirtualList.Highlighted) -> None:
        event.stop()
        self._show_span(event.item)

    @on(VirtualList.Selected, "#trace-spans")
    def _selected(self, event: VirtualList.Selected) -> None:
        event.stop()
        self._show_span(event.item)

    def _show_span(self, span: dict) -> None:
        self.query_one("#span-detail", Static).update(span_details(span, dark=self.app.current_theme.dark))
        self.query_one("#span-detail-box", VerticalScroll).scroll_home(animate=False)


def _payload(text: str | None, dark: bool):
    """A request/response preview: JSON pretty-printed when it parses, else as it is."""
    try:
        parsed = json.loads(text)
    except (TypeError, ValueError):
        return Text(text)
    if isinstance(parsed, str):  # a JSON document inside a JSON string (a Lambda payload, an SQS body)
        try:
            parsed = json.loads(parsed)
        except ValueError:
            return Text(parsed)
    return Syntax(json.dumps(parsed, indent=2, ensure_ascii=False), "json", word_wrap=True,
                  theme="ansi_dark" if dark else "ansi_light", background_color="default")


def span_details(span: dict, dark: bool = True) -> Group:
    """Everything the recorder kept about one span, most telling first: outcome, fault, error, payloads, ids."""
    head = Text()
    head.append(span_what(span), style="bold")
    head.append("  ")
    head.append_text(span_outcome(span))
    head.append(f"  {span.get('duration_ms') or 0:.1f} ms", style="cyan")
    if span.get("resource_name"):
        head.append(f"  {span['resource_name']}")
    head.append(f"  ← {caller_label(span.get('caller'))}", style="magenta")
    parts: list = [head]
    if span.get("injected"):
        fault = Text("⚡ injected fault  ", style="bold red")
        fault.append(json.dumps(span["injected"], default=str), style="red")
        parts.append(fault)
    probe = probe_of(span)
    if probe is not None:
        error = span["error"]
        line = Text("? expected probe: ", style="bold yellow")
        line.append(f"{error.get('code') or 'error'}: {error.get('message') or ''}", style="yellow")
        line.append(f"\n  {probe.why}: not counted by Flow's errors only (e)", style="dim")
        parts.append(line)
    elif span.get("error"):
        error = span["error"]
        line = Text("✘ ", style="bold red")
        line.append(f"{error.get('code') or 'error'}: ", style="bold red")
        line.append(str(error.get("message") or ""), style="red")
        parts.append(line)
    failed = failed_records(span)
    if failed:
        if span["attrs"].get("report_batch_item_failures") is False:
            parts.append(Text(f"✘ the answer listed {failed} failed record(s), but the mapping has no "
                              "FunctionResponseTypes: [ReportBatchItemFailures]: Lambda deleted the whole batch, "
                              "failed records included", style="bold red"))
        else:
            parts.append(Text(f"! the answer listed {failed} failed record(s): they are received again, then "
                              "go to the queue's DLQ (ReportBatchItemFailures)", style="bold yellow"))
    attrs = {k: v for k, v in (span.get("attrs") or {}).items() if v not in (None, "", [], {})}
    if attrs:
        parts.append(Text(" · ".join(f"{k}={v}" for k, v in attrs.items()), style="yellow"))
    for key, label in (("request", "request"), ("response", "response")):
        if span.get(key):
            parts.append(Text(f"{label} ▾", style="bold underline"))
            parts.append(_payload(span[key], dark))
    if not span.get("request") and not span.get("response"):
        parts.append(Text("no payload recorded for this span", style="dim italic"))
    facts = Text(style="dim")
    for key, label in (("correlation_id", "correlation"), ("request_id", "request id"), ("resource", "resource"),
                       ("span_id", "span"), ("parent_id", "parent")):
        if span.get(key):
            facts.append(f"{label:<13}{span[key]}\n")
    facts.rstrip()
    parts.append(facts)
    return Group(*parts)
