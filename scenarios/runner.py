"""Runs a scenario variant against the sandbox: reset, deploy, steps, expectations, report, recording.

Everything a run does is emitted as typed events (scenarios/events.py), to listeners (CLI, TUI) and to the
recording `.sandbox/runs/<timestamp>-<id>.jsonl`, which `scenarios.replay` plays back without LocalStack. The
report of each variant is scenarios/report.py. Faults are cleared when a variant ends, and what the run changed
(paused mappings, stacks of its own: scenarios/restore.py) is undone when the run ends, however it ends.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios import events as ev
from scenarios.model import Scenario, Variant, unmeasurable
from scenarios.report import STOPPED, Report, percentile
from scenarios.restore import Baseline
from scenarios.run_lock import RunBusy, RunLock

APPS_DIR = Path(__file__).resolve().parent / "apps"


class ScenarioError(Exception):
    """A scenario could not run (bad parameters, a step that failed): the message says what and how to fix it."""


class ScenarioStopped(Exception):
    """The run was stopped from outside (TUI stop button, Ctrl-C)."""


@dataclass
class RunContext:
    """What a step sees: the sandbox, deployed outputs, the seeded RNG, and ways to count and wait."""

    sb: Any
    scenario: Scenario
    variant: Variant
    params: dict[str, Any]
    rng: random.Random
    emit: Callable[[ev.Event], None]
    stop_event: threading.Event
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    # only what a step measured (ctx.count, ctx.set_count): a count nobody made is absent, and shows as "–", never 0
    counts: dict[str, int] = field(default_factory=dict)
    counted: set[str] = field(default_factory=set)  # the counts a step set (others may be measured by the runner)
    latencies: list[float] = field(default_factory=list)
    observations: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # per-run objects steps hand to each other
    deployed: list[tuple[str, str | None]] = field(default_factory=list)  # (stack, region) steps deployed
    baseline: Baseline | None = None  # mappings and stacks once the patterns were deployed (scenarios/restore.py)
    started: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock)  # count/observe from traffic threads

    def deploy_app(self, app: str, *, name: str | None = None, stack_name: str | None = None,
                   parameters: dict | None = None, region: str | None = None, template: str = "template.yaml",
                   build: Callable[[Path], None] | None = None) -> dict[str, str]:
        """Deploys a scenario app, `scenarios/apps/<app>/<template>`, from a step; its outputs go to
        `self.outputs[name or app]`. `build(dir)` may add generated files to a staged copy first."""
        source = APPS_DIR / app
        if not (source / template).is_file():
            raise ScenarioError(f"scenario app {app!r} has no {template} in {source}")
        self.emit(ev.Phase(text=f"deploying {app}" + (f" in {region}" if region else "")))
        params = {k: str(v) for k, v in (parameters or {}).items()}
        stack = stack_name  # None: Sandbox.deploy names it after the app's folder (dashes, as stacks need)
        if build is None:
            result = self.sb.deploy(str(source / template), stack_name=stack, parameters=params, region=region)
        else:
            with tempfile.TemporaryDirectory(prefix=f"sandbox-app-{app}-") as tmp:
                staged = Path(tmp) / app
                shutil.copytree(source, staged, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                build(staged)
                result = self.sb.deploy(str(staged / template), stack_name=stack, parameters=params, region=region)
        self.deployed.append((result.stack_name, region))
        self.outputs[name or app] = dict(result.outputs)
        return self.outputs[name or app]

    def setting(self, name: str, default: Any = None) -> Any:
        return self.variant.settings.get(name, default)

    def param(self, name: str) -> Any:
        return self.params[name]

    def output(self, pattern: str, key: str) -> str:
        try:
            return self.outputs[pattern][key]
        except KeyError:
            raise ScenarioError(f"pattern {pattern} has no output {key}") from None

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n
            self.counted.add(name)

    def set_count(self, name: str, value: int) -> None:
        with self.lock:
            self.counts[name] = value
            self.counted.add(name)

    def observe(self, name: str, value: Any) -> Any:
        with self.lock:
            self.observations[name] = value
        self.emit(ev.Observation(name=name, value=value))
        return value

    def narrate(self, text: str) -> None:
        self.emit(ev.Narrative(text=text))

    def check_stopped(self) -> None:
        if self.stop_event.is_set():
            raise ScenarioStopped("stopped")

    def sleep(self, seconds: float) -> None:
        if self.stop_event.wait(seconds):
            raise ScenarioStopped("stopped")

    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
        """Polls `predicate` until truthy; a step waits on conditions, never on fixed sleeps."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            self.check_stopped()
            last = predicate()
            if last:
                return last
            self.sleep(interval)
        raise ScenarioError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def merge_params(scenario: Scenario, given: dict[str, str] | None) -> dict[str, Any]:
    params = dict(scenario.params)
    for key, raw in (given or {}).items():
        if key not in params:
            valid = ", ".join(sorted(params)) or "(none)"
            raise ScenarioError(f"scenario {scenario.id} has no parameter {key!r}. Valid: {valid}")
        spec = scenario.param_specs[key]
        default = spec.default
        try:
            if isinstance(default, bool) and isinstance(raw, str):
                if raw.strip().lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                params[key] = raw.strip().lower() in ("true", "1", "yes", "on")
            elif default is not None and not isinstance(raw, type(default)):
                params[key] = type(default)(raw.strip() if isinstance(raw, str) else raw)
            else:
                params[key] = raw
        except (ValueError, TypeError):
            raise ScenarioError(f"parameter {key}={raw!r} must be {spec.allowed()}") from None
        refused = spec.refusal(params[key])
        if refused:
            raise ScenarioError(f"parameter {key}={raw!r} {refused}")
    return params


