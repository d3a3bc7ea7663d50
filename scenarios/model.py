"""What a scenario is: patterns to deploy, variants (at least `broken` and `fixed`), steps, and expectations.

A scenario is one module in `scenarios/catalog/` defining `SCENARIO = Scenario(...)`. Steps are small functions
that drive traffic, inject faults and wait on conditions; each carries the narrative shown while it runs (what
to watch, why it happens). Expectations are checks over what was observed, each with the value it saw, so a
report can say "expected duplicates == 0, observed 7".
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}


@dataclass(frozen=True)
class Param:
    """A scenario parameter: its default and what it accepts (`low`..`high` for numbers, or `choices`), so a bad
    value is refused before the run with a message that names the range, not met halfway through as a crash."""

    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    help: str = ""

    @property
    def kind(self) -> str:
        return {bool: "on/off", int: "whole number", float: "number"}.get(type(self.default), "text")

    def allowed(self) -> str:
        """What the parameter accepts, in words: "a whole number from 1 to 9", "on or off", "one of a, b"."""
        if isinstance(self.default, bool):
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        low, high = (_plain_number(v) for v in (self.low, self.high))
        if low is not None and high is not None:
            return f"a {self.kind} from {low} to {high}"
        if low is not None:
            return f"a {self.kind} of at least {low}"
        if high is not None:
            return f"a {self.kind} of at most {high}"
        return f"a {self.kind}"

    def refusal(self, value: Any) -> str | None:
        """Why `value` (already of the default's type) is refused, or None when it is accepted."""
        if self.choices and value not in self.choices:
            return f"must be {self.allowed()}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        below = self.low is not None and value < self.low
        above = self.high is not None and value > self.high
        if value != value or below or above:  # value != value: NaN
            return f"must be {self.allowed()}"
        return None


def _plain_number(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


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


def unmeasurable(error: Exception) -> str:
    """What a check that raised shows instead of a value: in words, never the exception's text (a KeyError is an
    observation the run never made; anything else, a value that was missing or empty)."""
    if isinstance(error, KeyError) and error.args:
        return f"could not measure: nothing was observed as {error.args[0]!r}"
    return "could not measure: a value this check needs is missing or empty"


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
    # knobs users may set with --param KEY=VALUE: a Param each (default and range); after construction `params` holds
    # the defaults and `param_specs` the declarations
    params: dict[str, Any] = field(default_factory=dict)
    lesson_is_loss: bool = False  # `lost` may be > 0 only when losing data is the lesson
    # the counts that together account for every item sent: sent == the sum of these (tests/live/test_scenarios.py
    # checks it for every variant; the runner derives `lost` from it when a scenario does not count it)
    outcomes: tuple[str, ...] = ("succeeded", "in_dlq", "lost")
    param_specs: dict[str, Param] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        # a plain default keeps the range it was declared with (dataclasses.replace passes both back in)
        known = self.param_specs
        specs = {name: p if isinstance(p, Param) else dataclasses.replace(known[name], default=p) if name in known
                 else Param(p) for name, p in self.params.items()}
        object.__setattr__(self, "param_specs", specs)
        object.__setattr__(self, "params", {name: p.default for name, p in specs.items()})

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]
