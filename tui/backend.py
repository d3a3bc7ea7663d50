"""What the TUI's panes ask for, answered by the live sandbox (`sandbox.Sandbox`) or by a recording (replay).

Every method here may block (HTTP to the sandbox, reading files): panes call them from thread workers, never on
the UI thread. The TUI reaches the sandbox only through `sandbox.Sandbox` and the `scenarios` package.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Unavailable(Exception):
    """This backend cannot answer that (a recording has no live DLQs; a plain LocalStack has no recorder)."""


def _recorder_error(e: Exception) -> Unavailable:
    return Unavailable(f"recorder not available: {e}")


class Backend:
    mode = "?"
    label = ""
    can_run = False

    # lifecycle
    def is_running(self) -> bool:
        return True

    def start(self, on_progress) -> str:
        return ""

    # scenarios
    def catalog(self) -> list:
        import scenarios

        return scenarios.all_scenarios()

    def runner(self, scenario, variants, listener, params=None):  # pragma: no cover - live only
        raise Unavailable("scenarios run on the live sandbox only")

    # the rest: see LiveBackend
    def dlqs(self) -> list:
        raise Unavailable("dead-letter queues are live state: not part of a recording")

    def peek(self, queue: str) -> list:
        raise Unavailable("dead-letter queues are live state: not part of a recording")

    def redrive(self, queue: str):
        raise Unavailable("not in replay mode")

    def purge(self, queue: str):
        raise Unavailable("not in replay mode")

    def fault_status(self) -> dict:
        raise Unavailable("fault rules are live state: not part of a recording")

    def fault_templates(self) -> dict:
        from sandbox.faults import TEMPLATES

        return dict(TEMPLATES)

    def apply_fault(self, template: str, params: dict):
        raise Unavailable("not in replay mode")

    def remove_fault(self, rule: dict, lambda_rule: bool):
        raise Unavailable("not in replay mode")

    def clear_faults(self) -> None:
        raise Unavailable("not in replay mode")

    def poll_logs(self, cursor):
        raise Unavailable("no function logs")

    def poll_events(self, cursor, wait: float = 1.0):
        raise Unavailable("recorder not available")

    def trace(self, trace_id: str, all: bool = False) -> dict:
        raise Unavailable("recorder not available")

    def graph(self) -> dict:
        raise Unavailable("recorder not available")

    def cost(self) -> dict:
        raise Unavailable("recorder not available")

    def patterns(self) -> list:
        from sandbox.deploy.patterns import list_patterns

        return list_patterns()

    def stacks(self) -> list[dict]:
        return []


class LiveBackend(Backend):
    mode = "live"
    can_run = True

    def __init__(self, sb):
        self.sb = sb
        self.label = f"{sb.backend} · {sb.endpoint}"

    def is_running(self) -> bool:
        return self.sb.is_running()

    def start(self, on_progress) -> str:
        """Starts the embedded backend when nothing is running (progress lines to `on_progress`)."""
        if self.sb.is_running():
            return f"connected to {self.sb.endpoint}"
        if self.sb.settings.external:
            self.sb.require_running()  # raises a clear SandboxError
        on_progress(f"starting LocalStack on {self.sb.endpoint} (state in {self.sb.settings.state_dir}) ...")
        inst, seconds, started = self.sb.up(on_progress=on_progress)
        self.label = f"{self.sb.backend} · {self.sb.endpoint}"
        return f"sandbox ready at {inst.endpoint} in {seconds:.1f}s" if started else f"connected to {inst.endpoint}"

    def runner(self, scenario, variants, listener, params=None):
        import scenarios

        return scenarios.Runner(self.sb, scenario, params=params, listeners=[listener])

    # DLQ
    def dlqs(self) -> list:
        return self.sb.dlq.list()

    def peek(self, queue: str) -> list:
        return self.sb.dlq.peek(queue)

    def redrive(self, queue: str):
        return self.sb.dlq.redrive(queue)

    def purge(self, queue: str):
        return self.sb.dlq.purge(queue)

    # faults
    def fault_status(self) -> dict:
        faults = self.sb.faults
        try:
            return faults.status()
        except Exception:  # noqa: BLE001 - fall back on the separate lists
            return {"faults": faults.list(), "lambda": faults.lambda_faults(), "effects": {}, "injected": {}}

    def apply_fault(self, template: str, params: dict):
        return self.sb.faults.apply(template, **params)

    def remove_fault(self, rule: dict, lambda_rule: bool):
        clean = {k: v for k, v in rule.items() if k not in ("hits", "injected", "id")}
        return self.sb.faults.remove_lambda(clean) if lambda_rule else self.sb.faults.remove(clean)

    def clear_faults(self) -> None:
        self.sb.faults.clear()

    # logs
    def poll_logs(self, cursor):
        logs = getattr(self.sb, "logs", None)
        if logs is None:
            raise Unavailable("this sandbox has no function logs API")
        return logs.poll(cursor)

    # recorder
    def _recorder(self, name: str):
        method = getattr(self.sb, name, None)
        if method is None:
            raise Unavailable("recorder not available: this sandbox has no observability API")
        return method

    def poll_events(self, cursor, wait: float = 1.0):
        events = self._recorder("events")
        try:
            if cursor is None:
                got = events(limit=2000, all=True)
            else:
                got = events(since=cursor, limit=2000, wait=wait, all=True)
        except Unavailable:
            raise
        except Exception as e:  # noqa: BLE001
            raise _recorder_error(e) from None
        return got.get("events", []), got.get("cursor", cursor)

    def trace(self, trace_id: str, all: bool = False) -> dict:
        try:
            return self._recorder("trace")(trace_id, all=all)
        except Unavailable:
            raise
        except Exception as e:  # noqa: BLE001
            raise Unavailable(str(e)) from None

    def graph(self) -> dict:
        try:
            return self._recorder("graph")()
        except Unavailable:
            raise
        except Exception as e:  # noqa: BLE001
            raise _recorder_error(e) from None

    def cost(self) -> dict:
        try:
            return self._recorder("cost")()
        except Unavailable:
            raise
        except Exception as e:  # noqa: BLE001
            raise _recorder_error(e) from None

    def stacks(self) -> list[dict]:
        return self.sb.stacks()


@dataclass
class Recording:
    """A recorded run, split by kind: the scenario's own events, the recorder's spans, the functions' logs."""

    path: Path
    events: list[dict] = field(default_factory=list)
    spans: list[dict] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)  # sandbox.logs.LogLine

    @property
    def scenario_id(self) -> str | None:
        for event in self.events:
            if event.get("type") == "run":
                return event.get("scenario")
        return None

    @property
    def start(self) -> float | None:
        times = [e["ts"] for e in self.events[:1] if "ts" in e]
        times += [s["ts"] for s in self.spans[:1] if s.get("ts")]
        return min(times) if times else None

    @classmethod
    def load(cls, path: str | Path) -> "Recording":
        from sandbox.logs import LogLine
        from scenarios.replay import read_events

        rec = cls(Path(path))
        for event in read_events(path):
            kind = event.get("type")
            if kind == "span":
                rec.spans.append(event["span"])
            elif kind == "log":
                rec.logs.append(LogLine(time=float(event.get("time") or event.get("ts") or 0),
                                        group=event.get("group", ""),
                                        message=str(event.get("message", "")).rstrip("\n")))
            else:
                rec.events.append(event)
        rec.spans.sort(key=lambda s: (s.get("ts") or 0, s.get("seq") or 0))
        rec.logs.sort(key=lambda line: line.time)
        return rec


