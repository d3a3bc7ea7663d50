"""The scenario engine and catalog: every variant passes its expectations, a wrong one fails, replays match."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

import scenarios
from scenarios import Expectation, Runner, Scenario, ScenarioError, Step, Variant, get_scenario, replay

BIN = Path(sys.executable).parent
CATALOG = [(s.id, v) for s in scenarios.all_scenarios() for v in s.variant_names]


@pytest.mark.parametrize(("scenario_id", "variant"), CATALOG, ids=[f"{s}-{v}" for s, v in CATALOG])
def test_catalog_variant_passes_its_expectations(sandbox, scenario_id, variant):
    scenario = get_scenario(scenario_id)
    [report] = Runner(sandbox, scenario, seed=7).run([variant])
    failed = [e for e in report.expectations if not e["passed"]]
    assert report.error is None, report.error
    assert not failed, f"{scenario_id}/{variant}: {failed}"


def test_every_scenario_has_broken_and_fixed_and_a_lesson():
    assert CATALOG, "the catalog is empty"
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
    kinds = {e["type"] for e in events}
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
    assert done.returncode == 1 and "Valid:" in done.stderr and "Traceback" not in done.stderr
    with pytest.raises(ScenarioError, match="parameter redrive='maybe' must be a bool"):
        Runner(sandbox, get_scenario("poison-message"), params={"redrive": "maybe"})


def test_parameters_choose_which_expectations_apply():
    """poison-message with redrive=false checks that the DLQ keeps its messages, not that it drains."""
    from scenarios.runner import merge_params

    s = get_scenario("poison-message")
    names = lambda params: [e.name for e in s.expectations if e.applies_to("fixed", merge_params(s, params))]  # noqa: E731
    assert "after the fix and the redrive the DLQ is empty" in names({})
    kept = names({"redrive": "false"})
    assert "after the fix and the redrive the DLQ is empty" not in kept
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
