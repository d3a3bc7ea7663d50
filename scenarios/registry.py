"""Finds the scenarios of the catalog: every module in `scenarios/catalog/` that defines `SCENARIO`."""

from __future__ import annotations

import importlib
import pkgutil

from scenarios.model import Scenario


class UnknownScenario(LookupError):
    pass


def all_scenarios() -> list[Scenario]:
    from scenarios import catalog

    found = []
    for info in sorted(pkgutil.iter_modules(catalog.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{catalog.__name__}.{info.name}")
        scenario = getattr(module, "SCENARIO", None)
        if isinstance(scenario, Scenario):
            found.append(scenario)
    return found


def get_scenario(scenario_id: str) -> Scenario:
    scenarios = all_scenarios()
    for scenario in scenarios:
        if scenario.id == scenario_id:
            return scenario
    valid = ", ".join(s.id for s in scenarios) or "(none)"
    raise UnknownScenario(f"unknown scenario {scenario_id!r}. Valid: {valid}")
