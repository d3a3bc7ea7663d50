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

    def exit_hint(self) -> str | None:
        """The line to print once the TUI has quit (None: nothing to say)."""
        return None

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


def _throttle_edges(spans: list[dict]) -> dict[tuple[str, str], int]:
    """Throttled requests per service-map edge (the error each service answers when it throttles)."""
    from sandbox.faults import DEFAULT_THROTTLING_ERROR, THROTTLING_ERRORS
    from sandbox.observability.graph import build_graph

    codes = {code for _, code in THROTTLING_ERRORS.values()} | {DEFAULT_THROTTLING_ERROR[1], "ThrottledException",
                                                                 "RequestLimitExceeded"}
    throttled = [s for s in spans if (s.get("error") or {}).get("code") in codes]
    return {(e["source"], e["target"]): e["count"] for e in build_graph(throttled)["edges"]}


class LiveBackend(Backend):
    mode = "live"
    can_run = True

    def __init__(self, sb):
        self.sb = sb
        self.label = f"{sb.backend} · {sb.endpoint}"
        self.started_here = False  # whether `start` started the embedded backend (it keeps running after)

    @property
    def region(self) -> str:
        return self.sb.settings.region

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
        self.started_here = self.started_here or started
        self.label = f"{self.sb.backend} · {self.sb.endpoint}"
        return f"sandbox ready at {inst.endpoint} in {seconds:.1f}s" if started else f"connected to {inst.endpoint}"

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
        """Deploys a built-in pattern (and the patterns it needs that are not deployed yet), streaming its stack
        events to `on_progress` as dicts: {"stack", "logical_id", "type", "status", "reason"} or {"stack",
        "message"}. Returns each stack's DeployResult as a dict; raises DeployError with what failed."""
        from sandbox.deploy.bulk import select

        deployed = {s["name"] for s in self.sb.stacks()}
        results = []
        for p in select([pattern]):
            if p.name != pattern and p.name in deployed:
                continue
            on_progress({"stack": p.name, "message": f"deploying {p.name}" + (
                f" (needed by {pattern})" if p.name != pattern else "")})

            def event(e, stack=p.name) -> None:
                on_progress({"stack": stack, "logical_id": e.logical_id, "type": e.resource_type,
                             "status": e.status, "reason": e.reason})

            result = self.sb.deploy(p.name, on_event=event)
            on_progress({"stack": p.name, "message": f"{result.status} in {result.seconds:.1f}s"
                         + ("" if result.changed else " (nothing to change)")})
            results.append(result.as_dict())
        return results

    def destroy(self, stack: str, on_progress) -> bool:
        on_progress({"stack": stack, "message": f"deleting stack {stack}"})
        gone = self.sb.destroy(stack)
        on_progress({"stack": stack, "message": "deleted" if gone else "there was no such stack"})
        return gone

    def stack_resources(self, stack: str) -> list[dict]:
        cfn = self.sb.client("cloudformation", observer=True)  # the TUI's own read: platform noise, not billed
        found = cfn.describe_stack_resources(StackName=stack)["StackResources"]
        return [{"logical_id": r["LogicalResourceId"], "type": r["ResourceType"],
                 "physical_id": r.get("PhysicalResourceId") or "", "status": r.get("ResourceStatus", "")}
                for r in found]

    def gauges(self, resources: list[dict]) -> dict[str, dict]:
        """Per logical id: queue depth and messages in flight (SQS), running executions (Step Functions)."""
        out: dict[str, dict] = {}
        for r in resources:
            pid = r.get("physical_id")
            try:
                if r.get("type") == "AWS::SQS::Queue" and pid:
                    attrs = self.sb.client("sqs", observer=True).get_queue_attributes(
                        QueueUrl=pid, AttributeNames=["ApproximateNumberOfMessages",
                                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                    out[r["logical_id"]] = {"depth": int(attrs.get("ApproximateNumberOfMessages", 0)),
                                            "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))}
                elif r.get("type") == "AWS::StepFunctions::StateMachine" and pid:
                    running = self.sb.client("stepfunctions", observer=True).list_executions(
                        stateMachineArn=pid, statusFilter="RUNNING", maxResults=100)["executions"]
                    out[r["logical_id"]] = {"in_flight": len(running)}
            except Exception:  # noqa: BLE001 - a resource being deleted: no gauge this time
                continue
        return out

    def throttles(self, cursor):
        """Throttled requests per service-map edge recorded after `cursor`: ({(source, target): n}, cursor)."""
        spans: list[dict] = []
        since = cursor or 0
        try:
            while True:
                got = self._recorder("events")(since=since, errors=True, limit=2000)
                batch = got.get("events", [])
                spans += batch
                since = got.get("cursor", since)
                if len(batch) < 2000:
                    break
        except Unavailable:
            raise
        except Exception as e:  # noqa: BLE001
            raise _recorder_error(e) from None
        return _throttle_edges(spans), since


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
        return _throttle_edges(self.recording.spans), "end"

    def stacks(self) -> list[dict]:
        """Stacks the recorded run created (its CloudFormation CreateStack calls)."""
        seen: dict[str, dict] = {}
        for span in self.recording.spans:
            if span.get("service") == "cloudformation" and span.get("operation") == "CreateStack" \
                    and not span.get("error") and span.get("resource_name"):
                seen.setdefault(span["resource_name"], {"name": span["resource_name"], "status": "CREATE_COMPLETE",
                                                        "outputs": {}, "recorded": True})
        return list(seen.values())
