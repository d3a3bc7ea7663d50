"""Scenarios: runnable lessons that deploy a pattern, break it on purpose, assert what happens, and show the fix.

Scenarios use the sandbox only through `sandbox.Sandbox`; they never import the TUI.
"""

from scenarios.model import Expectation, Scenario, Step, Variant
from scenarios.registry import UnknownScenario, all_scenarios, get_scenario
from scenarios.replay import ReplayError, replay
from scenarios.report import Report
from scenarios.runner import RunContext, Runner, ScenarioError

__all__ = ["Expectation", "Scenario", "Step", "Variant", "UnknownScenario", "all_scenarios", "get_scenario",
           "ReplayError", "replay", "Report", "RunContext", "Runner", "ScenarioError"]