class ReplayBackend(Backend):
    """Answers from a recording: no LocalStack, nothing live (DLQs and fault rules say so)."""

    mode = "replay"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.label = f"replay · {self.path.name}"
        self._recording: Recording | None = None
        self._lock = threading.Lock()

    @property
    def recording(self) -> Recording:
        with self._lock:
            if self._recording is None:
                self._recording = Recording.load(self.path)
            return self._recording

    def start(self, on_progress) -> str:
        rec = self.recording
        return (f"replaying {self.path.name}: {len(rec.events)} events, {len(rec.spans)} spans, "
                f"{len(rec.logs)} log lines")

    def catalog(self) -> list:
        found = super().catalog()
        recorded = self.recording.scenario_id
        return [s for s in found if s.id == recorded] or found

    def fault_status(self) -> dict:
        """The fault rules that fired during the recorded run, with how often (from the spans they marked)."""
        hits: Counter = Counter()
        rules: dict[str, dict] = {}
        for span in self.recording.spans:
            injected = span.get("injected")
            if injected and isinstance(injected.get("rule"), dict):
                key = repr(sorted(injected["rule"].items()))
                rules[key] = injected["rule"]
                hits[key] += 1
        faults = [dict(rule, hits=hits[key]) for key, rule in rules.items() if "fault" not in rule]
        lambda_rules = [dict(rule, hits=hits[key]) for key, rule in rules.items() if "fault" in rule]
        return {"faults": faults, "lambda": lambda_rules, "effects": {}, "injected": {}, "recorded": True}

    def poll_logs(self, cursor):
        if cursor is not None:
            return [], cursor
        return list(self.recording.logs), "end"

    def poll_events(self, cursor, wait: float = 1.0):
        if cursor is not None:
            return [], cursor
        return list(self.recording.spans), "end"

    def trace(self, trace_id: str, all: bool = False) -> dict:
        try:
            from sandbox.observability.traces import build_trace
        except ImportError as e:
            raise _recorder_error(e) from None
        return build_trace(trace_id, [s for s in self.recording.spans if s.get("trace_id") == trace_id
                                      and (all or not s.get("noise"))])

    def graph(self) -> dict:
        try:
            from sandbox.observability.graph import build_graph
        except ImportError as e:
            raise _recorder_error(e) from None
        return build_graph(self.recording.spans)

    def cost(self) -> dict:
        try:
            from sandbox.observability.cost import estimate
        except ImportError as e:
            raise _recorder_error(e) from None
        return estimate(self.recording.spans)

    def patterns(self) -> list:
        """The built-in patterns the recorded run deployed (all of them if it deployed none)."""
        found = super().patterns()
        recorded = {s["name"] for s in self.stacks()}
        return [p for p in found if p.name in recorded] or found

    def stacks(self) -> list[dict]:
        """Stacks the recorded run created (its CloudFormation CreateStack calls)."""
        seen: dict[str, dict] = {}
        for span in self.recording.spans:
            if span.get("service") == "cloudformation" and span.get("operation") == "CreateStack" \
                    and not span.get("error") and span.get("resource_name"):
                seen.setdefault(span["resource_name"], {"name": span["resource_name"], "status": "CREATE_COMPLETE",
                                                        "outputs": {}, "recorded": True})
        return list(seen.values())
