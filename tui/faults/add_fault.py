"""The add-a-fault form: a template (service outage, throttling, Lambda errors, ...) and its parameters.

Dismisses with (template name, {parameter: value}) or None; the values are strings, converted and checked by
`Sandbox.faults.apply` (its error is shown if a required one is missing).

What the form checks itself, so that a rule does not quietly match more, or nothing:
  * the deployed functions (and the sandbox's services) are fetched in a worker, offered as completions
    (right arrow accepts) and listed under the field; a function name that is not deployed is refused here
    with the names that are (and `Sandbox.faults.apply` refuses it too);
  * an optional target left empty (a Lambda template's function) means EVERY function: the form says so
    while it is empty, and the first ctrl+s only asks to confirm; the second applies.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static

from tui.backend import function_target, unknown_function_message
from tui.widgets import FormScreen

# Parameters that choose what a rule applies to; left empty, a rule applies to every one of them.
TARGETS = {"function": "functions", "service": "services"}
MAX_HINT_NAMES = 6
# What a field's placeholder shows: an example value (what the field means is its label and help).
EXAMPLES = {"service": "dynamodb", "region": "eu-west-1", "operation": "PutItem", "probability": "0.5",
            "ms": "250", "function": "orders-fn", "qualifier": "live", "error_type": "OrderRejected",
            "error_message": "out of stock"}


class AddFaultScreen(FormScreen[tuple[str, dict] | None]):
    def __init__(self, templates: dict, backend=None):
        super().__init__()
        self.templates = templates
        self.template = next(iter(templates), None)
        self.backend = backend
        # what exists, once the worker has asked (None: not known, e.g. not loaded yet or replay mode)
        self.known: dict[str, list[str] | None] = {"functions": None, "services": None}
        self.default_region: str | None = getattr(backend, "region", None)
        self._confirm_every: str | None = None  # the empty target the next ctrl+s confirms

    def compose(self) -> ComposeResult:
        with Vertical(id="add-fault-box"):
            yield Label("Inject a fault", id="add-fault-title")
            yield Select([(name, name) for name in self.templates], value=self.template, allow_blank=False,
                         id="fault-template")
            yield Static("", id="fault-description")
            # not focusable itself: Tab from the template goes straight to the first field
            yield VerticalScroll(id="fault-params", can_focus=False)
            yield Static("", id="fault-scope")
            yield Static("", id="fault-error")
            with Horizontal(id="add-fault-buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True, action="screen.cancel")
                yield Button("Apply (ctrl+s)", id="apply", variant="error", compact=True, action="screen.apply")

    async def on_mount(self) -> None:
        await self._show_template(self.template)
        self.query_one("#fault-template", Select).focus()
        if self.backend is not None and self.backend.live:
            self._load_targets()

    # --- what exists ---------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="fault-targets")
    def _load_targets(self) -> None:
        found: dict[str, list[str] | None] = {}
        for kind in TARGETS.values():
            try:
                found[kind] = list(getattr(self.backend, kind)())
            except Exception:  # noqa: BLE001 - then no completions; Sandbox.faults.apply still checks
                found[kind] = None
        self.app.call_from_thread(self._targets_loaded, found)

    def _targets_loaded(self, found: dict) -> None:
        self.known.update(found)
        for param, kind in TARGETS.items():
            for field in self.query(f"#param-{param}").results(Input):
                field.suggester = self._suggester(kind)
        self._update_hints()
        self._update_scope()

    def _suggester(self, kind: str) -> SuggestFromList | None:
        names = self.known.get(kind)
        return SuggestFromList(names, case_sensitive=False) if names else None

    def _update_hints(self) -> None:
        for param, kind in TARGETS.items():
            for hint in self.query(f"#hint-{param}").results(Static):
                hint.update(self._hint_text(param, kind))

    def _hint_text(self, param: str, kind: str) -> Text:
        names = self.known.get(kind)
        if names is None:
            return Text("")
        if not names:
            return Text(f"no {kind} in the sandbox" + (" (deploy first)" if param == "function" else ""),
                        style="yellow")
        shown = ", ".join(names[:MAX_HINT_NAMES])
        more = f" … {len(names) - MAX_HINT_NAMES} more" if len(names) > MAX_HINT_NAMES else ""
        text = Text("deployed: " if param == "function" else "services (in use first): ", style="dim")
        text.append(shown + more)
        text.append("  (→ completes)", style="dim")
        return text

    # --- the template's fields -----------------------------------------------------------------------------
    @on(Select.Changed, "#fault-template")
    async def _template_changed(self, event: Select.Changed) -> None:
        if event.value != self.template:
            await self._show_template(event.value)

    async def _show_template(self, name) -> None:
        self.template = name
        self._confirm_every = None
        template = self.templates.get(name)
        box = self.query_one("#fault-params", VerticalScroll)
        await box.remove_children()
        if template is None:
            return
        self.query_one("#fault-description", Static).update(Text(template.description, style="italic"))
        widgets = []
        for param in template.params:
            # the label beside its field, the help under it (still there once something is typed), an example
            # as the placeholder: an empty field no longer reads as a line of text
            label = Text(param.name, style="bold")
            if param.required:
                label.append(" *", style="bold red")
            kind = TARGETS.get(param.name)
            field = Input(placeholder=self._example(param), id=f"param-{param.name}", classes="param",
                          type="number" if param.kind in (int, float) else "text", compact=True,
                          suggester=self._suggester(kind) if kind else None)
            widgets.append(Horizontal(Label(label, classes="param-label"), field, classes="param-row"))
            need = Label("required" if param.required else "optional", classes="param-need")
            need.set_class(param.required, "-required")
            widgets.append(Horizontal(need, Static(param.help, id=f"help-{param.name}", classes="param-help"),
                                      classes="param-help-row"))
            if kind:
                widgets.append(Static(self._hint_text(param.name, kind), id=f"hint-{param.name}",
                                      classes="param-hint"))
        await box.mount_all(widgets)
        self.query_one("#fault-error", Static).update("")
        self._update_scope()

    @staticmethod
    def _example(param) -> str:
        example = EXAMPLES.get(param.name)
        return f"e.g. {example}" if example else ""

    def params(self) -> dict:
        out = {}
        for field in self.query(".param").results(Input):
            value = field.value.strip()
            if value:
                out[field.id.removeprefix("param-")] = value
        return out

    # --- what the rule will apply to -----------------------------------------------------------------------
    def _every(self) -> str | None:
        """The optional target (function/service) the template has and the form leaves empty, if any."""
        template = self.templates.get(self.template)
        if template is None:
            return None
        given = self.params()
        for param in template.params:
            if param.name in TARGETS and not param.required and param.name not in given:
                return param.name
        return None

    def _update_scope(self) -> None:
        every = self._every()
        scope = self.query_one("#fault-scope", Static)
        if every is None:
            scope.update("")
            return
        text = Text("applies to ", style="bold")
        text.append(f"EVERY {every}", style="bold reverse yellow")
        text.append(f" — name one {every} to narrow it", style="yellow")
        scope.update(text)

    @on(Input.Changed, ".param")
    def _param_changed(self) -> None:
        self._confirm_every = None
        self.query_one("#fault-error", Static).update("")
        self._update_scope()

    def _unknown_function(self, given: dict) -> str | None:
        """Why the function named in the form does not exist (None when it does, or it cannot be told here)."""
        value = given.get("function")
        known = self.known.get("functions")
        if not value or known is None:
            return None
        target = function_target(value)
        if target is None:
            return None
        region = given.get("region") or target[1]  # the form's region field, else the ARN's
        if region and self.default_region and region != self.default_region:
            return None  # the list is of the default region; Sandbox.faults.apply checks the other one
        if target[0] in known:
            return None
        return unknown_function_message(target[0], self.default_region or "the sandbox's region", known,
                                        listed_by_caller=True)

    # --- apply / cancel -------------------------------------------------------------------------------------
    def _error(self, text: str | Text, field: str | None = None) -> None:
        self.query_one("#fault-error", Static).update(text if isinstance(text, Text) else
                                                       Text(text, style="bold red"))
        if field:
            for widget in self.query(f"#param-{field}").results(Input):
                widget.focus()

    def action_apply(self) -> None:
        template = self.templates.get(self.template)
        if template is None:
            return
        given = self.params()
        missing = [p.name for p in template.params if p.required and p.name not in given]
        if missing:
            self._error(f"needs {', '.join(missing)}", missing[0])
            return
        unknown = self._unknown_function(given)
        if unknown:
            self._error(unknown, "function")
            return
        every = self._every()
        if every and self._confirm_every != every:
            self._confirm_every = every
            text = Text("ctrl+s again", style="bold")
            text.append(" to apply it to ", style="yellow")
            text.append(f"EVERY {every}", style="bold yellow")
            text.append(f" — or name one {every}.", style="yellow")
            self._error(text)
            return
        self._submit(self.template, given)

    @work(thread=True, exclusive=True, group="fault-apply")
    def _submit(self, template: str, given: dict) -> None:
        """Applies the rule on a live sandbox before closing: a rule it refuses ("unknown service 'dynamodbb' (did you
        mean 'dynamodb'?)") is said here, with what was typed kept (the form used to close, and the refusal came as
        a toast). Without a live backend the pane applies what the form gives back."""
        apply = getattr(self.backend, "apply_fault", None) if getattr(self.backend, "live", False) else None
        if apply is None:
            self.app.call_from_thread(self.dismiss, (template, given))
            return
        try:
            apply(template, given)
        except Exception as e:  # noqa: BLE001 - the sandbox's words, in the form
            self.app.call_from_thread(self._error, f"refused: {e}")
            return
        self.app.call_from_thread(self.dismiss, (template, given, True))
