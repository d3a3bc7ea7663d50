"""The scenario-parameters form: the knobs `sandbox scenario run --param KEY=VALUE` sets, one field each.

Dismisses with {name: value-as-text} for the values that differ from the scenario's defaults, or None (cancel).
Each field says what it accepts (the scenario's Param: a range, or on/off beside a switch); values are checked with
the runner's own `merge_params`, so the form refuses what a run would refuse, with the same message.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static, Switch

from tui.widgets import FormScreen


def as_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def switch_text(on: bool) -> Text:
    """The state of an on/off parameter in words, beside its switch (a switch alone does not say which is on)."""
    return Text("on", style="bold green") if on else Text("off", style="bold")


def allowed_text(spec) -> str:
    """What a parameter accepts, beside its field: "1 to 9", "on or off"; its help after a dash."""
    if isinstance(spec.default, bool):
        allowed = "on or off"
    else:
        allowed = spec.allowed().removeprefix("a whole number from ").removeprefix("a number from ")
        allowed = allowed.replace(" to ", "–", 1) if allowed[:1].isdigit() else allowed
    return f"{allowed} · {spec.help}" if spec.help else allowed


def refusal_of(scenario, name: str, value: str) -> str | None:
    """Why the run would refuse `value` for `name` (the runner's own words), or None."""
    from scenarios.runner import ScenarioError, merge_params

    try:
        merge_params(scenario, {name: value})
    except ScenarioError as e:
        return str(e)
    return None


class ScenarioParamsScreen(FormScreen[dict[str, str] | None]):
    BINDINGS = [Binding("ctrl+r", "defaults", "Defaults")]

    def __init__(self, scenario, current: dict[str, str]):
        super().__init__()
        self.scenario = scenario
        self.current = dict(current)
        self._refused: list[str] = []  # what the last apply refused (cleared as the fields are fixed)

    def compose(self) -> ComposeResult:
        with Vertical(id="params-box"):
            yield Label(Text(f"Parameters of {self.scenario.id}", style="bold"), id="params-title")
            yield Static(Text("Used by the next run; defaults in brackets, what each accepts beside it.",
                              style="italic"), id="params-help")
            with VerticalScroll(id="params-fields"):
                for name, spec in self.scenario.param_specs.items():
                    default = spec.default
                    value = self.current.get(name, as_text(default))
                    with Horizontal(classes="param-row"):
                        yield Label(Text.assemble((name, "bold"), (f" [{as_text(default)}]", "dim")),
                                    classes="param-label")
                        if isinstance(default, bool):
                            on = value.strip().lower() in ("true", "1", "yes", "on")
                            yield Switch(value=on, id=f"param-{name}", classes="param")
                            yield Label(switch_text(on), id=f"state-{name}", classes="param-state")
                        else:  # a text field: every key typed shows (an integer field dropped some without
                            # a word); what is out of range or not a number is marked, and refused on apply
                            yield Input(value, id=f"param-{name}", classes="param", compact=True)
                        yield Label(Text(allowed_text(spec), style="dim"), id=f"allowed-{name}",
                                    classes="param-allowed")
            yield Static("", id="params-error")
            with Horizontal(id="params-buttons"):
                yield Button("Defaults (ctrl+r)", id="defaults", compact=True, action="screen.defaults")
                yield Button("Cancel (esc)", id="cancel", compact=True, action="screen.cancel")
                yield Button("Apply (ctrl+s)", id="apply", variant="primary", compact=True, action="screen.apply")

    @on(Switch.Changed)
    def _switch_changed(self, event: Switch.Changed) -> None:
        name = (event.switch.id or "").removeprefix("param-")
        self.query_one(f"#state-{name}", Label).update(switch_text(event.value))

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        """A value out of range is marked at once, next to its field (Apply refuses it with the same words)."""
        name = (event.input.id or "").removeprefix("param-")
        spec = self.scenario.param_specs.get(name)
        if spec is None:
            return
        refused = refusal_of(self.scenario, name, event.value.strip())
        self.query_one(f"#allowed-{name}", Label).update(
            Text(allowed_text(spec), style="bold red" if refused else "dim"))
        event.input.set_class(bool(refused), "-invalid")
        if self._refused:  # the refusal an apply showed: kept only for what is still wrong
            self._show_refusals()

    def _refusals(self) -> list[str]:
        return [r for name, value in self.values().items() if (r := refusal_of(self.scenario, name, value))]

    def _show_refusals(self) -> None:
        self._refused = self._refusals()
        self.query_one("#params-error", Static).update(Text("\n".join(self._refused), style="bold red"))

    def on_mount(self) -> None:
        first = next(iter(self.query(".param")), None)
        if first is not None:
            first.focus()

    def values(self) -> dict[str, str]:
        """The fields that differ from the defaults, as text (what `--param` would say)."""
        out = {}
        for name, default in self.scenario.params.items():
            widget = self.query_one(f"#param-{name}")
            value = as_text(widget.value) if isinstance(widget, Switch) else widget.value.strip()
            if value != as_text(default):
                out[name] = value
        return out

    def action_apply(self) -> None:
        self._show_refusals()
        if self._refused:  # every bad field at once, in the words `sandbox scenario run --param` uses
            return
        self.dismiss(self.values())

    def action_defaults(self) -> None:
        for name, default in self.scenario.params.items():
            widget = self.query_one(f"#param-{name}")
            if isinstance(widget, Switch):
                widget.value = bool(default)
            else:
                widget.value = as_text(default)
        self._refused = []
        self.query_one("#params-error", Static).update("")
