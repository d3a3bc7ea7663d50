"""The TUI's one door to the sandbox: what its panes may ask, answered live or from a recording.

`Backend` is the contract. Its capability flags say what an implementation can do, so panes ask
`backend.live`/`backend.replay` instead of comparing names:

    live       it changes the sandbox: runs scenarios, injects faults, redrives, deploys (LiveBackend)
    replay     it answers from a recording, without LocalStack (ReplayBackend)
    external   the sandbox is a LocalStack the sandbox did not start (the docker-compose backend)

What an implementation cannot answer raises `Unavailable` with the reason, which the pane shows. Every method may
block (HTTP to the sandbox, reading files): panes call them from thread workers, never on the UI thread. Domain
logic lives in `sandbox` (deploying with dependencies, gauges, throttled edges); this module only adapts it.
The TUI imports nothing else of `sandbox` (import-linter checks it): the pure helpers it shows with are
re-exported here.
"""

from __future__ import annotations

import abc
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.faults import function_target, unknown_function_message  # noqa: F401 - for the add-fault form
from sandbox.logs import enclosing_request_id  # noqa: F401 - for Logs' jump to a trace
from sandbox.observability.labels import caller_label, span_what  # noqa: F401 - for Flow and the trace view
from sandbox.observability.probes import failed_records, is_real_error, probe_of  # noqa: F401 - Flow's errors only, probe marks


def record_lab_progress(state_dir: Path, lab_id: str, workspace: Path, results: list[tuple[str, bool, str]]) -> None:
    """Writes a lab's progress as `sandbox lab` would after these checks (task, passed, message), without a sandbox:
    what the screenshots and the Labs tab's tests show with `ReplayBackend(labs_state=...)`."""
    from scenarios.labs import CheckResult, LabSession, Progress, get_lab

    session = LabSession(None, Progress(state_dir))
    session.start(lab_id, workspace, deploy=False)
    lab = get_lab(lab_id)
    for task, passed, message in results:
        session.progress.record(lab_id, CheckResult(task, lab.task(task).title, passed, message))


def workshop_board(clock=None):
    """An instructor's board over the lab catalog (scenarios.workshop.board.Board), for the board screen."""
    import time as _time

    from scenarios.labs import all_labs
    from scenarios.workshop.board import Board

    return Board({lab.id: tuple(t.id for t in lab.tasks) for lab in all_labs()}, clock=clock or _time.time)


class Unavailable(Exception):
    """This backend cannot answer that (a recording has no live DLQs; a plain LocalStack has no recorder)."""


class NotAnswering(Exception):
    """The sandbox did not answer (stopped, or stopping: refused connections, 502-504): it may come back."""


def _recorder_error(e: Exception) -> Exception:
    """What a failed recorder call means: the sandbox not answering (stopped, restarting) or no recorder at all."""
    import requests

    status = getattr(getattr(e, "response", None), "status_code", None)
    if isinstance(e, (requests.ConnectionError, requests.Timeout)) or status in (502, 503, 504):
        return NotAnswering(f"the sandbox is not answering ({type(e).__name__})")
    return Unavailable(f"recorder not available: {e}")


