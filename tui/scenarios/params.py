"""The scenario-parameters form: the knobs `sandbox scenario run --param KEY=VALUE` sets, one field each.

Dismisses with {name: value-as-text} for the values that differ from the scenario's defaults, or None (cancel).
Values are checked with the runner's own `merge_params`, so the form refuses what a run would refuse, with the
same message.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static, Switch

from tui.widgets import FormScreen


def as_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class ScenarioParamsScreen(FormScreen[dict[str, str] | None]):
    BINDINGS = [Binding("ctrl+r", "defaults", "Defaults")]

    def __init__(self, scenario, current: dict[str, str]):
        super().__init__()
        self.scenario = scenario
        self.current = dict(current)

    def compose(self) -> ComposeResult:
        with Vertical(id="params-box"):
            yield Label(Text(f"Parameters of {self.scenario.id}", style="bold"), id="params-title")
            yield Static(Text("Used by the next run; defaults in brackets.", style="italic"), id="params-help")
            with VerticalScroll(id="params-fields"):
                for name, default in self.scenario.params.items():
                    value = self.current.get(name, as_text(default))
                    with Horizontal(classes="param-row"):
                        yield Label(Text.assemble((name, "bold"), (f" [{as_text(default)}]", "dim")),
                                    classes="param-label")
                        if isinstance(default, bool):
                            yield Switch(value=value == "true", id=f"param-{name}", classes="param")
                        else:
                            numeric = isinstance(default, (int, float))
                            yield Input(value, id=f"param-{name}", classes="param", compact=True,
                                        type=("integer" if isinstance(default, int) else "number") if numeric
                                        else "text")
            yield Static("", id="params-error")
            with Horizontal(id="params-buttons"):
                yield Button("Defaults (ctrl+r)", id="defaults", compact=True, action="screen.defaults")
                yield Button("Cancel (esc)", id="cancel", compact=True, action="screen.cancel")
                yield Button("Apply (ctrl+s)", id="apply", variant="primary", compact=True, action="screen.apply")

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
        from scenarios.runner import ScenarioError, merge_params

        given = self.values()
        try:
            merge_params(self.scenario, given)
        except ScenarioError as e:
            self.query_one("#params-error", Static).update(Text(str(e), style="bold red"))
            return
        self.dismiss(given)

    def action_defaults(self) -> None:
        for name, default in self.scenario.params.items():
            widget = self.query_one(f"#param-{name}")
            if isinstance(widget, Switch):
                widget.value = bool(default)
            else:
                widget.value = as_text(default)
        self.query_one("#params-error", Static).update("")
