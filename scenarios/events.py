"""The events of a scenario run, typed: what the runner emits, what a recording holds, what every surface shows.

The runner emits them to its listeners (the CLI prints them, the TUI renders them) and writes them, one JSON
object a line, to the run's recording (`.sandbox/runs/*.jsonl`), which `scenarios.replay` and the TUI's replay
mode read back. Each surface `match`es on these classes; `to_dict`/`from_dict` are the recording format.

Recording format, version 2: the first line is `{"type": "recording", "version": 2}`, then one event a line,
each with "type" and "ts" (epoch seconds). Version 1 recordings (no first line) hold the same events.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from scenarios.report import Report

FORMAT_VERSION = 2


class RecordingFormatError(ValueError):
    """A line that is not an event of a known shape."""


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = ""
    ts: float = field(default_factory=lambda: round(time.time(), 3))

    def to_dict(self) -> dict:
        out = {"type": self.kind, "ts": self.ts}
        for f in dataclasses.fields(self):
            if f.name != "ts":
                out[f.name] = _plain(getattr(self, f.name))
        return out

    @classmethod
    def _from_fields(cls, data: dict) -> "Event":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _plain(value: Any) -> Any:
    if isinstance(value, Report):
        return value.as_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class RecordingStarted(Event):
    """First line of a recording: its format version."""

    kind: ClassVar[str] = "recording"
    version: int = FORMAT_VERSION


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run"
    scenario: str
    title: str = ""
    variants: list[str] = field(default_factory=list)
    seed: int = 0
    params: dict = field(default_factory=dict)
    learn: list[str] = field(default_factory=list)
    summary: str = ""


@dataclass(frozen=True, kw_only=True)
class VariantStarted(Event):
    kind: ClassVar[str] = "variant"
    variant: str
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class Phase(Event):
    """Set-up the runner does between steps: resetting the sandbox, deploying an app."""

    kind: ClassVar[str] = "phase"
    text: str


@dataclass(frozen=True, kw_only=True)
class StepStarted(Event):
    kind: ClassVar[str] = "step"
    index: int
    title: str
    narrative: str = ""


@dataclass(frozen=True, kw_only=True)
class StepDone(Event):
    kind: ClassVar[str] = "step_done"
    index: int
    seconds: float


@dataclass(frozen=True, kw_only=True)
class Narrative(Event):
    """What a step tells while it runs (`ctx.say`)."""

    kind: ClassVar[str] = "narrative"
    text: str


@dataclass(frozen=True, kw_only=True)
class Observation(Event):
    """A measured value a step reports (`ctx.observe`), checked by the scenario's expectations."""

    kind: ClassVar[str] = "observation"
    name: str
    value: Any = None


@dataclass(frozen=True, kw_only=True)
class StepFailed(Event):
    kind: ClassVar[str] = "error"
    text: str


@dataclass(frozen=True, kw_only=True)
class ExpectationChecked(Event):
    """One expectation of a variant, checked; `skipped` (and `passed` None) when the run was stopped first; `error`
    when its value could not be measured (it failed)."""

    kind: ClassVar[str] = "expectation"
    name: str
    op: str = "=="
    target: Any = None
    observed: Any = None
    passed: bool | None = None
    why: str = ""
    skipped: bool = False
    error: str = ""  # the check could not measure its value ("could not measure: ..."): it failed

    def as_result(self) -> dict:
        """The entry of Report.expectations."""
        out = {"name": self.name, "op": self.op, "target": self.target, "observed": self.observed,
               "passed": self.passed, "why": self.why}
        if self.skipped:
            out["skipped"] = True
        if self.error:
            out["error"] = self.error
        return out

    @classmethod
    def of(cls, result: dict) -> "ExpectationChecked":
        return cls._from_fields(result)


@dataclass(frozen=True, kw_only=True)
class Stopped(Event):
    """The run was stopped from outside: in `variant` (None: between variants) at `step`; `not_run` never began."""

    kind: ClassVar[str] = "stopped"
    variant: str | None = None
    step: int | None = None
    not_run: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ReportReady(Event):
    kind: ClassVar[str] = "report"
    report: Report


@dataclass(frozen=True, kw_only=True)
class Comparison(Event):
    """The before/after table of the variants run together."""

    kind: ClassVar[str] = "comparison"
    reports: list[Report]


@dataclass(frozen=True, kw_only=True)
class SpanRecorded(Event):
    """A span of the run's traffic, copied into the recording at the end of a variant (sandbox.observability)."""

    kind: ClassVar[str] = "span"
    span: dict


@dataclass(frozen=True, kw_only=True)
class LogRecorded(Event):
    """A function's log line, copied into the recording at the end of a variant (CloudWatch Logs)."""

    kind: ClassVar[str] = "log"
    group: str
    time: float
    message: str


KINDS: dict[str, type[Event]] = {cls.kind: cls for cls in (
    RecordingStarted, RunStarted, VariantStarted, Phase, StepStarted, StepDone, Narrative, Observation, StepFailed,
    ExpectationChecked, Stopped, ReportReady, Comparison, SpanRecorded, LogRecorded)}


def from_dict(data: dict) -> Event:
    """The event a recording line holds; RecordingFormatError for a line of unknown type or shape."""
    if not isinstance(data, dict):
        raise RecordingFormatError(f"expected a JSON object, got {type(data).__name__}")
    cls = KINDS.get(data.get("type"))
    if cls is None:
        raise RecordingFormatError(f"unknown event type {data.get('type')!r}")
    data = dict(data)
    data.pop("type", None)
    try:
        if cls is ReportReady:
            data["report"] = Report.from_dict(data["report"])
        elif cls is Comparison:
            data["reports"] = [Report.from_dict(r) for r in data.get("reports", [])]
        elif cls is LogRecorded:
            data["time"] = float(data.get("time") or data.get("ts") or 0)
            data["message"] = str(data.get("message", ""))
        return cls._from_fields(data)
    except (TypeError, KeyError, AttributeError, ValueError) as e:
        raise RecordingFormatError(f"a {cls.kind!r} event without {e} or with a value of the wrong type") from None