class Backend(abc.ABC):
    live = False
    replay = False
    external = False
    label = ""

    # lifecycle
    @abc.abstractmethod
    def start(self, on_progress) -> str:
        """Makes the backend answer (starting the embedded sandbox if needed); returns a line about it."""

    def is_running(self) -> bool:
        return True

    def not_running_message(self) -> str:
        """What to tell when the sandbox stopped under the TUI: where it is not running and how to start it."""
        return "The sandbox is not running."

    def start_notices(self) -> list[str]:
        """Lines to show once `start` returned, beside its own line (a saved state left unloaded)."""
        return []

    def exit_hint(self) -> str | None:
        """The line to print once the TUI has quit (None: nothing to say)."""
        return None

    # scenarios
    def catalog(self) -> list:
        import scenarios

        return scenarios.all_scenarios()

    def runner(self, scenario, variants, listener, params=None):  # pragma: no cover - live only
        raise Unavailable("scenarios run on the live sandbox only")

    def reset_impact(self) -> dict[str, int] | None:
        """What a reset (the start of every scenario variant) would remove, as counts by what they count
        (scenarios.restore.reset_impact: "stacks", "queues", "queued messages", "fault rules", ...; None: unknown).
        A recording has nothing live to remove."""
        return {}

    # labs: the catalog from anywhere; a session (progress, checks) on the live sandbox only
    def labs(self) -> list:
        from scenarios.labs import all_labs

        return list(all_labs())

    def lab_status(self) -> dict | None:
        """The current lab and each task's state (LabSession.status), None when no lab is started."""
        raise Unavailable("labs check the live sandbox: a recording has no lab session")

    def lab_start(self, lab_id: str, folder: Path | None = None) -> dict:
        raise Unavailable("labs check the live sandbox: a recording has no lab session")

    def lab_check(self, task: str | None = None, all_tasks: bool = False, deploy: bool = True) -> dict:
        """{"results": [CheckResult.as_dict()], "reported": the line about the instructor's board, or None,
        "status": lab_status() read after the check (the marks and "solution applied" shown together)}."""
        raise Unavailable("labs check the live sandbox: a recording has no lab session")

    def lab_hint(self, task: str | None = None) -> dict:
        raise Unavailable("labs check the live sandbox: a recording has no lab session")

    def lab_solve_plan(self, task: str | None = None) -> dict:
        raise Unavailable("labs check the live sandbox: a recording has no lab session")

    def lab_solve(self, task: str | None = None) -> dict:
        raise Unavailable("labs check the live sandbox: a recording has no lab session")

    def lab_workspace_signature(self, folder: str) -> tuple:
        """What changes when the attendee saves a file of their workspace (names, sizes, modification times)."""
        from scenarios.labs.workspace import signature

        return signature(Path(folder))

    # the rest: answered by LiveBackend, in part by ReplayBackend
    def dlqs(self) -> list:
        raise Unavailable("dead-letter queues are live state: not part of a recording")

    def peek(self, queue: str) -> list:
        raise Unavailable("dead-letter queues are live state: not part of a recording")

    def redrive(self, queue: str, to: str | None = None):
        raise Unavailable("not in replay mode")

    def redrive_check(self, queue: str, to: str | None = None) -> str:
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

    def functions(self) -> list[str]:
        """Names of the deployed Lambda functions (what a Lambda fault may name)."""
        raise Unavailable("functions are live state: not part of a recording")

    def services(self) -> list[str]:
        """Names of the sandbox's AWS services (what a service fault may name)."""
        raise Unavailable("services are live state: not part of a recording")

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

    def graph(self, since_ts: float | None = None) -> dict:
        """The recorder's service map; `since_ts` (epoch seconds): only traffic from then on."""
        raise Unavailable("recorder not available")

    def cost(self) -> dict:
        raise Unavailable("recorder not available")

    def patterns(self) -> list:
        from sandbox.deploy.patterns import list_patterns

        return list_patterns()

    def template(self, pattern) -> dict:
        """A pattern's CloudFormation/SAM template, parsed (for drawing its architecture)."""
        from sandbox.deploy.patterns import load_template

        return load_template(pattern.template)

    def dependencies(self, pattern) -> list[str]:
        """The patterns `pattern` needs deployed first (its Metadata.SandboxDependsOn)."""
        from sandbox.deploy.bulk import dependencies

        return list(dependencies(pattern))

    def stacks(self) -> list[dict]:
        return []

    # patterns: deploy on demand, and what the diagram needs beyond the service map
    def deploy(self, pattern: str, on_progress) -> list[dict]:
        raise Unavailable("deploying needs the live sandbox: a recording cannot change")

    def destroy(self, stack: str, on_progress) -> bool:
        raise Unavailable("destroying needs the live sandbox: a recording cannot change")

    def stack_resources(self, stack: str) -> list[dict]:
        raise Unavailable("a recording has no stack resources")

    def gauges(self, resources: list[dict]) -> dict[str, dict]:
        raise Unavailable("queue depths and running executions are live state: not part of a recording")

    def throttles(self, cursor):
        raise Unavailable("recorder not available")


