"""The scenario engine and catalog: every variant passes its expectations, a wrong one fails, replays match."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import events as ev

import scenarios
from scenarios import Expectation, Report, Runner, Scenario, ScenarioError, Step, Variant, get_scenario, replay

BIN = Path(sys.executable).parent
# Variants whose expectations compare latencies or throughput on this machine's CPUs (cold vs warm spikes, an
# init under 100 ms, parallel environments beating one): run with no other test beside them (tests/conftest.py).
TIMED = {("cold-starts", "broken"), ("cold-starts", "fixed"), ("fat-lambda", "fixed"), ("upload-burst", "fixed")}
CATALOG = [pytest.param(s.id, v, id=f"{s.id}-{v}", marks=[pytest.mark.exclusive] if (s.id, v) in TIMED else [])
           for s in scenarios.all_scenarios() for v in s.variant_names]


@pytest.mark.parametrize(("scenario_id", "variant"), CATALOG)
def test_catalog_variant_passes_its_expectations(sandbox, scenario_id, variant):
    scenario = get_scenario(scenario_id)
    cursor = sandbox.observe.cursor()
    [report] = Runner(sandbox, scenario, seed=7).run([variant])
    # "function invocations" is what ran, as the recorder counts executions (upload-burst said 24 for 50: the
    # worker's only). The run counts those that ended before its report; one still running then (sync-waits-on-
    # async's async work goes on after its client gave up) ends later: between what had surely ended and all.
    ends = [s["ts"] + (s.get("duration_ms") or 0) / 1000
            for s in sandbox.events(since=cursor, all=True, service="lambda", limit=100_000)["events"]
            if s.get("hop") == "lambda-exec"]
    reported_at = report.started + report.seconds
    surely = sum(end <= reported_at - 2 for end in ends)
    assert surely <= report.counts.get("invoked", -1) <= len(ends), (report.counts, surely, len(ends))
    failed = [e for e in report.expectations if not e["passed"]]
    assert report.error is None, report.error
    assert not failed, f"{scenario_id}/{variant}: {failed}"
    assert_counts_are_measured_and_add_up(scenario, report)
    assert_sandbox_left_as_found(sandbox, scenario)


def assert_counts_are_measured_and_add_up(scenario, report):
    """#14, 5: the before/after numbers are measurements. Every scenario sends items and invokes functions
    ("function invocations 0" was a count nobody made); what was sent is accounted for by the scenario's outcomes
    (workflow-retries' broken variant said "succeeded 0, lost 0" for 2 executions sent); a fixed variant succeeds
    at something; a count nobody made is absent (shown "–"), never a 0."""
    from scenarios.report import COUNT_LABELS, NOTHING, comparison_rows

    where, counts = f"{scenario.id}/{report.variant}", report.counts
    assert counts.get("sent", 0) > 0, f"{where}: items sent {counts}"
    assert counts.get("invoked", 0) > 0, f"{where}: function invocations {counts}"
    assert "succeeded" in counts and "lost" in counts, f"{where}: {counts}"
    assert all(isinstance(v, int) and v >= 0 for v in counts.values()), f"{where}: {counts}"
    accounted = {o: counts.get(o, 0) for o in scenario.outcomes}
    assert sum(accounted.values()) == counts["sent"], f"{where}: sent {counts['sent']} != {accounted}"
    if report.variant == "fixed":
        assert counts["succeeded"] > 0, f"{where}: {counts}"
    rows = dict(comparison_rows([report]))
    for name, label in COUNT_LABELS.items():
        assert (rows[label] == [NOTHING]) == (name not in counts), f"{where}: {label} {rows[label]}"


def assert_sandbox_left_as_found(sb, scenario):
    """#14, 10: after a run the patterns are as the run found them: no stack of the scenario's own (in any region it
    used), every event source mapping enabled, no fault."""
    from sandbox.deploy import resolve_template

    patterns = {resolve_template(p)[1].default_stack_name for p in scenario.patterns}
    for region in (None, "us-west-2"):
        assert {s["name"] for s in sb.stacks(region=region)} <= (patterns if region is None else set()), \
            f"{scenario.id}: stacks left behind in {region or 'the default region'}"
    mappings = sb.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert [m["State"] for m in mappings if m["State"] != "Enabled"] == [], f"{scenario.id}: {mappings}"
    assert sb.faults.list() == []


def test_every_scenario_has_broken_and_fixed_and_a_lesson():
    assert CATALOG, "the catalog is empty"
    assert TIMED <= {tuple(p.values) for p in CATALOG}, "TIMED names a variant the catalog does not have"
    for s in scenarios.all_scenarios():
        assert {"broken", "fixed"} <= set(s.variant_names), s.id
        assert s.learn and s.steps and s.expectations, s.id
        assert all(step.narrative for step in s.steps), f"{s.id}: every step needs a narrative"


def test_a_wrong_expectation_fails_the_run_and_the_cli_exits_nonzero(sandbox):
    base = get_scenario("workflow-retries")
    wrong = dataclasses.replace(base, expectations=[
        Expectation("impossible", lambda c: c.observations.get("outage.status"), "==", "SUCCEEDED")])
    [report] = Runner(sandbox, wrong).run(["fixed"])
    assert not report.passed
    assert report.expectations[0] == {"name": "impossible", "op": "==", "target": "SUCCEEDED",
                                      "observed": "FAILED", "passed": False, "why": ""}


def test_replay_reproduces_the_report_without_localstack(sandbox, tmp_path):
    runner = Runner(sandbox, get_scenario("workflow-retries"), seed=3)
    [report] = runner.run(["fixed"])
    events = []
    [replayed] = replay(runner.recording, listener=events.append)
    assert replayed.as_dict() == report.as_dict()
    kinds = {e.kind for e in events}
    assert {"run", "variant", "step", "expectation", "report"} <= kinds
    # the CLI replays it too, in a process that is given no sandbox at all
    done = subprocess.run([str(BIN / "sandbox"), "--endpoint", "http://127.0.0.1:9", "replay", str(runner.recording),
                           "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["counts"] == report.counts


def test_unknown_scenario_variant_and_parameter_are_clear_errors(sandbox):
    with pytest.raises(scenarios.UnknownScenario, match="unknown scenario 'nope'. Valid: .*workflow-retries"):
        get_scenario("nope")
    with pytest.raises(ScenarioError, match="has no variant shiny. Valid: broken, fixed, all"):
        Runner(sandbox, get_scenario("workflow-retries")).run(["shiny"])
    with pytest.raises(ScenarioError, match="has no parameter 'speed'"):
        Runner(sandbox, get_scenario("workflow-retries"), params={"speed": "1"})
    done = subprocess.run([str(BIN / "sandbox"), "--state-dir", str(sandbox.settings.state_dir), "scenario", "run",
                           "nope"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Valid:" in done.stderr and "Traceback" not in done.stderr  # a usage error
    with pytest.raises(ScenarioError, match="parameter redrive='maybe' must be true or false"):
        Runner(sandbox, get_scenario("poison-message"), params={"redrive": "maybe"})


def test_parameters_choose_which_expectations_apply():
    """poison-message with redrive=false checks that the DLQ keeps its messages, not that it drains."""
    from scenarios.runner import merge_params

    s = get_scenario("poison-message")
    names = lambda params: [e.name for e in s.expectations if e.applies_to("fixed", merge_params(s, params))]  # noqa: E731
    assert "messages left in the DLQ after the fix and the redrive" in names({})
    kept = names({"redrive": "false"})
    assert "messages left in the DLQ after the fix and the redrive" not in kept
    assert "without the redrive every parked message still waits in the DLQ" in kept
    assert merge_params(get_scenario("cold-starts"), {"realistic": "no"})["realistic"] is False


def test_faults_are_cleared_even_when_a_run_fails_or_is_stopped(sandbox):
    def inject_then_fail(ctx):
        ctx.sb.faults.apply("service-outage", service="sns")
        raise RuntimeError("step blew up")

    def inject_then_stop(ctx):
        ctx.sb.faults.apply("service-outage", service="sns")
        runner.stop()
        ctx.sleep(5)

    broken = Scenario(id="t-faults", title="t", summary="", learn=["x"], patterns=[],
                      variants=[Variant("broken", "b"), Variant("fixed", "f")],
                      steps=[Step("inject and fail", inject_then_fail, "n")],
                      expectations=[Expectation("never", lambda c: 1, "==", 1)])
    [report] = Runner(sandbox, broken, record=False).run(["broken"])
    assert report.error == "RuntimeError: step blew up" and not report.passed
    assert sandbox.faults.list() == []

    stopping = dataclasses.replace(broken, steps=[Step("inject and stop", inject_then_stop, "n")])
    runner = Runner(sandbox, stopping, record=False)
    [report] = runner.run(["broken"])
    assert report.error == "stopped before the end"
    assert sandbox.faults.list() == []


def test_stop_ends_a_multi_variant_run_no_further_variant_starts(sandbox, capsys):
    """Stopped during `broken` of broken+fixed: `fixed` never starts, the report says stopped (its expectations not
    evaluated, not failed), the faults are cleared; stopped between variants, the rest does not start either."""
    from sandbox.commands.scenario import print_event

    def inject_then_stop(ctx):
        ctx.sb.faults.apply("service-outage", service="sns")
        runner.stop()
        ctx.sleep(5)

    base = Scenario(id="t-stop", title="t", summary="", learn=["x"], patterns=[],
                    variants=[Variant("broken", "b"), Variant("fixed", "f"), Variant("third", "t")],
                    steps=[Step("inject and stop", inject_then_stop, "n"), Step("never", lambda c: 1 / 0, "n")],
                    expectations=[Expectation("one", lambda c: 1, "==", 1)])
    events = []
    runner = Runner(sandbox, base, record=False, listeners=[events.append, print_event])
    reports = runner.run(["broken", "fixed", "third"])
    assert [r.variant for r in reports] == ["broken"]
    [report] = reports
    assert report.stopped and not report.passed and report.verdict == "STOPPED"
    assert report.error == "stopped before the end"
    assert [(e["name"], e["passed"], e["skipped"]) for e in report.expectations] == [
        ("one", None, True), ("nothing lost", None, True)]  # not evaluated: neither passed nor failed
    assert runner.stopped and runner.not_run == ["fixed", "third"]
    assert [e.variant for e in events if isinstance(e, ev.VariantStarted)] == ["broken"]
    stopped = [e for e in events if isinstance(e, ev.Stopped)]
    assert stopped == [ev.Stopped(ts=stopped[0].ts, variant="broken", step=1, not_run=["fixed", "third"])]
    assert not [e for e in events if isinstance(e, ev.StepFailed)]
    assert sandbox.faults.list() == []
    assert Report.from_dict(report.as_dict()).stopped  # recordings and replays keep it
    out = capsys.readouterr().out
    assert "stopped (variant broken, step 1); not run: fixed, third" in out and "STOPPED" in out
    assert "SKIP" in out and "FAIL" not in out, out

    # stopped at the end of a variant's last step: that variant finishes, the next ones do not start
    def last_step_then_stop(ctx):
        ctx.count("sent")
        ctx.count("succeeded")  # every item sent is accounted for, or the runner counts it lost
        runner.stop()

    events.clear()
    ends = dataclasses.replace(base, steps=[Step("send then stop", last_step_then_stop, "n")])
    runner = Runner(sandbox, ends, record=False, listeners=[events.append])
    [report] = runner.run(["broken", "fixed"])
    assert report.passed and not report.stopped
    assert runner.stopped and runner.not_run == ["fixed"]
    assert [e.variant for e in events if isinstance(e, ev.VariantStarted)] == ["broken"]
    assert [e for e in events if isinstance(e, ev.Stopped)][0].variant is None


def test_before_after_rows_name_what_they_count():
    from scenarios.report import comparison_rows

    def report(variant, **kw):
        return Report("s", variant, 1, 0.0, 1.0, {"sent": 5, "invoked": 4, "succeeded": 5, "in_dlq": 1},
                      {"p50": None, "p99": None, "samples": 0}, None,
                      [{"name": "x", "op": "==", "target": 1, "observed": 1, "passed": True}], {}, **kw)

    rows = dict(comparison_rows([report("broken"), report("fixed", error="stopped before the end", stopped=True)]))
    assert rows["function invocations"] == ["4", "4"] and rows["items succeeded"] == ["5", "5"]
    assert rows["in DLQ"] == ["1", "1"] and "invoked" not in rows and "in_dlq" not in rows
    assert rows["latency p50 ms"] == ["–", "–"] and rows["cost USD"] == ["–", "–"]
    assert rows["expectations met"] == ["1/1", "stopped"]


def test_ctrl_c_stops_a_cli_run_of_all_variants(sandbox):
    """Ctrl-C during `broken` of `--variant all`: `fixed` never starts, the output says stopped (no FAIL), the faults
    are cleared, the exit code is 130."""
    import os
    import queue
    import signal
    import threading
    import time

    proc = subprocess.Popen([str(BIN / "sandbox"), "--state-dir", str(sandbox.settings.state_dir), "scenario", "run",
                             "workflow-retries", "--variant", "all", "--yes"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    # Both pipes are read in threads: a read here never blocks past the deadline, and a full stderr pipe never
    # stalls the process. None marks the end of stdout.
    lines: queue.Queue[str | None] = queue.Queue()
    err_parts: list[str] = []

    def read_stdout():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    readers = [threading.Thread(target=read_stdout, daemon=True),
               threading.Thread(target=lambda: err_parts.append(proc.stderr.read()), daemon=True)]
    for reader in readers:
        reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not seen or "variant broken" not in seen[-1]:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break  # the deadline
            if line is None:
                break  # the process ended first
            seen.append(line)
        assert seen and "variant broken" in seen[-1], "".join(seen)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        for reader in readers:
            reader.join(timeout=30)
    while not lines.empty():
        seen.append(lines.get_nowait() or "")
    out, err = "".join(seen), "".join(err_parts)
    assert proc.returncode == 130, (proc.returncode, out[-2000:], err[-2000:])
    assert "stopped (variant broken" in out and "not run: fixed" in out and "broken: STOPPED" in out, out[-2000:]
    assert "== variant fixed" not in out and "[FAIL]" not in out and ": FAILED" not in out, out[-2000:]
    assert sandbox.faults.list() == []


def test_a_check_that_cannot_measure_fails_and_says_so_in_words(sandbox):
    """#14, 6: `good=0` made a check raise (min() of nothing): the checklist showed the exception's text as the
    observed value. Now the check fails, with "could not measure: ..." and no Python text."""
    s = Scenario(id="t-measure", title="t", summary="", learn=["x"], patterns=[],
                 variants=[Variant("broken", "b"), Variant("fixed", "f")],
                 steps=[Step("observe nothing", lambda c: c.observe("attempts", []), "n")],
                 expectations=[Expectation("fewest attempts", lambda c: min(c.observations["attempts"]), ">=", 2),
                               Expectation("missing", lambda c: c.observations["never.observed"], "==", 1),
                               Expectation("fine", lambda c: len(c.observations["attempts"]), "==", 0)])
    events = []
    [report] = Runner(sandbox, s, record=False, listeners=[events.append]).run(["broken"])
    by_name = {e["name"]: e for e in report.expectations}
    assert by_name["fewest attempts"] == {"name": "fewest attempts", "op": ">=", "target": 2, "observed": None,
                                          "passed": False, "why": "",
                                          "error": "could not measure: a value this check needs is missing or empty"}
    assert by_name["missing"]["error"] == "could not measure: nothing was observed as 'never.observed'"
    assert by_name["missing"]["passed"] is False and by_name["fine"]["passed"] is True
    assert not report.passed
    checked = [e for e in events if isinstance(e, ev.ExpectationChecked)]
    assert [e.error for e in checked][:2] == [by_name["fewest attempts"]["error"], by_name["missing"]["error"]]
    assert not any("min()" in str(v) or "KeyError" in str(v) for e in report.expectations for v in e.values())
    # nothing counted: no row of the before/after table pretends a 0, and "nothing lost" cannot pass on nothing
    assert "lost" not in report.counts and "sent" not in report.counts
    assert by_name["nothing lost"]["passed"] is False and by_name["nothing lost"]["error"].startswith("could not")


def test_a_run_restores_the_pattern_even_when_it_fails_or_is_stopped(sandbox):
    """#14, 10: a step that pauses the pattern's worker mapping and deploys a stack of its own, then fails (or is
    stopped): the mapping is enabled again and the stack removed when the run ends, and the run says so."""
    def alter(ctx):
        lam = ctx.sb.client("lambda")
        (esm,) = lam.list_event_source_mappings(
            FunctionName=ctx.output("media-pipeline", "WorkerFunctionName"))["EventSourceMappings"]
        lam.update_event_source_mapping(UUID=esm["UUID"], Enabled=False)
        ctx.wait_until(lambda: lam.get_event_source_mapping(UUID=esm["UUID"])["State"] == "Disabled", 30,
                       "the mapping to be disabled")
        ctx.deploy_app("sync-waits", stack_name="t-restore-extra", parameters={"Mode": "accept"})

    def alter_then_fail(ctx):
        alter(ctx)
        raise RuntimeError("step blew up")

    def alter_then_stop(ctx):
        alter(ctx)
        runner.stop()
        ctx.sleep(5)

    base = Scenario(id="t-restore", title="t", summary="", learn=["x"], patterns=["media-pipeline"],
                    variants=[Variant("broken", "b"), Variant("fixed", "f")],
                    steps=[Step("alter and fail", alter_then_fail, "n")],
                    expectations=[Expectation("one", lambda c: 1, "==", 1)])
    for scenario in (base, dataclasses.replace(base, steps=[Step("alter and stop", alter_then_stop, "n")])):
        events = []
        runner = Runner(sandbox, scenario, record=False, listeners=[events.append])
        [report] = runner.run(["broken"])
        assert report.error in ("RuntimeError: step blew up", "stopped before the end")
        assert_sandbox_left_as_found(sandbox, scenario)
        said = [e.text for e in events if isinstance(e, ev.Phase)]
        assert "removed stack t-restore-extra, deployed by the scenario" in said, said
        assert any(t.startswith("re-enabled the event source mapping of ") for t in said), said


def test_poison_message_without_redrive_leaves_only_the_dlq_and_says_so(sandbox):
    """#14, 10: redrive=false keeps the dead-lettered messages for the attendee on purpose - and nothing else: the
    scenario's worker is removed, the pattern's own worker reads the jobs queue again; the narrative says so. The
    numbers add up: the good jobs done, the parked messages in the DLQ, nothing lost."""
    scenario = get_scenario("poison-message")
    events = []
    [report] = Runner(sandbox, scenario, seed=7, params={"redrive": "false"}, record=False,
                      listeners=[events.append]).run(["broken"])
    assert report.passed, report.expectations
    assert_counts_are_measured_and_add_up(scenario, report)
    counts = report.counts
    assert counts["in_dlq"] == counts["dead_lettered"] >= 2, counts  # the poison one and good ones of its batch
    assert counts["succeeded"] == counts["sent"] - counts["in_dlq"] and counts["lost"] == 0, counts
    assert_sandbox_left_as_found(sandbox, scenario)
    dlq = next(s for s in sandbox.stacks() if s["name"] == "media-pipeline")["outputs"]["DeadLetterQueueUrl"]
    assert len(sandbox.dlq.peek(dlq, max_messages=10)) == counts["in_dlq"], "the parked messages stay"
    said = " ".join(e.text for e in events if isinstance(e, (ev.Narrative, ev.Phase)))
    assert "the DLQ keeps its" in said and "redrive them yourself" in said, said
    assert "removed stack media-batch-worker, deployed by the scenario" in said, said


def test_a_failed_run_says_it_did_not_count_what_was_lost(sandbox):
    """A step that fails before counting: "nothing lost" is not a 0 nobody measured, it fails and says why."""
    def fail(ctx):
        raise RuntimeError("step blew up")

    s = Scenario(id="t-failed", title="t", summary="", learn=["x"], patterns=[],
                 variants=[Variant("broken", "b"), Variant("fixed", "f")], steps=[Step("fail", fail, "n")],
                 expectations=[Expectation("one", lambda c: 1, "==", 1)])
    [report] = Runner(sandbox, s, record=False).run(["broken"])
    lost = next(e for e in report.expectations if e["name"] == "nothing lost")
    assert (lost["observed"], lost["passed"]) == (None, False)
    assert lost["error"] == "could not measure: the run failed before it counted what was lost"
    assert "lost" not in report.counts and "sent" not in report.counts


def test_a_second_run_on_the_same_sandbox_is_refused_before_it_resets_anything(sandbox):
    """A CLI run started while the TUI's ran reset the sandbox under it; now it is refused, naming the first."""
    from scenarios.run_lock import RunLock

    queue = sandbox.client("sqs").create_queue(QueueName="kept-by-the-refusal")["QueueUrl"]
    held = RunLock.take(sandbox.settings.state_dir, "retry-storm")
    try:
        with pytest.raises(ScenarioError, match=r"already running on this sandbox \(retry-storm, pid"):
            Runner(sandbox, get_scenario("workflow-retries")).run(["fixed"])
    finally:
        held.release()
    assert sandbox.client("sqs").get_queue_url(QueueName="kept-by-the-refusal")["QueueUrl"] == queue
