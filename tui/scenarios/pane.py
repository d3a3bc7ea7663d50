"""Scenarios: the catalog, and a run of a variant as it happens (narrative, checklist, before/after table).

A run goes through `scenarios.Runner` in a thread worker; its events reach this pane in batches (at most ten a
second) as `ScenarioEvents` messages. A replay feeds the recorded events through the same path.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Label, OptionList, RichLog, Select, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from tui.messages import ScenarioEvents
from tui.pane import Pane, PaneCommand
from tui.pump import Pump
from tui.scenarios.params import ScenarioParamsScreen, as_text

ALL = "all"


def _value(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


class ScenariosPane(Pane):
    """The catalog of lessons: run a variant, watch the narrative, checks and the before/after table."""

    TAB_ID = "scenarios"
    TAB_TITLE = "Scenarios"
    BINDINGS = [
        Binding("r", "run", "Run"),
        Binding("s", "stop", "Stop"),
        Binding("v", "next_variant", "Variant"),
        Binding("p", "edit_params", "Params"),
        Binding("n", "show('narrative')", "Narrative", show=False),
        Binding("c", "show('checks')", "Checks", show=False),
        Binding("b", "show('report')", "Before/after", show=False),
        Binding("i", "show('about')", "About", show=False),
    ]
    COMMANDS_ = (
        PaneCommand("Run scenario", "Run the selected scenario variant (or all variants)", "run"),
        PaneCommand("Stop scenario", "Stop the running scenario (faults are cleared)", "stop"),
        PaneCommand("Next variant", "Choose the next variant to run", "next_variant"),
        PaneCommand("Scenario parameters", "Set the selected scenario's parameters (--param) for the next run",
                    "edit_params"),
        PaneCommand("Show narrative", "The running scenario's narrative", "show('narrative')"),
        PaneCommand("Show checks", "The expectation checklist", "show('checks')"),
        PaneCommand("Show before/after", "The before/after table of the last run", "show('report')"),
        PaneCommand("Show about", "What the selected scenario teaches", "show('about')"),
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scenarios: list = []
        self.selected = None
        self.running = False
        self._runner = None
        self._reports: list[dict] = []
        self._run_scenario = None
        self._variant = None
        self._step_total = 0
        self._pump: Pump | None = None
        self._variant_values: list[str] = [ALL]
        self._params: dict[str, dict[str, str]] = {}  # scenario id -> the parameters set in the form (as text)

    def compose(self) -> ComposeResult:
        with Horizontal(id="scenarios-body"):
            yield OptionList(id="catalog")
            with Vertical(id="scenario-main"):
                yield Static("", id="scenario-title")
                with Horizontal(id="run-controls"):
                    yield Select([(ALL, ALL)], id="variant", allow_blank=False, compact=True, value=ALL)
                    yield Button("⚙ Params", id="params", compact=True)
                    yield Button("▶ Run", id="run", variant="success", compact=True)
                    yield Button("■ Stop", id="stop", variant="error", compact=True, disabled=True)
                yield Label("", id="run-status")
                with TabbedContent(id="run-tabs", initial="about"):
                    with TabPane("About", id="about"):
                        with VerticalScroll():
                            yield Static("", id="about-text")
                    with TabPane("Narrative", id="narrative"):
                        yield RichLog(id="narrative-log", wrap=True, markup=False, highlight=False, min_width=20)
                    with TabPane("Checks", id="checks"):
                        yield DataTable(id="checklist", cursor_type="row", zebra_stripes=True)
                    with TabPane("Before/after", id="report"):
                        yield Static("No run yet: press r to run the selected variant.", id="report-summary")
                        yield DataTable(id="report-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        checklist = self.query_one("#checklist", DataTable)
        checklist.add_column(" ", key="mark", width=2)
        checklist.add_column("variant", key="variant")
        checklist.add_column("expectation", key="name")
        checklist.add_column("expected", key="expected")
        checklist.add_column("observed", key="observed")
        self._pump = Pump(self, ScenarioEvents).start()
        self._load_catalog()

    # --- catalog -------------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="catalog")
    def _load_catalog(self) -> None:
        try:
            found = self.backend.catalog()
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self.problem, f"could not load the scenario catalog: {e}")
            return
        self.app.call_from_thread(self._show_catalog, found)

    def _show_catalog(self, found: list) -> None:
        self.scenarios = found
        catalog = self.query_one("#catalog", OptionList)
        catalog.clear_options()
        for s in found:
            prompt = Text()
            prompt.append(s.id, style="bold")
            prompt.append(f"\n{s.title}", style="dim")
            catalog.add_option(Option(prompt, id=s.id))
        if found:
            wanted = self._run_scenario.id if self._run_scenario else found[0].id
            catalog.highlighted = next((i for i, s in enumerate(found) if s.id == wanted), 0)
            self._select(found[catalog.highlighted])

    @on(OptionList.OptionHighlighted, "#catalog")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        found = next((s for s in self.scenarios if s.id == event.option.id), None)
        if found is not None and found is not self.selected:
            self._select(found)

    def _select(self, scenario) -> None:
        self.selected = scenario
        self.query_one("#scenario-title", Static).update(Text(scenario.title, style="bold"))
        variant = self.query_one("#variant", Select)
        options = [(f"{v.name}: {v.description}", v.name) for v in scenario.variants] + [("all variants", ALL)]
        self._variant_values = [value for _, value in options]
        variant.set_options(options)
        variant.value = ALL
        self._show_params()
        self._update_controls()

    def params_of(self, scenario) -> dict[str, str]:
        """The parameters set for `scenario` in the form (those that differ from its defaults)."""
        return dict(self._params.get(scenario.id, {}))

    def set_params(self, scenario, given: dict[str, str]) -> None:
        self._params[scenario.id] = dict(given)
        if scenario is self.selected:
            self._show_params()

    def _show_params(self) -> None:
        scenario = self.selected
        self.query_one("#about-text", Static).update(self._about(scenario, self.params_of(scenario)))
        button = self.query_one("#params", Button)
        given = self.params_of(scenario)
        button.set_class(bool(given), "-set")
        button.disabled = not scenario.params
        if not self.running:
            self._set_status(Text("parameters: " + " ".join(f"{k}={v}" for k, v in given.items()), style="cyan")
                             if given else Text(""))

    @staticmethod
    def _about(s, given: dict[str, str] | None = None) -> Text:
        t = Text()
        t.append(f"{s.title}\n", style="bold")
        t.append(f"{s.summary}\n\n")
        t.append("You will learn\n", style="bold underline")
        for item in s.learn:
            t.append(f"  • {item}\n")
        t.append("\nPatterns ", style="bold")
        t.append(", ".join(s.patterns) or "(none)")
        t.append("\n\nVariants\n", style="bold underline")
        for v in s.variants:
            t.append(f"  {v.name:<8}", style="bold cyan")
            t.append(f" {v.description}\n")
        t.append("\nSteps\n", style="bold underline")
        for i, step in enumerate(s.steps, 1):
            t.append(f"  {i}. {step.title}\n")
        t.append("\nExpectations\n", style="bold underline")
        for e in s.expectations:
            scope = f" [{', '.join(e.variants)}]" if e.variants else ""
            t.append(f"  ☐ {e.name}: {e.op} {_value(e.target)}")
            t.append(f"{scope}\n", style="dim")
        if s.params:
            t.append("\nParameters", style="bold underline")
            t.append("  (p to change)\n", style="dim")
            for k, v in s.params.items():
                if given and k in given:
                    t.append(f"  {k}={given[k]}", style="bold cyan")
                    t.append(f"  (default {as_text(v)})\n", style="dim")
                else:
                    t.append(f"  {k}={as_text(v)}\n")
        return t

    # --- actions -------------------------------------------------------------------------------------------
    def _update_controls(self) -> None:
        can_run = self.ready and self.backend.can_run and self.selected is not None
        self.query_one("#run", Button).disabled = self.running or not can_run
        self.query_one("#stop", Button).disabled = not self.running

    def backend_ready(self) -> None:
        super().backend_ready()
        self._update_controls()

    def focus_main(self) -> None:
        self.query_one("#catalog", OptionList).focus()

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.action_run()

    @on(Button.Pressed, "#stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    @on(Button.Pressed, "#params")
    def _params_pressed(self) -> None:
        self.action_edit_params()

    def action_edit_params(self) -> None:
        scenario = self.selected
        if scenario is None:
            return
        if not scenario.params:
            self.problem(f"{scenario.id} has no parameters", "information")
            return

        def chosen(given: dict[str, str] | None) -> None:
            if given is not None:
                self.set_params(scenario, given)

        self.app.push_screen(ScenarioParamsScreen(scenario, self.params_of(scenario)), chosen)

    def action_show(self, tab: str) -> None:
        self.query_one("#run-tabs", TabbedContent).active = tab

    def action_next_variant(self) -> None:
        select = self.query_one("#variant", Select)
        values = self._variant_values
        if values:
            current = values.index(select.value) if select.value in values else -1
            select.value = values[(current + 1) % len(values)]

    def action_run(self) -> None:
        if self.running:
            self.problem("a scenario is already running: stop it first (s)", "warning")
            return
        if not self.backend.can_run:
            self.problem("replay mode: runs need the live sandbox (start `sandbox tui` without --replay)", "warning")
            return
        if not self.ready:
            self.problem("the sandbox is not ready yet", "warning")
            return
        if self.selected is None:
            return
        value = self.query_one("#variant", Select).value
        variants = self.selected.variant_names if value == ALL else [value]
        params = self.params_of(self.selected)
        self.running = True
        self._reset_views(self.selected, variants, params)
        self._set_status(Text(f"starting {', '.join(variants)} …", style="yellow"))
        self.action_show("narrative")
        self._update_controls()
        self._run(self.selected, variants, params)

    def on_unmount(self) -> None:
        if self._runner is not None:  # quitting mid-run: end it (the runner clears its faults)
            self._runner.stop()

    def action_stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
            self._set_status(Text("stopping …", style="yellow"))

    @work(thread=True, exclusive=True, group="scenario-run")
    def _run(self, scenario, variants: list[str], params: dict[str, str]) -> None:
        pump = self._pump
        reports, error = [], None
        try:
            self._runner = self.backend.runner(scenario, variants, pump.put, params)
            reports = [r.as_dict() for r in self._runner.run(variants)]
        except Exception as e:  # noqa: BLE001 - shown in the pane
            error = f"{type(e).__name__}: {e}"
        finally:
            self._runner = None
            pump.put({"type": "_finished", "reports": reports, "error": error})

    # --- events --------------------------------------------------------------------------------------------
    def _reset_views(self, scenario, variants: list[str], params: dict | None = None) -> None:
        self._run_scenario = scenario
        self._reports = []
        self.query_one("#narrative-log", RichLog).clear()
        checklist = self.query_one("#checklist", DataTable)
        checklist.clear()
        if scenario is not None:
            merged = self._merged(scenario, params)
            for variant in variants:
                for exp in scenario.expectations:
                    if exp.applies_to(variant, merged):
                        self._add_check(variant, exp.name, exp.op, exp.target)
                if not scenario.lesson_is_loss:
                    self._add_check(variant, "nothing lost", "==", 0)
        table = self.query_one("#report-table", DataTable)
        table.clear(columns=True)
        self.query_one("#report-summary", Static).update("The before/after table appears when the run ends.")

    @staticmethod
    def _merged(scenario, params: dict | None) -> dict:
        from scenarios.runner import ScenarioError, merge_params

        try:
            return merge_params(scenario, {k: v for k, v in (params or {}).items() if k in scenario.params})
        except ScenarioError:  # the run says so; the checklist shows the defaults' expectations
            return dict(scenario.params)

    def _add_check(self, variant: str, name: str, op: str, target: Any) -> None:
        checklist = self.query_one("#checklist", DataTable)
        key = f"{variant}\x00{name}"
        if key in checklist.rows:
            return
        checklist.add_row(Text("☐", style="dim"), variant, name, f"{op} {_value(target)}", "…", key=key)

    def replay(self, events: list[dict]) -> None:
        """Shows a recorded run (the app calls this in replay mode)."""
        run = next((e for e in events if e.get("type") == "run"), None)
        scenario = None
        if run is not None:
            scenario = next((s for s in self.scenarios if s.id == run.get("scenario")), None)
            if scenario is None:
                try:
                    import scenarios

                    scenario = scenarios.get_scenario(run.get("scenario"))
                except Exception:  # noqa: BLE001 - a recording of a scenario this checkout does not have
                    scenario = None
        if scenario is not None and scenario is not self.selected:
            self._select(scenario)
            catalog = self.query_one("#catalog", OptionList)
            for i, s in enumerate(self.scenarios):
                if s.id == scenario.id:
                    catalog.highlighted = i
        self._reset_views(scenario, run.get("variants", []) if run else [], run.get("params") if run else None)
        self._apply(events)
        self._finish([e["report"] for e in events if e.get("type") == "report"], None, replayed=True)

    def on_scenario_events(self, message: ScenarioEvents) -> None:
        message.stop()
        self._apply(message.events)

    def _apply(self, events: list[dict]) -> None:
        log = self.query_one("#narrative-log", RichLog)
        for event in events:
            kind = event.get("type")
            if kind == "run":
                line = Text(event.get("title", ""), style="bold")
                line.append(f"  [{event.get('scenario')}, seed {event.get('seed')}]", style="dim")
                log.write(line)
                if event.get("summary"):
                    log.write(Text(event["summary"]))
            elif kind == "variant":
                self._variant = event.get("variant")
                self._step_total = len(self._run_scenario.steps) if self._run_scenario else 0
                log.write(Text(""))
                log.write(Text(f"══ variant {event.get('variant')}: {event.get('description')}", style="bold cyan"))
                self._set_status(Text(f"{self._variant}: starting", style="yellow"))
            elif kind == "phase":
                log.write(Text(f"   … {event.get('text')}", style="dim"))
                self._set_status(Text(f"{self._variant}: {event.get('text')}", style="yellow"))
            elif kind == "step":
                log.write(Text(""))
                log.write(Text(f" {event.get('index')}. {event.get('title')}", style="bold"))
                if event.get("narrative"):
                    log.write(Text(f"    {event['narrative']}", style="italic"))
                total = f"/{self._step_total}" if self._step_total else ""
                self._set_status(Text(f"{self._variant}: step {event.get('index')}{total}", style="yellow"))
            elif kind == "step_done":
                log.write(Text(f"    ✓ step {event.get('index')} done in {event.get('seconds')}s", style="green"))
            elif kind == "narrative":
                log.write(Text(f"    › {event.get('text')}"))
            elif kind == "observation":
                line = Text("    observed ", style="dim")
                line.append(str(event.get("name")), style="cyan")
                line.append(f" = {event.get('value')!r}")
                log.write(line)
            elif kind == "error":
                log.write(Text(f"    ✘ step failed: {event.get('text')}", style="bold red"))
            elif kind == "expectation":
                self._tick(event)
                mark = Text("  ✔ " if event.get("passed") else "  ✘ ",
                            style="bold green" if event.get("passed") else "bold red")
                mark.append(f"{event.get('name')}: expected {event.get('op')} {_value(event.get('target'))}, "
                            f"observed {_value(event.get('observed'))}")
                log.write(mark)
            elif kind == "report":
                report = event["report"]
                self._reports.append(report)
                verdict = Text(f"  {report['variant']}: ", style="bold")
                verdict.append("PASSED" if report.get("passed") else "FAILED",
                               style="bold green" if report.get("passed") else "bold red")
                verdict.append(f" in {report.get('seconds')}s", style="dim")
                log.write(verdict)
                self._show_reports(self._reports)
            elif kind == "comparison":
                self._show_reports(event.get("reports", []))
            elif kind == "_finished":
                self._finish(event.get("reports", []), event.get("error"))

    def _tick(self, event: dict) -> None:
        variant = self._variant or "?"
        self._add_check(variant, event.get("name"), event.get("op"), event.get("target"))
        key = f"{variant}\x00{event.get('name')}"
        checklist = self.query_one("#checklist", DataTable)
        passed = event.get("passed")
        checklist.update_cell(key, "mark", Text("✔", style="bold green") if passed else Text("✘", style="bold red"))
        checklist.update_cell(key, "observed", Text(_value(event.get("observed")),
                                                    style="green" if passed else "bold red"))

    def _show_reports(self, reports: list[dict]) -> None:
        if not reports:
            return
        from scenarios.runner import Report, comparison_rows

        objs = [Report.from_dict(r) for r in reports]
        table = self.query_one("#report-table", DataTable)
        table.clear(columns=True)
        table.add_column("measure", key="measure")
        for r in objs:
            table.add_column(r.variant, key=f"v-{r.variant}")
        for label, values in comparison_rows(objs):
            table.add_row(label, *values)
        table.add_row(Text("verdict", style="bold"),
                      *[Text("PASSED", style="bold green") if r.passed else Text("FAILED", style="bold red")
                        for r in objs])
        summary = Text("before / after", style="bold")
        summary.append(f"  ({len(objs)} variant{'s' if len(objs) != 1 else ''})", style="dim")
        self.query_one("#report-summary", Static).update(summary)

    def _finish(self, reports: list[dict], error: str | None, replayed: bool = False) -> None:
        self.running = False
        self._update_controls()
        if error:
            self.query_one("#narrative-log", RichLog).write(Text(f"run failed: {error}", style="bold red"))
            self._set_status(Text("run failed", style="bold red"))
            self.problem(error)
            return
        if not reports:
            self._set_status(Text("no report", style="dim"))
            return
        passed = all(r.get("passed") for r in reports)
        status = Text("replayed: " if replayed else "done: ", style="dim")
        status.append("all expectations met ✔" if passed else "expectations failed ✘",
                      style="bold green" if passed else "bold red")
        self._set_status(status)
        self._show_reports(reports)
        self.action_show("report")

    def _set_status(self, text: Text) -> None:
        self.query_one("#run-status", Label).update(text)