class LiveBackend(Backend):
    live = True
    clock = staticmethod(time.monotonic)  # how start-up is timed (tests turn it by hand)

    def __init__(self, sb=None):
        if sb is None:
            from sandbox import Sandbox

            sb = Sandbox()  # the CLI's defaults: ./.sandbox, or SANDBOX_ENDPOINT
        self.sb = sb
        self.external = sb.settings.external
        self.started_here = False  # whether `start` started the embedded backend (it keeps running after)
        self._opened: float | None = self.clock()  # the TUI was opened: the first start is timed from here
        self._notices: list[str] = []

    @property
    def label(self) -> str:
        """'embedded · <endpoint>': read each time, as the endpoint moves with the instance (a restart elsewhere)."""
        return f"{self.sb.backend} · {self.sb.endpoint}"

    @property
    def region(self) -> str:
        return self.sb.settings.region

    def is_running(self) -> bool:
        return self.sb.is_running()

    def not_running_message(self) -> str:
        return self.sb.not_running_message()

    def start_notices(self) -> list[str]:
        return list(self._notices)

    def start(self, on_progress) -> str:
        """Starts the embedded backend when nothing is running (progress lines to `on_progress`). The time it
        says is what the user waited: from opening the TUI (or pressing retry) to the sandbox answering, not only
        LocalStack's own boot, which is said beside it."""
        begun, since = (self._opened, "opening the TUI") if self._opened is not None else (self.clock(), "retrying")
        self._opened = None
        if self.sb.is_running():
            # `sandbox tui --persist` beside a sandbox started without it: said in the TUI, as `sandbox up` says it
            self._notices = [n for n in [self.sb.not_persisting_notice()] if n]
            return f"connected to {self.sb.endpoint}"
        if self.sb.settings.external:
            self.sb.require_running()  # raises a clear SandboxError
        on_progress(f"starting LocalStack on {self.sb.endpoint} (state in {self.sb.settings.state_dir}) ...")
        inst, seconds, started = self.sb.up(on_progress=on_progress)
        self.started_here = self.started_here or started
        if started and not getattr(inst, "persist", False):  # what `sandbox up` says beside it (a state saved by `up --persist`)
            self._notices = [n for n in [self.sb.kept_state_notice()] if n]
        if not started:
            return f"connected to {inst.endpoint}"
        return (f"sandbox ready at {inst.endpoint}: started in {self.clock() - begun:.1f}s, from {since} to the "
                f"sandbox answering (LocalStack's own boot: {seconds:.1f}s)")

    def exit_hint(self) -> str | None:
        """What to tell on leaving the TUI when it started the embedded backend itself: that LocalStack keeps
        running (shared with the CLI) and how to stop it. None when it was already running, or is gone."""
        try:
            if not self.started_here or self.sb.settings.external:
                return None
            inst = self.sb.embedded.instance()
            if inst is None:
                return None
            from sandbox.settings import Settings

            default = Settings().state_dir
        except Exception:  # noqa: BLE001 - a hint must never turn a clean exit into a traceback
            return None
        state = "" if self.sb.settings.state_dir == default else f" --state-dir {self.sb.settings.state_dir}"
        return f"sandbox still running at {inst.endpoint} — `uv run sandbox{state} down` stops it"

    def runner(self, scenario, variants, listener, params=None):
        import scenarios

        return scenarios.Runner(self.sb, scenario, params=params, listeners=[listener])

    def reset_impact(self) -> dict[str, int] | None:
        from scenarios.restore import reset_impact

        return reset_impact(self.sb)

    # labs (scenarios.labs.LabSession; a new session each time, so progress the CLI wrote is seen)
    def _lab_session(self):
        from scenarios.labs import LabSession

        return LabSession(self.sb)

    def lab_status(self) -> dict | None:
        session = self._lab_session()
        if not session.progress.current:
            return None
        return session.status()

    def lab_start(self, lab_id: str, folder: Path | None = None) -> dict:
        return self._lab_session().start(lab_id, folder)

    def lab_check(self, task: str | None = None, all_tasks: bool = False, deploy: bool = True) -> dict:
        session = self._lab_session()
        results = session.check(task, all_tasks=all_tasks, deploy=deploy)
        return {"results": [r.as_dict() for r in results], "reported": session.reported,
                "status": session.status() if session.progress.current else None}

    def lab_hint(self, task: str | None = None) -> dict:
        return self._lab_session().hint(task)

    def lab_solve_plan(self, task: str | None = None) -> dict:
        _, folder, tasks, touched = self._lab_session().solve_plan(task)
        return {"tasks": [t.id for t in tasks], "touched": touched, "workspace": str(folder)}

    def lab_solve(self, task: str | None = None) -> dict:
        return self._lab_session().solve(task)

    # DLQ
    def dlqs(self) -> list:
        return self.sb.dlq.list()

    def peek(self, queue: str) -> list:
        return self.sb.dlq.peek(queue)

    def redrive(self, queue: str, to: str | None = None):
        """To the DLQ's one source queue, or to `to` (a queue name, URL or ARN)."""
        return self.sb.dlq.redrive(queue, to)

    def redrive_check(self, queue: str, to: str | None = None) -> str:
        """The queue `redrive` would move to; raises with why it would refuse."""
        return self.sb.dlq.check_destination(queue, to)

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

    def functions(self) -> list[str]:
        return self.sb.functions()

    def services(self) -> list[str]:
        """The services LocalStack offers, those already running (in use) first."""
        services = self.sb.status().get("services") or {}
        return sorted((name for name, state in services.items() if state != "disabled"),
                      key=lambda name: (services[name] != "running", name))

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

    def graph(self, since_ts: float | None = None) -> dict:
        try:
            return self._recorder("graph")(since_ts=since_ts)
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

    # patterns
    def deploy(self, pattern: str, on_progress) -> list[dict]:
        """A built-in pattern and what it needs (sandbox.deploy.bulk.deploy_with_dependencies)."""
        return [r.as_dict() for r in self.sb.deploy_with_dependencies(pattern, on_progress)]

    def destroy(self, stack: str, on_progress) -> bool:
        on_progress({"stack": stack, "message": f"deleting stack {stack}"})
        gone = self.sb.destroy(stack)
        on_progress({"stack": stack, "message": "deleted" if gone else "there was no such stack"})
        return gone

    def stack_resources(self, stack: str) -> list[dict]:
        return self.sb.stack_resources(stack)

    def gauges(self, resources: list[dict]) -> dict[str, dict]:
        return self.sb.gauges(resources)

    def throttles(self, cursor):
        """Throttled requests per service-map edge recorded after `cursor`: ({(source, target): n}, cursor)."""
        observe = getattr(self.sb, "observe", None)
        if observe is None:
            raise Unavailable("recorder not available: this sandbox has no observability API")
        try:
            return observe.throttled_edges(cursor)
        except Exception as e:  # noqa: BLE001
            raise _recorder_error(e) from None


