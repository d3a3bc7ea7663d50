"""Terminal rendering (rich) of events, trace waterfalls, the service map and cost estimates."""

from __future__ import annotations

import datetime

from rich import box
from rich.table import Table
from rich.text import Text

from sandbox.observability.labels import caller_label
from sandbox.observability.labels import span_what as what
from sandbox.observability.probes import failed_records
from sandbox.observability.resources import short_name

BAR_WIDTH = 40


def _clock(ts: float | None) -> str:
    if not ts:
        return "-"
    return datetime.datetime.fromtimestamp(ts).strftime("%H:%M:%S.%f")[:-3]


def outcome(span: dict) -> Text:
    error = span.get("error")
    if error:
        code = error.get("code") or "error"
        return Text(str(code), style="bold red")
    failed = failed_records(span)
    if failed:
        if span["attrs"].get("report_batch_item_failures") is False:  # Lambda deleted the whole batch
            return Text(f"batch: {failed} failed, ignored (no ReportBatchItemFailures: all deleted)", style="bold red")
        return Text(f"batch: {failed} failed", style="bold yellow")
    status = span.get("status")
    return Text(str(status) if status is not None else "ok", style="green")


def event_line(span: dict) -> Text:
    line = Text()
    line.append(_clock(span.get("ts")), style="dim")
    line.append(f"  {what(span):<34}", style="dim" if span.get("noise") else "bold")
    line.append(f" {(span.get('resource_name') or '-')[:40]:<40} ")
    line.append_text(outcome(span))
    line.append(f"  {span.get('duration_ms', 0):>8.1f} ms", style="cyan")
    line.append(f"  {caller_label(span.get('caller'))}", style="magenta")
    extras = []
    attrs = span.get("attrs") or {}
    if attrs.get("attempt"):
        extras.append(f"attempt {attrs['attempt']}")
    if span.get("hop") == "lambda-exec":
        cold = ", cold" if attrs.get("cold") else ""
        extras.append(f"{attrs.get('memory_mb')} MB, billed {attrs.get('billed_ms')} ms{cold}")
    if span.get("injected"):
        extras.append("fault injected")
    if span.get("correlation_id"):
        extras.append(f"corr {span['correlation_id']}")
    if extras:
        line.append(f"  ({'; '.join(extras)})", style="yellow")
    line.append(f"  {span.get('trace_id')}", style="dim")
    return line


def events_table(events: list[dict]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("seq", "time", "call", "resource", "result", "ms", "caller", "trace"):
        table.add_column(column, no_wrap=column in ("seq", "time", "ms", "trace"))
    for span in events:
        table.add_row(str(span.get("seq")), _clock(span.get("ts")),
                      Text(what(span), style="dim" if span.get("noise") else ""),
                      Text(span.get("resource_name") or "-"), outcome(span), f"{span.get('duration_ms', 0):.1f}",
                      Text(caller_label(span.get("caller"))), Text(span.get("trace_id") or ""))
    return table


def waterfall(trace: dict) -> Table:
    """One row per span, indented under its parent, with a bar placed on the trace's time line."""
    start = trace.get("start") or 0
    total = max(trace.get("duration_ms") or 0, 0.001)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  title=f"trace {trace.get('trace_id')}  ·  {len(trace.get('spans', []))} spans  ·  "
                        f"{total:.1f} ms  ·  {trace.get('errors', 0)} error(s)")
    table.add_column("span", no_wrap=True)
    table.add_column("resource", overflow="ellipsis", max_width=36)
    table.add_column("result", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("timeline", no_wrap=True)
    for span in trace.get("spans", []):
        depth = span.get("depth", 0)
        offset = ((span.get("ts") or start) - start) * 1000
        left = int(offset / total * BAR_WIDTH)
        width = max(1, int(round((span.get("duration_ms") or 0) / total * BAR_WIDTH)))
        left = min(left, BAR_WIDTH - 1)
        width = min(width, BAR_WIDTH - left)
        style = "red" if span.get("error") else "yellow" if span.get("kind") == "hop" else "cyan"
        bar = Text(" " * left)
        bar.append("█" * width, style=style)
        bar.append(" " * (BAR_WIDTH - left - width))
        bar.append(f" +{offset:.0f}ms", style="dim")
        label = Text("  " * depth + ("└ " if depth else ""))
        label.append(what(span), style="dim" if span.get("noise") else "bold")
        attrs = span.get("attrs") or {}
        if attrs.get("attempt"):
            label.append(f" #{attrs['attempt']}", style="yellow")
        if span.get("hop") == "lambda-exec" and attrs.get("cold"):
            label.append(" cold", style="yellow")
        if span.get("injected"):
            label.append(" ⚡fault", style="bold red")
        table.add_row(label, Text(span.get("resource_name") or "-"), outcome(span),
                      f"{span.get('duration_ms', 0):.1f}", bar)
    return table


def graph_table(graph: dict) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="service map (caller → callee)")
    for column in ("caller", "", "callee", "calls", "errors", "p50 ms", "operations"):
        table.add_column(column, justify="right" if column in ("calls", "errors", "p50 ms") else "left")
    for edge in graph.get("edges", []):
        ops = ", ".join(f"{op.split(':', 1)[1]}×{n}" for op, n in sorted(edge["operations"].items()))
        table.add_row(Text(edge["source_label"]), "→", Text(edge["target_label"]), str(edge["count"]),
                      Text(str(edge["errors"]), style="red" if edge["errors"] else ""),
                      f"{edge['p50_ms']:.1f}" if edge.get("p50_ms") is not None else "-", Text(ops))
    return table


ITEM_LABELS = {
    "requests": "requests", "gb_seconds_x86_64": "GB-seconds (x86_64)", "gb_seconds_arm64": "GB-seconds (arm64)",
    "rest_requests": "REST API requests", "http_requests": "HTTP API requests (512 KB units)", "standard_requests": "requests (standard, 64 KB chunks)",
    "fifo_requests": "requests (FIFO, 64 KB chunks)", "state_transitions": "state transitions (Standard)",
    "write_request_units": "write request units", "read_request_units": "read request units",
    "tier1_requests": "PUT/COPY/POST/LIST requests", "tier2_requests": "GET and other requests",
    "custom_events": "custom events", "emails": "emails",
}


def _price(value: float) -> str:
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return f"${text}"


def cost_table(estimate: dict) -> Table:
    window = estimate.get("window") or {}
    title = (f"estimated AWS cost, {estimate.get('region')} list prices ({estimate.get('prices_as_of')}), "
             f"{window.get('spans', 0)} spans {_clock(window.get('from_ts'))} – {_clock(window.get('to_ts'))}")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=title)
    for column in ("service", "item", "quantity", "unit price", "cost (USD)"):
        table.add_column(column, justify="right" if column not in ("service", "item") else "left")
    for line in estimate.get("lines", []):
        quantity = line["quantity"]
        table.add_row(line["service"], ITEM_LABELS.get(line["item"], line["item"].replace("_", " ")),
                      f"{quantity:,.6g}", _price(line["unit_price"]), f"${line['cost']:.8f}")
    table.add_section()
    table.add_row("total", "", "", "", Text(f"${estimate.get('total', 0):.8f}", style="bold"))
    sources = sorted({line["source"] for line in estimate.get("lines", []) if line.get("source")})
    if sources:
        table.caption = "prices: " + ", ".join(sources)
    return table
