"""Scenario parameters are declared with their ranges and refused outside them (#14, 6), before anything runs."""

import math

import pytest
from click.testing import CliRunner

import scenarios
from sandbox.cli import main
from sandbox.embedded import free_port
from scenarios import ScenarioError, get_scenario
from scenarios.runner import merge_params


def test_every_numeric_parameter_declares_its_range():
    for s in scenarios.all_scenarios():
        for name, spec in s.param_specs.items():
            if isinstance(spec.default, bool) or not isinstance(spec.default, (int, float)):
                continue
            assert spec.low is not None and spec.high is not None, f"{s.id}.{name} has no range"
            assert spec.refusal(spec.default) is None, f"{s.id}.{name}: the default is out of its own range"


@pytest.mark.parametrize(("given", "message"), [
    ({"good": "0"}, "parameter good='0' must be a whole number from 1 to 9"),
    ({"good": "10"}, "parameter good='10' must be a whole number from 1 to 9"),
    ({"good": "2.5"}, "parameter good='2.5' must be a whole number from 1 to 9"),
    ({"good": "-1"}, "parameter good='-1' must be a whole number from 1 to 9"),
    ({"redrive": "maybe"}, "parameter redrive='maybe' must be true or false"),
])
def test_out_of_range_values_are_refused_with_the_range(given, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(")):
        merge_params(get_scenario("poison-message"), given)


def test_floats_refuse_nan_and_infinity_and_accept_the_range():
    s = get_scenario("cost-spike")
    for bad in ("nan", "inf", "0.5", "11"):
        with pytest.raises(ScenarioError, match="must be a number from 1 to 10"):
            merge_params(s, {"headroom": bad})
    assert math.isclose(merge_params(s, {"headroom": "2.5"})["headroom"], 2.5)
    assert merge_params(get_scenario("poison-message"), {"good": " 9 ", "redrive": "off"}) == {"good": 9,
                                                                                             "redrive": False}


def test_cli_refuses_a_bad_parameter_with_exit_code_2_before_needing_a_sandbox(tmp_path):
    result = CliRunner().invoke(main, ["--state-dir", str(tmp_path), "scenario", "run", "poison-message",
                                       "--param", "good=0"], env={"SANDBOX_PORT": str(free_port())})
    assert result.exit_code == 2, result.output
    assert "parameter good='0' must be a whole number from 1 to 9" in result.output
    assert "Traceback" not in result.output and "No sandbox" not in result.output


@pytest.mark.parametrize("args, message", [
    (["scenario", "run", "nope"], "Invalid value for SCENARIO_ID: unknown scenario 'nope'. Valid: cold-starts"),
    (["scenario", "show", "nope"], "unknown scenario 'nope'"),
    (["scenario", "run", "retry-storm", "--variant", "shiny"],
     "Invalid value for --variant: scenario retry-storm has no variant shiny. Valid: broken, fixed, all"),
    (["scenario", "run", "retry-storm", "--param", "timeout"], "Invalid value for --param: 'timeout' is not KEY=VALUE"),
])
def test_every_bad_argument_of_a_scenario_is_a_usage_error_before_needing_a_sandbox(tmp_path, args, message):
    """Exit 2 for each, as click's own usage errors: an unknown scenario or a malformed --param exited 1 (the code of a
    scenario whose expectations failed), and an unknown variant asked for a running sandbox first."""
    result = CliRunner().invoke(main, ["--state-dir", str(tmp_path), *args], env={"SANDBOX_PORT": str(free_port())})
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output and "No sandbox" not in result.output


def test_show_lists_what_each_parameter_accepts():
    result = CliRunner().invoke(main, ["scenario", "show", "poison-message"])
    assert result.exit_code == 0, result.output
    assert "good=4  (a whole number from 1 to 9;" in result.output
    assert "redrive=true  (true or false;" in result.output


def test_a_replaced_scenario_keeps_its_parameter_ranges():
    import dataclasses

    copy = dataclasses.replace(get_scenario("poison-message"), steps=[])
    assert copy.params == {"good": 4, "redrive": True}
    with pytest.raises(ScenarioError, match="from 1 to 9"):
        merge_params(copy, {"good": "0"})