@dataclass
class Recording:
    """A recorded run, split by kind: the scenario's own events, the recorder's spans, the functions' logs."""

    path: Path
    events: list = field(default_factory=list)  # scenarios.events.Event, but spans and log lines
    spans: list[dict] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)  # sandbox.logs.LogLine

    @property
    def scenario_id(self) -> str | None:
        from scenarios.events import RunStarted

        return next((e.scenario for e in self.events if isinstance(e, RunStarted)), None)

    @property
    def start(self) -> float | None:
        times = [e.ts for e in self.events[:1]]
        times += [s["ts"] for s in self.spans[:1] if s.get("ts")]
        return min(times) if times else None

    @classmethod
    def load(cls, path: str | Path) -> "Recording":
        from sandbox.logs import LogLine
        from scenarios.events import LogRecorded, SpanRecorded
        from scenarios.replay import read_events

        rec = cls(Path(path))
        for event in read_events(path):
            match event:
                case SpanRecorded():
                    rec.spans.append(event.span)
                case LogRecorded():
                    rec.logs.append(LogLine(time=event.time, group=event.group, message=event.message.rstrip("\n")))
                case _:
                    rec.events.append(event)
        rec.spans.sort(key=lambda s: (s.get("ts") or 0, s.get("seq") or 0))
        rec.logs.sort(key=lambda line: line.time)
        return rec


class ReplayBackend(Backend):
    """Answers from a recording: no LocalStack, nothing live (DLQs and fault rules say so)."""

    replay = True

    def __init__(self, path: str | Path, labs_state: str | Path | None = None):
        self.path = Path(path)
        self.label = f"replay · {self.path.name}"
        self._recording: Recording | None = None
        self._lock = threading.Lock()
        self.labs_state = Path(labs_state) if labs_state else None  # a state dir whose lab progress to show

    def lab_status(self) -> dict | None:
        """A lab's progress as it was saved (no checks run: nothing is live), when given a state dir."""
        if self.labs_state is None:
            return super().lab_status()
        from scenarios.labs import LabSession, Progress

        session = LabSession(None, Progress(self.labs_state))
        return session.status() if session.progress.current else None

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

    def graph(self, since_ts: float | None = None) -> dict:
        try:
            from sandbox.observability.graph import build_graph
        except ImportError as e:
            raise _recorder_error(e) from None
        return build_graph([s for s in self.recording.spans if since_ts is None or (s.get("ts") or 0) >= since_ts])

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

    def throttles(self, cursor):
        if cursor is not None:
            return {}, cursor
        from sandbox.observability.graph import throttled_edges

        return throttled_edges(self.recording.spans), "end"

    def stacks(self) -> list[dict]:
        """Stacks the recorded run created (its CloudFormation CreateStack calls)."""
        seen: dict[str, dict] = {}
        for span in self.recording.spans:
            if span.get("service") == "cloudformation" and span.get("operation") == "CreateStack" \
                    and not span.get("error") and span.get("resource_name"):
                seen.setdefault(span["resource_name"], {"name": span["resource_name"], "status": "CREATE_COMPLETE",
                                                        "outputs": {}, "recorded": True})
        return list(seen.values())
