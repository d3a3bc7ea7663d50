"""CloudWatch Logs of the Lambda functions: every function's log group merged into one stream, searched, followed.

    from sandbox import Sandbox
    logs = Sandbox().logs                       # FunctionLogs of the default region
    logs.groups()                               # ["/aws/lambda/orders-fn", ...]
    for line in logs.read(since=time.time() - 300, contains="error"):
        print(line.function, line.level, line.message)
    lines, cursor = logs.poll()                 # everything so far, oldest first ...
    lines, cursor = logs.poll(cursor)           # ... then only what arrived since
    for line in logs.follow():                  # blocking generator (stop=threading.Event() to end it)
        ...

Lines are `LogLine`s: time, group, stream, message (without its trailing newline), the function's name, a level
(ERROR, WARNING, INFO, DEBUG, or PLATFORM for the START/END/REPORT lines of the runtime) and the message parsed as
JSON when it is JSON (structured logs, e.g. aws-lambda-powertools), and the Lambda request id the line names in any
form a runtime prints it (REQUEST_ID_FORMS; `enclosing_request_id` for a line that names none, such as a print).

Following. Log events can reach CloudWatch Logs a moment after later ones (they are shipped in batches, per
environment), so a poll looks back `LOOKBACK_MS` before the newest event it has seen and leaves out the events
it already returned (by eventId), instead of starting strictly after the newest timestamp.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

LAMBDA_PREFIX = "/aws/lambda/"
LOOKBACK_MS = 10_000

LEVELS = ("ERROR", "WARNING", "INFO", "DEBUG", "PLATFORM")
_LEVEL_NAMES = {"CRITICAL": "ERROR", "FATAL": "ERROR", "ERROR": "ERROR", "WARN": "WARNING", "WARNING": "WARNING",
                "INFO": "INFO", "DEBUG": "DEBUG", "TRACE": "DEBUG"}
_PLATFORM = re.compile(r"^(START RequestId:|END RequestId:|REPORT RequestId:|INIT_START |EXTENSION |"
                       r"TELEMETRY |RequestId: \S+ Error:)")
# "[ERROR] ...", "[WARNING]\t2026-...", "ERROR: ...", "2026-01-01T00:00:00Z ERROR ...", Node's "\tERROR\t"
_BRACKETED = re.compile(r"^\[(CRITICAL|FATAL|ERROR|WARN|WARNING|INFO|DEBUG|TRACE)\]", re.IGNORECASE)
_WORD = re.compile(r"(?:^|[\s\t|])(CRITICAL|FATAL|ERROR|WARN|WARNING|INFO|DEBUG|TRACE)(?:[\s\t:|]|$)")
_ERRORISH = re.compile(r"Task timed out after|Traceback \(most recent call last\)|Runtime\.ExitError|"
                       r"^\s*File \".*\", line \d+|Error: |Exception: ")


_UUID = r"(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
_STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
# Every way a Lambda runtime names the invocation in a text line (the id is group "id"); the first match wins.
REQUEST_ID_FORMS: tuple[tuple[str, re.Pattern], ...] = tuple((name, re.compile(pattern)) for name, pattern in (
    ("platform: START/END/REPORT RequestId: <id>", rf"^(?:START|END|REPORT) RequestId: {_UUID}"),
    ("runtime failure: RequestId: <id> Error: ...", rf"^RequestId: {_UUID}\s+Error:"),
    ("timeout: <time> <id> Task timed out after", rf"{_UUID}\s+Task timed out after"),
    ("Python logging: [LEVEL] <time> <id> ... (tabs)", rf"^\[[A-Za-z]+\]\t{_STAMP}\t{_UUID}\t"),
    ("Node.js, .NET: <time> <id> LEVEL ... (tabs)", rf"^{_STAMP}\t{_UUID}\t"),
    ("any tab-separated id", rf"\t{_UUID}(?:\t|$)"),
    ("any RequestId: <id>", rf"RequestId:\s*{_UUID}"),
))
REQUEST_ID_KEYS = ("function_request_id", "aws_request_id", "requestId", "request_id", "awsRequestId",
                   "AWSRequestId", "lambda_request_id")
CORRELATION_KEYS = ("correlation_id", "correlationId", "x-correlation-id")


def parse_json(message: str) -> object | None:
    """The message as JSON when it is a JSON object or array, else None."""
    text = message.strip()
    if not text or text[0] not in "{[":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def level_of(message: str, parsed: object | None = None) -> str:
    """ERROR, WARNING, INFO, DEBUG, PLATFORM (the runtime's START/END/REPORT lines), or "" when unknown."""
    if parsed is None:
        parsed = parse_json(message)
    if isinstance(parsed, dict):
        for key in ("level", "levelname", "severity", "log_level", "logLevel", "lvl"):
            value = parsed.get(key)
            if isinstance(value, str) and value.upper() in _LEVEL_NAMES:
                return _LEVEL_NAMES[value.upper()]
    if _PLATFORM.match(message):
        return "ERROR" if message.startswith("RequestId:") else "PLATFORM"
    found = _BRACKETED.match(message)
    if found:
        return _LEVEL_NAMES[found.group(1).upper()]
    found = _WORD.search(message[:80])
    if found:
        return _LEVEL_NAMES[found.group(1).upper()]
    if _ERRORISH.search(message):
        return "ERROR"
    return ""


def request_id_of(message: str, parsed: object | None = None) -> str | None:
    """The Lambda request id a log line names: a structured log's field (Powertools' function_request_id,
    "requestId", "awsRequestId", ...), else the first of REQUEST_ID_FORMS that matches its text."""
    if parsed is None:
        parsed = parse_json(message)
    if isinstance(parsed, dict):
        for key in REQUEST_ID_KEYS:
            if isinstance(parsed.get(key), str) and parsed[key]:
                return parsed[key]
    head = message[:300]
    for _, form in REQUEST_ID_FORMS:
        found = form.search(head)
        if found:
            return found.group("id")
    return None


def enclosing_request_id(lines: Sequence["LogLine"], index: int, lookback: int = 2000) -> str | None:
    """The invocation a line without an id of its own (a print, a traceback) was written in: an execution
    environment runs one invocation at a time, so it is the START before it in the same log stream, unless an
    END or REPORT of that stream comes between them (then the line was written between invocations)."""
    line = lines[index]
    for other in reversed(lines[max(0, index - lookback):index]):
        if other.group != line.group or other.stream != line.stream:
            continue
        if other.message.startswith("START RequestId:"):
            return other.request_id
        if other.message.startswith(("END RequestId:", "REPORT RequestId:")):
            return None
    return None


@dataclass(frozen=True)
class LogLine:
    time: float  # seconds since the epoch, as the function logged it
    group: str
    message: str
    stream: str = ""
    event_id: str = ""

    @property
    def function(self) -> str:
        return self.group[len(LAMBDA_PREFIX):] if self.group.startswith(LAMBDA_PREFIX) else self.group

    @property
    def text(self) -> str:
        """The message as lines: a runtime's one-event traceback or multi-line record has "\\r" between its lines."""
        return self.message.replace("\r\n", "\n").replace("\r", "\n")

    @property
    def json(self) -> object | None:
        return parse_json(self.message)

    @property
    def level(self) -> str:
        return level_of(self.message)

    @property
    def request_id(self) -> str | None:
        """The Lambda request id the line names (see `request_id_of`)."""
        return request_id_of(self.message, self.json)

    @property
    def correlation_id(self) -> str | None:
        """A structured log's correlation id (Powertools' `correlation_id`), if it has one."""
        parsed = self.json
        if isinstance(parsed, dict):
            for key in CORRELATION_KEYS:
                if isinstance(parsed.get(key), str) and parsed[key]:
                    return parsed[key]
        return None

    def pretty(self) -> str:
        """The message, JSON pretty-printed when it is JSON."""
        parsed = self.json
        return json.dumps(parsed, indent=2, ensure_ascii=False) if parsed is not None else self.message

    def as_dict(self) -> dict:
        return {"time": self.time, "group": self.group, "function": self.function, "stream": self.stream,
                "event_id": self.event_id, "level": self.level, "message": self.message}


@dataclass
class LogCursor:
    """Where a follower is: per log group, the newest timestamp seen and the ids of the events near it."""

    newest_ms: dict[str, int] = field(default_factory=dict)
    seen: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> {event key: timestamp ms}
    since_ms: int | None = None  # for groups that appear later: where to start


def _key(event: dict) -> str:
    return event.get("eventId") or f"{event.get('timestamp')}|{event.get('logStreamName')}|{event.get('message')}"


class FunctionLogs:
    """Log groups of the Lambda functions in one region (what `Sandbox.logs` returns)."""

    def __init__(self, sb, region: str | None = None, prefix: str = LAMBDA_PREFIX):
        self.sb = sb
        self.region = region or sb.settings.region
        self.prefix = prefix

    @property
    def client(self):
        # reads only: an observer client, so the recorder files them as platform noise (not your traffic)
        return self.sb.client("logs", self.region, observer=True)

    def in_region(self, region: str) -> "FunctionLogs":
        return FunctionLogs(self.sb, region, self.prefix)

    # --- what there is -----------------------------------------------------------------------------------
    def groups(self) -> list[str]:
        """The log groups of the functions, sorted."""
        names = []
        for page in self.client.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=self.prefix):
            names += [g["logGroupName"] for g in page.get("logGroups", [])]
        return sorted(names)

    def _groups_for(self, functions: Iterable[str] | None) -> list[str]:
        if functions is None:
            return self.groups()
        return [f if f.startswith("/") else f"{self.prefix}{f}" for f in functions]

    def _events(self, group: str, start_ms: int | None, end_ms: int | None = None) -> Iterator[dict]:
        kwargs: dict = {"logGroupName": group}
        if start_ms is not None:
            kwargs["startTime"] = max(int(start_ms), 0)
        if end_ms is not None:
            kwargs["endTime"] = int(end_ms)
        try:
            for page in self.client.get_paginator("filter_log_events").paginate(**kwargs):
                yield from page.get("events", [])
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise  # a group deleted between listing and reading (a reset) just has nothing to say

    @staticmethod
    def _line(group: str, event: dict) -> LogLine:
        return LogLine(time=event.get("timestamp", 0) / 1000, group=group,
                       message=(event.get("message") or "").rstrip("\n"), stream=event.get("logStreamName", ""),
                       event_id=event.get("eventId", ""))

    # --- reading -------------------------------------------------------------------------------------------
    def read(self, since: float | None = None, until: float | None = None, functions: Iterable[str] | None = None,
             contains: str | None = None, level: str | None = None, limit: int | None = 10_000) -> list[LogLine]:
        """The lines of every (or the given) function, merged in time order; `contains` is a case-insensitive
        substring, `level` one of LEVELS; `limit` keeps the newest."""
        needle = contains.lower() if contains else None
        out: list[LogLine] = []
        for group in self._groups_for(functions):
            for event in self._events(group, None if since is None else since * 1000,
                                      None if until is None else until * 1000):
                line = self._line(group, event)
                if needle and needle not in line.message.lower():
                    continue
                if level and line.level != level:
                    continue
                out.append(line)
        out.sort(key=lambda line: (line.time, line.group))
        return out[-limit:] if limit else out

    def poll(self, cursor: LogCursor | None = None, functions: Iterable[str] | None = None,
             since: float | None = None) -> tuple[list[LogLine], LogCursor]:
        """New lines since `cursor` (everything, or since `since`, without one), oldest first, and the next cursor."""
        if cursor is None:
            cursor = LogCursor(since_ms=None if since is None else int(since * 1000))
        new: list[LogLine] = []
        for group in self._groups_for(functions):
            newest = cursor.newest_ms.get(group)
            start = (newest - LOOKBACK_MS) if newest is not None else cursor.since_ms
            seen = cursor.seen.setdefault(group, {})
            for event in self._events(group, start):
                key = _key(event)
                if key in seen:
                    continue
                ts = int(event.get("timestamp", 0))
                seen[key] = ts
                newest = ts if newest is None else max(newest, ts)
                new.append(self._line(group, event))
            if newest is not None:
                cursor.newest_ms[group] = newest
                horizon = newest - LOOKBACK_MS
                for key in [k for k, ts in seen.items() if ts < horizon]:
                    del seen[key]
        new.sort(key=lambda line: (line.time, line.group))
        return new, cursor

    def follow(self, since: float | None = None, interval: float = 1.0, stop: threading.Event | None = None,
               functions: Iterable[str] | None = None) -> Iterator[LogLine]:
        """Yields lines as they arrive (from `since`; default: from now) until `stop` is set."""
        stop = stop or threading.Event()
        cursor = LogCursor(since_ms=int((time.time() if since is None else since) * 1000))
        while not stop.is_set():
            lines, cursor = self.poll(cursor, functions)
            yield from lines
            stop.wait(interval)
