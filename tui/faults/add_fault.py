"""The add-a-fault form: a template (service outage, throttling, Lambda errors, ...) and its parameters.

Dismisses with (template name, {parameter: value}) or None; the values are strings, converted and checked by
`Sandbox.faults.apply` (its error is shown if a required one is missing).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static


class AddFaultScreen(ModalScreen[tuple[str, dict] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "apply", "Apply")]

    def __init__(self, templates: dict):
        super().__init__()
        self.templates = templates
        self.template = next(iter(templates), None)

    def compose(self) -> ComposeResult:
        with Vertical(id="add-fault-box"):
            yield Label("Inject a fault", id="add-fault-title")
            yield Select([(name, name) for name in self.templates], value=self.template, allow_blank=False,
                         id="fault-template")
            yield Static("", id="fault-description")
            yield VerticalScroll(id="fault-params")
            yield Static("", id="fault-error")
            with Horizontal(id="add-fault-buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Apply (ctrl+s)", id="apply", variant="error", compact=True)

    async def on_mount(self) -> None:
        await self._show_template(self.template)
        self.query_one("#fault-template", Select).focus()

    @on(Select.Changed, "#fault-template")
    async def _template_changed(self, event: Select.Changed) -> None:
        if event.value != self.template:
            await self._show_template(event.value)

    async def _show_template(self, name) -> None:
        self.template = name
        template = self.templates.get(name)
        box = self.query_one("#fault-params", VerticalScroll)
        await box.remove_children()
        if template is None:
            return
        self.query_one("#fault-description", Static).update(Text(template.description, style="italic"))
        widgets = []
        for param in template.params:
            label = Text(param.name, style="bold")
            label.append(" *" if param.required else " (optional)", style="red" if param.required else "dim")
            widgets.append(Label(label, classes="param-label"))
            placeholder = param.help + (" (number)" if param.kind in (int, float) else "")
            widgets.append(Input(placeholder=placeholder, id=f"param-{param.name}", classes="param",
                                 type="number" if param.kind in (int, float) else "text", compact=True))
        await box.mount_all(widgets)
        self.query_one("#fault-error", Static).update("")

    def params(self) -> dict:
        out = {}
        for field in self.query(".param").results(Input):
            value = field.value.strip()
            if value:
                out[field.id.removeprefix("param-")] = value
        return out

    def action_apply(self) -> None:
        template = self.templates.get(self.template)
        if template is None:
            return
        given = self.params()
        missing = [p.name for p in template.params if p.required and p.name not in given]
        if missing:
            self.query_one("#fault-error", Static).update(Text(f"needs {', '.join(missing)}", style="bold red"))
            self.query_one(f"#param-{missing[0]}", Input).focus()
            return
        self.dismiss((self.template, given))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_apply()
