"""How the TUI writes times, spans and log lines (one-line rich Texts for the virtual lists).

Times: live views show the wall clock; replay views show the offset from the start of the recording, so
screenshots and snapshot tests do not depend on when the run happened.
"""

from __future__ import annotations

import datetime
import re

from rich.text import Text

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
    text = text.replace("\r", "").replace("\t", "  ")
    if "\n" in text:
        text = text.replace("\n", " ⏎ ")
    return text[:limit]


def span_what(span: dict) -> str:
    hop = span.get("hop")
    label = f"{span.get('service')} {span.get('operation')}"
    return f"{label} [{hop}]" if hop else label


def span_outcome(span: dict) -> Text:
    error = span.get("error")
    if error:
        return Text(str(error.get("code") or "error")[:22], style="bold red")
    status = span.get("status")
    return Text(str(status) if status is not None else "ok", style="green")


def caller_label(caller: dict | None) -> str:
    if not caller or caller.get("kind") == "external":
        return "external"
    if caller.get("kind") == "lambda":
        return f"λ {caller.get('name')}"
    return caller.get("name") or "service"


def span_line(span: dict, clock: Clock) -> Text:
    line = Text(no_wrap=True)
    line.append(f"{clock(span.get('ts')):>10} ", style="dim")
    line.append(f"{span_what(span)[:30]:<30} ", style="dim" if span.get("noise") else "bold")
    outcome = span_outcome(span)
    outcome.truncate(14, pad=True)
    line.append_text(outcome)
    line.append(f"{span.get('duration_ms') or 0:>8.1f}ms ", style="cyan")
    line.append(short_name(span.get("resource_name") or "-", 32), style="")
    if span.get("injected"):
        line.append(" ⚡fault", style="bold red")
    attrs = span.get("attrs") or {}
    if attrs.get("attempt"):
        line.append(f" #{attrs['attempt']}", style="yellow")
    if span.get("hop") == "lambda-exec" and attrs.get("cold"):
        line.append(" cold", style="yellow")
    line.append(f"  ← {short_name(caller_label(span.get('caller')), 32)}", style="magenta")
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