def _caused_by_stop(error: BaseException) -> bool:
    """Whether ScenarioStopped is in `error`'s chain of causes (a real failure after a stop stays a failure)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ScenarioStopped):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def left_in_variant(patterns, variant) -> list[str]:
    """What stays after a run, said: each pattern stays deployed as the last variant set it up (so it can be looked
    at), and a later `sandbox deploy` keeps those parameters as `sam deploy` does."""
    out = []
    for pattern in patterns:
        params = (variant.parameters or {}).get(pattern) or {}
        if params:
            settings = ", ".join(f"{k}={v}" for k, v in params.items())
            out.append(f"{pattern} stays deployed as variant {variant.name} set it up ({settings}): "
                       f"`sandbox deploy {pattern} --defaults` deploys it with the pattern's defaults")
    return out


class Runner:
    def __init__(self, sb, scenario: Scenario, seed: int = 1, params: dict[str, str] | None = None,
                 listeners: list[Callable[[ev.Event], None]] | None = None, record: bool = True):
        self.sb = sb
        self.scenario = scenario
        self.seed = seed
        self.params = merge_params(scenario, params)
        self.listeners = list(listeners or [])
        self.stop_event = threading.Event()
        self.record = record
        self.recording: Path | None = None
        self._file = None
        self._emit_lock = threading.RLock()
        self.stopped = False  # the last run was stopped: its last report says so, later variants did not start
        self.not_run: list[str] = []  # the variants of the last run that a stop kept from starting
        self._last: RunContext | None = None  # the variant that ran last: its changes are undone when the run ends

    def stop(self) -> None:
        """Ends the run soon (at the step's next wait): the current variant's report says stopped, no further
        variant starts, and the faults are cleared as always."""
        self.stop_event.set()

    # --- events ----------------------------------------------------------------------------------------
    def emit(self, event: ev.Event) -> None:
        with self._emit_lock:  # steps may report from traffic threads
            if self._file:
                self._file.write(json.dumps(event.to_dict(), default=str) + "\n")
                self._file.flush()
            for listener in self.listeners:
                listener(event)

    def _open_recording(self, variants: list[str]) -> None:
        if not self.record:
            return
        runs = Path(self.sb.settings.state_dir) / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.recording = runs / f"{stamp}-{self.scenario.id}.jsonl"
        self._file = open(self.recording, "w")
        self._file.write(json.dumps(ev.RecordingStarted().to_dict()) + "\n")

    # --- running ---------------------------------------------------------------------------------------
    def run(self, variants: list[str]) -> list[Report]:
        unknown = [v for v in variants if v not in self.scenario.variant_names]
        if unknown:
            raise ScenarioError(f"scenario {self.scenario.id} has no variant {', '.join(unknown)}. "
                                f"Valid: {', '.join(self.scenario.variant_names)}, all")
        try:
            lock = RunLock.take(self.sb.settings.state_dir, self.scenario.id)
        except RunBusy as e:
            raise ScenarioError(str(e)) from None
        try:
            self._open_recording(variants)
        except BaseException:
            lock.release()
            raise
        try:
            self.emit(ev.RunStarted(scenario=self.scenario.id, title=self.scenario.title, variants=list(variants),
                                    seed=self.seed, params=dict(self.params), learn=list(self.scenario.learn),
                                    summary=self.scenario.summary))
            self.stopped, self.not_run = False, []
            reports = []
            for i, name in enumerate(variants):
                if self.stop_event.is_set():  # stopped between two variants: the rest does not start
                    self._stopped(None, variants[i:])
                    break
                reports.append(self._run_variant(self.scenario.variant(name), later=variants[i + 1:]))
                if reports[-1].stopped:
                    break
            if len(reports) > 1:
                self.emit(ev.Comparison(reports=list(reports)))
            return reports
        finally:
            try:
                self._restore()
                if self._file:
                    self._file.close()
                    self._file = None
            finally:
                lock.release()

    def _stopped(self, variant: str | None, not_run: list[str], step: int | None = None) -> None:
        self.stopped, self.not_run = True, list(not_run)
        self.emit(ev.Stopped(variant=variant, step=step, not_run=list(not_run)))

    def _run_variant(self, variant: Variant, later: list[str] | None = None) -> Report:
        ctx = RunContext(self.sb, self.scenario, variant, self.params, random.Random(self.seed), self.emit,
                         self.stop_event)
        started = time.perf_counter()
        cursor = None
        self.emit(ev.VariantStarted(variant=variant.name, description=variant.description))
        error, stopped, index = None, False, None
        try:
            self.emit(ev.Phase(text="resetting the sandbox"))
            self.sb.reset()
            for pattern in self.scenario.patterns:
                ctx.check_stopped()
                self.emit(ev.Phase(text=f"deploying {pattern}"))
                result = self.sb.deploy(pattern, parameters=variant.parameters.get(pattern))
                ctx.outputs[pattern] = result.outputs
            ctx.baseline = self._baseline()
            self._last = ctx
            cursor = self._events_cursor()  # the run's traffic (and cost) starts here, after set-up
            for index, step in enumerate(self.scenario.steps, 1):
                ctx.check_stopped()
                self.emit(ev.StepStarted(index=index, title=step.title, narrative=step.narrative))
                step_started = time.perf_counter()
                step.run(ctx)
                self.emit(ev.StepDone(index=index, seconds=round(time.perf_counter() - step_started, 2)))
        except ScenarioStopped:
            stopped = True
        except Exception as e:  # noqa: BLE001 - a failed step is part of the report, not a crash
            if self.stop_event.is_set() and _caused_by_stop(e):  # a step wrapped the stop in another error
                stopped = True
            else:
                error = f"{type(e).__name__}: {e}"
                self.emit(ev.StepFailed(text=error))
        finally:
            self._clear_faults()
        if stopped:
            error = STOPPED
            self._stopped(variant.name, later or [], index)
        return self._report(ctx, variant, started, error, cursor, stopped)

    def _report(self, ctx: RunContext, variant: Variant, started: float, error: str | None, cursor,
                stopped: bool = False) -> Report:
        results = []
        for exp in self.scenario.expectations:
            if not exp.applies_to(variant.name, self.params):
                continue
            if stopped:  # not evaluated: what was observed so far says nothing about the lesson
                result = {"name": exp.name, "op": exp.op, "target": exp.target, "observed": None, "passed": None,
                          "skipped": True, "why": exp.why}
                results.append(result)
                self.emit(ev.ExpectationChecked.of(result))
                continue
            problem = None
            try:
                value = exp.observed(ctx) if error is None else None
                passed = error is None and exp.check(value)
            except Exception as e:  # noqa: BLE001 - a check that cannot measure fails, and says so in words
                value, passed, problem = None, False, unmeasurable(e)
            result = {"name": exp.name, "op": exp.op, "target": exp.target, "observed": value, "passed": passed,
                      "why": exp.why}
            if problem:
                result["error"] = problem
            results.append(result)
            self.emit(ev.ExpectationChecked.of(result))
        if error is None:  # a failed or stopped run did not finish its traffic: what it has not counted is unknown
            self._measure_lost(ctx)
        if not self.scenario.lesson_is_loss:
            lost = ctx.counts.get("lost")
            why = "every message is processed or parked in a DLQ"
            if stopped:
                results.append({"name": "nothing lost", "op": "==", "target": 0, "observed": None, "passed": None,
                                "skipped": True, "why": why})
            else:
                results.append({"name": "nothing lost", "op": "==", "target": 0, "observed": lost,
                                "passed": lost == 0, "why": why})
                if lost is None:
                    results[-1]["error"] = "could not measure: " + (
                        "the run failed before it counted what was lost" if error else
                        "the run counted neither what was lost nor what was sent")
            self.emit(ev.ExpectationChecked.of(results[-1]))
        cost = self._cost_after(cursor)
        if cost is not None:
            # "function invocations" is every Lambda execution of the run's window, as the recorder (and the cost
            # beside it) counts them: a scenario's own count was one function's (media-pipeline's worker: 24 shown
            # for 50 run) or left a warm-up out. A scenario that did not count gets it too ("function invocations
            # 0" was a count nobody made); a paused recorder (0) leaves a scenario's own count.
            recorded = int(sum(line["quantity"] for line in cost.get("lines", [])
                               if line.get("service") == "lambda" and line.get("item") == "requests"))
            if recorded or "invoked" not in ctx.counted:
                ctx.counts["invoked"] = recorded
        total = cost.get("total") if cost else None
        report = Report(self.scenario.id, variant.name, self.seed, ctx.started, time.perf_counter() - started,
                        dict(ctx.counts),
                        {"p50": percentile(ctx.latencies, 50), "p99": percentile(ctx.latencies, 99),
                         "samples": len(ctx.latencies)},
                        round(float(total), 8) if total is not None else None, results, ctx.observations, error,
                        stopped)
        self._record_trail(cursor, ctx.started)
        self.emit(ev.ReportReady(report=report))
        return report

    def _measure_lost(self, ctx: RunContext) -> None:
        """A scenario that counts what it sent and the other outcomes, but not `lost`, gets lost = sent minus those
        outcomes (Scenario.outcomes): what was sent and is neither done nor parked. Nothing measured, nothing set."""
        if "lost" in ctx.counts or "sent" not in ctx.counts:
            return
        ctx.counts["lost"] = ctx.counts["sent"] - sum(ctx.counts.get(o, 0) for o in self.scenario.outcomes
                                                      if o != "lost")

    # --- leaving the sandbox as the run found it ---------------------------------------------------------
    def _baseline(self) -> Baseline | None:
        try:
            return Baseline.take(self.sb)
        except Exception:  # noqa: BLE001 - a backend without Lambda or CloudFormation: nothing to restore
            return None

    def _restore(self) -> None:
        """Once the run is over (the next variant's reset would undo the changes anyway): the mappings the run
        paused resume, the stacks it deployed are removed - also after a failure or a stop. Said as phases."""
        ctx, self._last = self._last, None
        if ctx is None or ctx.baseline is None:
            return
        self.emit(ev.Phase(text="restoring what the run changed in the sandbox"))
        try:
            done = ctx.baseline.restore(self.sb, ctx.deployed)
        except Exception:  # noqa: BLE001
            done = ["could not check what the run changed: `sandbox reset` starts afresh"]
        for text in done:
            self.emit(ev.Phase(text=text))
        left = left_in_variant(self.scenario.patterns, ctx.variant)
        for text in left:
            self.emit(ev.Phase(text=text))
        if not done and not left:
            self.emit(ev.Phase(text="nothing to restore: the patterns are as the run found them"))

    # --- optional integrations -------------------------------------------------------------------------
    def _clear_faults(self) -> None:
        try:
            self.sb.faults.clear()
        except Exception:  # noqa: BLE001 - a backend without fault injection has nothing to clear
            pass

    def _events_cursor(self) -> int | None:
        """The recorder's newest cursor, or None on a backend without the recorder."""
        try:
            return int(self.sb.observe.cursor())
        except Exception:  # noqa: BLE001
            return None

    def _cost_after(self, cursor: int | None) -> dict | None:
        """The cost estimate of what was recorded after `cursor` (the run's own traffic): {"total", "lines", ...}."""
        if cursor is None:
            return None
        try:
            return self.sb.cost(since=cursor)
        except Exception:  # noqa: BLE001
            return None

    def _record_trail(self, cursor, since: float) -> None:
        """Spans and function logs of the run go into the recording, for replay and study offline."""
        if not self._file:
            return
        events = getattr(self.sb, "events", None)
        if events is not None and cursor is not None:
            try:
                page = events(since=cursor, limit=100000, all=True)
                for span in page.get("events", []):
                    self.emit(ev.SpanRecorded(span=span))
            except Exception:  # noqa: BLE001
                pass
        try:
            logs = self.sb.client("logs")
            for group in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/").get("logGroups", []):
                for page in logs.get_paginator("filter_log_events").paginate(
                        logGroupName=group["logGroupName"], startTime=int(since * 1000)):
                    for item in page.get("events", []):
                        self.emit(ev.LogRecorded(group=group["logGroupName"], time=item["timestamp"] / 1000,
                                                 message=item["message"]))
        except Exception:  # noqa: BLE001 - logs are a bonus in the recording
            pass


