"""What a scenario is: patterns to deploy, variants (at least `broken` and `fixed`), steps, and expectations.

A scenario is one module in `scenarios/catalog/` defining `SCENARIO = Scenario(...)`. Steps are small functions
that drive traffic, inject faults and wait on conditions; each carries the narrative shown while it runs (what
to watch, why it happens). Expectations are checks over what was observed, each with the value it saw, so a
report can say "expected duplicates == 0, observed 7".
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    # per pattern: template parameters for this variant
    parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    # free-form settings the steps read with ctx.setting(...)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    title: str
    run: Callable[["Any"], None]  # run(ctx: scenarios.runner.RunContext)
    narrative: str = ""


def observed(name: str) -> Callable[["Any"], Any]:
    """What a step observed under `name` (ctx.observe): the `observed` of most expectations."""
    return lambda ctx: ctx.observations.get(name)


@dataclass(frozen=True)
class Expectation:
    """`observed(ctx)` compared with `target` by `op`; `variants` limits it to some variants (None = all), `when`
    to runs whose parameters it accepts (e.g. only when the scenario redrives its DLQ itself)."""

    name: str
    observed: Callable[["Any"], Any]
    op: str
    target: Any
    variants: tuple[str, ...] | None = None
    why: str = ""
    when: Callable[[dict[str, Any]], bool] | None = None

    def __post_init__(self):
        if self.op not in OPERATORS:
            raise ValueError(f"expectation {self.name!r}: unknown operator {self.op!r} (use {', '.join(OPERATORS)})")

    def applies_to(self, variant: str, params: dict[str, Any] | None = None) -> bool:
        if self.variants is not None and variant not in self.variants:
            return False
        return self.when is None or bool(self.when(params or {}))

    def check(self, value: Any) -> bool:
        try:
            return bool(OPERATORS[self.op](value, self.target))
        except TypeError:
            return False


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    summary: str
    learn: list[str]
    patterns: list[str]
    variants: list[Variant]
    steps: list[Step]
    expectations: list[Expectation]
    # knobs users may set with --param KEY=VALUE, with defaults (e.g. how many uploads)
    params: dict[str, Any] = field(default_factory=dict)
    lesson_is_loss: bool = False  # `lost` may be > 0 only when losing data is the lesson

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]
