"""How the TUI writes times, spans and log lines (one-line rich Texts for the virtual lists).

Times: live views show the wall clock; replay views show the offset from the start of the recording, so
screenshots and snapshot tests do not depend on when the run happened.
"""

from __future__ import annotations

import datetime
import re

from rich.text import Text

# one naming of spans, the sandbox's
from tui.backend import caller_label, failed_records, probe_of, span_what  # noqa: F401

LEVEL_STYLES = {"ERROR": "bold red", "WARNING": "yellow", "INFO": "", "DEBUG": "dim", "PLATFORM": "blue"}
LEVEL_TAGS = {"ERROR": "ERR ", "WARNING": "WARN", "INFO": "INFO", "DEBUG": "DBG ", "PLATFORM": "λ   ", "": "    "}


class Clock:
    """Formats timestamps: absolute (HH:MM:SS.mmm) or relative to `base` (+SSS.mmm s)."""

    def __init__(self, base: float | None = None):
        self.base = base

    def __call__(self, ts: float | None) -> str:
        if not ts:
            return "-"
        if self.base is not None:
            return f"+{ts - self.base:.3f}s"
        return datetime.datetime.fromtimestamp(ts).strftime("%H:%M:%S.%f")[:-3]


_CFN_NAME = re.compile(r"^(?P<stack>.+?)-(?P<logical>[A-Z][A-Za-z0-9]+)-(?P<suffix>[A-Za-z0-9]{6,})$")


def short_name(name: str, width: int = 28) -> str:
    """A CloudFormation-made name `<stack>-<LogicalId>-<suffix>` as its logical id; anything else shortened."""
    found = _CFN_NAME.match(name)
    if found:
        name = found.group("logical")
    return name if len(name) <= width else name[: width // 2 - 1] + "…" + name[-(width - width // 2):]


def one_line(text: str, limit: int = 400) -> str:
    """`text` on one line: tabs as two spaces, line breaks as ⏎ ("\\r" too: a Python traceback in one log event)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "  ")
    if "\n" in text:
        text = text.replace("\n", " ⏎ ")
    return text[:limit]


PROBE_MARK = " probe"


def span_outcome(span: dict, width: int = 22) -> Text:
    """The error code (red), an expected existence probe's code marked as such (not red), else the status."""
    error = span.get("error")
    if error:
        code = str(error.get("code") or "error")
        if probe_of(span) is not None:
            room = max(width - len(PROBE_MARK), 1)
            text = Text(code if len(code) <= room else code[: room - 1] + "…", style="yellow")
            text.append(PROBE_MARK, style="dim")
            return text
        return Text(code if len(code) <= width else code[: width - 1] + "…", style="bold red")
    failed = failed_records(span)
    if failed:  # a batch answer that listed records failed: a success to Lambda, a retry for the records...
        ignored = span["attrs"].get("report_batch_item_failures") is False  # ...or, without ReportBatchItemFailures, none
        label = f"batch: {failed} lost" if ignored else f"batch: {failed} failed"  # details pane: the full story
        return Text(label if len(label) <= width else label[: width - 1] + "…",
                    style="bold red" if ignored else "bold yellow")
    status = span.get("status")
    return Text(str(status) if status is not None else "ok", style="green")


def _clamp(value: float, low: int, high: int) -> int:
    return int(max(low, min(high, value)))


def span_line(span: dict, clock: Clock, width: int = 120) -> Text:
    """One timeline row; the columns share `width` (what was done, outcome, resource, caller grow with it)."""
    rest = max(width - 24, 40)  # after the time (12+1) and the duration (10+1)
    what_w = _clamp(rest * 0.3, 22, 44)
    outcome_w = _clamp(rest * 0.16, 12, 28)
    caller_w = _clamp(rest * 0.18, 10, 36) if width >= 100 else 0  # narrow: the resource matters more
    resource_w = max(10, rest - what_w - outcome_w - (caller_w + 3 if caller_w else 0) - 1)
    line = Text(no_wrap=True)
    line.append(f"{clock(span.get('ts')):>12} ", style="dim")
    what = span_what(span)
    what = what if len(what) <= what_w else what[: what_w - 1] + "…"
    line.append(f"{what:<{what_w}} ", style="dim" if span.get("noise") else "bold")
    outcome = span_outcome(span, outcome_w)
    outcome.truncate(outcome_w, pad=True)
    line.append_text(outcome)
    line.append(f"{span.get('duration_ms') or 0:>8.1f}ms ", style="cyan")
    resource = Text(short_name(span.get("resource_name") or "-", resource_w))
    if span.get("injected"):
        resource.append(" ⚡fault", style="bold red")
    attrs = span.get("attrs") or {}
    if attrs.get("attempt"):
        resource.append(f" #{attrs['attempt']}", style="yellow")
    if span.get("hop") == "lambda-exec" and attrs.get("cold"):
        resource.append(" cold", style="yellow")
    resource.truncate(resource_w, overflow="ellipsis", pad=True)
    line.append_text(resource)
    if caller_w:
        line.append(f" ← {short_name(caller_label(span.get('caller')), caller_w)}", style="magenta")
    return line


def log_line(line, clock: Clock) -> Text:
    level = line.level
    text = Text(no_wrap=True)
    text.append(f"{clock(line.time):>12} ", style="dim")
    text.append(f"{LEVEL_TAGS.get(level, '    ')} ", style=LEVEL_STYLES.get(level, ""))
    text.append(f"{short_name(line.function, 24):<24} ", style="magenta")
    parsed = line.json
    if isinstance(parsed, dict):
        message = parsed.get("message") or parsed.get("msg")
        rest = {k: v for k, v in parsed.items() if k not in ("message", "msg", "level", "timestamp", "time")}
        text.append(one_line(str(message)) if message is not None else "", style=LEVEL_STYLES.get(level, ""))
        if rest:
            text.append(" " + one_line(" ".join(f"{k}={v}" for k, v in list(rest.items())[:6])), style="dim")
    else:
        text.append(one_line(line.message), style=LEVEL_STYLES.get(level, ""))
    return text


def table_cell(value, style: str = "") -> Text:
    """A DataTable cell that never wraps: a value longer than its column ends with an ellipsis."""
    text = value if isinstance(value, Text) else Text(str(value), style=style)
    text.no_wrap, text.overflow, text.end = True, "ellipsis", ""
    return text
