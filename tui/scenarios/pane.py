"""Scenarios: the catalog, and a run of a variant as it happens (narrative, checklist, before/after table).

A run goes through `scenarios.Runner` in a thread worker; its events reach this pane in batches (at most ten a
second) as `ScenarioEvents` messages. A replay feeds the recorded events through the same path.

What a scenario's runs showed (narrative, checks, the last report of each variant) is kept per scenario: browsing
the catalog while a run goes on loses nothing, and running `broken`, then `fixed`, gives a before/after table with
both columns.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.widgets import Button, DataTable, Input, Label, OptionList, Select, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from scenarios import events as ev
from scenarios.report import NOTHING, Report, check_sentence, wanted
from tui.messages import ScenarioEvents
from tui.pane import Pane
from tui.pump import Pump
from tui.scenarios import checklist
from tui.scenarios.narrative import NarrativeLog
from tui.scenarios.params import ScenarioParamsScreen, as_text
from tui.scenarios.report import fill_report_table, verdict_style
from tui.widgets import ConfirmScreen, SearchInput, VerticalScrollPane, text_matcher

ALL = "all"


@dataclass(frozen=True)
class RunFinished:
    """The pane's own last event of a run (not a scenario event): the runner returned or raised."""

    reports: list[Report]
    error: str | None


@dataclass
class RunView:
    """What the pane shows of one scenario's runs."""

    narrative: list[Text] = field(default_factory=list)
    # the checklist of the newest run: key (variant, NUL, name) -> {"mark", "variant", "name", "expected", "observed"}
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)  # variant -> its last report, this run or an earlier
    run_params: dict = field(default_factory=dict)  # the parameters of the newest run (its RunStarted)
    report_params: dict[str, dict] = field(default_factory=dict)  # variant -> the parameters its report was made with
    latest: set[str] = field(default_factory=set)  # the variants whose column comes from the newest run
    status: Text | None = None
    variant: str | None = None  # the variant running now
    step_total: int = 0
    variants: list[str] = field(default_factory=list)  # the scenario's variants, in its order
    stopped: ev.Stopped | None = None  # the newest run's stop (which variant, which did not run)


class ScenariosPane(Pane):
    """The catalog of lessons: run a variant, watch the narrative, checks and the before/after table."""

    TAB_ID = "scenarios"
    TAB_TITLE = "Scenarios"
    BINDINGS = [
        Binding("r", "run", "Run", tooltip="Run the selected scenario variant (or all variants): asks first, as a run "
                "resets the sandbox"),
        Binding("slash", "search", "Filter", tooltip="Filter the scenario catalog by id, title or what it teaches"),
        Binding("s", "stop", "Stop", tooltip="Stop the running scenario: no further variant starts, faults are cleared"),
        Binding("v", "next_variant", "Variant", tooltip="Choose the next variant to run"),
        Binding("p", "edit_params", "Params", tooltip="Set the selected scenario's parameters (--param) for the next run"),
        Binding("ctrl+r", "reload_catalog", "Reload", tooltip="Import the scenario modules again (after fixing or adding one)"),
        Binding("n", "show('narrative')", "Narrative", show=False, tooltip="The running scenario's narrative"),
        Binding("c", "show('checks')", "Checks", show=False, tooltip="The expectation checklist"),
        Binding("b", "show('report')", "Before/after", show=False, tooltip="The before/after table of the last runs"),
        Binding("i", "show('about')", "About", show=False, tooltip="What the selected scenario teaches"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scenarios: list = []
        self.selected = None
        self._scenario_running = False
        self.catalog_error: str | None = None
        self._runner = None
        self._run_scenario = None
        self._run_id: str | None = None  # the scenario of the running (or last) run
        self._views: dict[str, RunView] = {}  # scenario id -> what its runs showed
        self._pump: Pump | None = None
        self._variant_values: list[str] = [ALL]
        self._params: dict[str, dict[str, str]] = {}  # scenario id -> the parameters set in the form (as text)
        self._checks_width = 0
        self._variants_of: str | None = None  # the scenario whose variants the selector offers
        self._query = ""  # the catalog filter
        self._quit_when_done = False  # the app quits once the run has stopped (q during a run, confirmed)

    def compose(self) -> ComposeResult:
        with Horizontal(id="scenarios-body"):
            with Vertical(id="catalog-box"):
                yield SearchInput(placeholder="filter (/)", id="catalog-search", compact=True)
                yield OptionList(id="catalog")
            with Vertical(id="scenario-main"):
                yield Static("", id="scenario-title")
                with Horizontal(id="run-controls"):
                    yield Select([("all variants", ALL)], id="variant", allow_blank=False, compact=True, value=ALL)
                    yield Button("⚙ Params", id="params", compact=True)
                    yield Button("▶ Run", id="run", variant="success", compact=True)
                    yield Button("■ Stop", id="stop", variant="error", compact=True, disabled=True)
                yield Static("", id="variant-help")
                yield Label("", id="run-status")
                with TabbedContent(id="run-tabs", initial="about"):
                    with TabPane("About", id="about"):
                        with VerticalScrollPane(id="about-scroll"):
                            yield Static("", id="about-text")
                    with TabPane("Narrative", id="narrative"):
                        yield NarrativeLog(id="narrative-log", min_width=20)
                    with TabPane("Checks", id="checks"):
                        yield DataTable(id="checklist", cursor_type="row", zebra_stripes=True)
                        yield Static("", id="check-detail")
                    with TabPane("Before/after", id="report"):
                        yield Static("No run yet: press r to run the selected variant.", id="report-summary")
                        yield DataTable(id="report-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._pump = Pump(self, ScenarioEvents).start()
        self._render_checks(None)
        self._load_catalog()

    # --- catalog -------------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="catalog")
    def _load_catalog(self, reload: bool = False) -> None:
        try:
            if reload:
                _forget_catalog_modules()
            found = self.backend.catalog()
        except Exception as e:  # noqa: BLE001 - shown in the pane, with how to retry
            self.app.call_from_thread(self._catalog_failed, _describe(e))
            return
        self.app.call_from_thread(self._show_catalog, found, reload)

    def action_reload_catalog(self) -> None:
        self.query_one("#run-status", Label).update(Text("reloading the catalog …", style="yellow"))
        self._load_catalog(reload=True)

    def _catalog_failed(self, error: str) -> None:
        self.catalog_error = error
        self.scenarios = []
        self.selected = None
        catalog = self.query_one("#catalog", OptionList)
        catalog.clear_options()
        catalog.add_option(Option(Text.assemble(("⚠ not loaded\n", "bold red"), ("ctrl+r: reload", "dim")),
                                  id="-error", disabled=True))
        self.query_one("#scenario-title", Static).update(Text("The scenario catalog did not load", style="bold red"))
        about = Text()
        about.append("Importing the scenario modules (scenarios/catalog/*.py) failed:\n\n", style="bold")
        about.append(error + "\n\n", style="red")
        about.append("Fix the module, then press ctrl+r (Reload catalog) to import the catalog again.")
        self.query_one("#about-text", Static).update(about)
        self.query_one("#variant-help", Static).update("")
        self._set_variant_options(None)
        self.query_one("#params", Button).disabled = True
        self.action_show("about")
        self._show_status()
        self._update_controls()
        self.problem(f"could not load the scenario catalog: {error.splitlines()[0]} (ctrl+r reloads)")

    def _show_catalog(self, found: list, reloaded: bool = False) -> None:
        self.catalog_error = None
        self.scenarios = found
        for s in found:  # a reloaded scenario may have dropped a parameter set in the form: forget it
            if s.id in self._params:
                self._params[s.id] = {k: v for k, v in self._params[s.id].items() if k in s.params}
        if reloaded:
            self.app.notify(f"scenario catalog reloaded: {len(found)} scenarios", timeout=3)
        self._fill_catalog()
        if not found:
            self._show_status()

    @property
    def shown_scenarios(self) -> list:
        """The scenarios the catalog lists (those the filter keeps)."""
        if not self._query:
            return list(self.scenarios)
        matches = text_matcher(self._query)
        return [s for s in self.scenarios
                if matches(f"{s.id} {s.title} {getattr(s, 'summary', '')} {' '.join(getattr(s, 'learn', []) or [])}")]

    def _fill_catalog(self) -> None:
        """Lists the scenarios the filter keeps, the cursor on the selected one (else the first)."""
        shown = self.shown_scenarios
        catalog = self.query_one("#catalog", OptionList)
        catalog.clear_options()
        for s in shown:
            catalog.add_option(Option(Text.assemble((s.id, "bold"), "\n", (s.title, "dim")), id=s.id))
        if not shown:
            if self.scenarios:
                catalog.add_option(Option(Text(f"no scenario matches {self._query!r}", style="dim"), id="-none",
                                          disabled=True))
            return
        wanted = self.selected.id if self.selected else self._run_id or shown[0].id
        catalog.highlighted = next((i for i, s in enumerate(shown) if s.id == wanted), 0)
        self._select(shown[catalog.highlighted])

    def action_search(self) -> None:
        self.query_one("#catalog-search", Input).focus()

    def show_scenario(self, scenario_id: str) -> bool:
        """Selects a scenario in the catalog, clearing a filter that hides it (the palette's "Run <id>")."""
        found = next((s for s in self.scenarios if s.id == scenario_id), None)
        if found is None:
            return False
        if found not in self.shown_scenarios:
            self._query = ""
            self.query_one("#catalog-search", Input).value = ""
        self._select(found)
        self._fill_catalog()
        return True

    @on(Input.Changed, "#catalog-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._query = event.value.strip()
        self._fill_catalog()

    @on(Input.Submitted, "#catalog-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_main()

    @on(OptionList.OptionSelected, "#catalog")
    def _catalog_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a scenario offers to run it (the same confirmation as r)."""
        event.stop()
        found = next((s for s in self.scenarios if s.id == event.option.id), None)
        if found is not None:
            if found is not self.selected:
                self._select(found)
            self.action_run()

    @on(OptionList.OptionHighlighted, "#catalog")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        found = next((s for s in self.scenarios if s.id == event.option.id), None)
        if found is not None and found is not self.selected:
            self._select(found)

    def _select(self, scenario) -> None:
        changed = self.selected is None or self.selected.id != scenario.id
        self.selected = scenario
        self.query_one("#scenario-title", Static).update(Text(scenario.title, style="bold"))
        self._set_variant_options(scenario)
        self._show_params()
        if changed:
            self._show_view(scenario.id)
            # a scenario that is not running opens on what it teaches; the running one on its narrative
            self.action_show("narrative" if self.running and scenario.id == self._run_id else "about")
        self._update_controls()

    def _set_variant_options(self, scenario) -> None:
        """Just the variant names (the chosen one's description is on the line below)."""
        variant = self.query_one("#variant", Select)
        previous, same = variant.value, scenario is not None and scenario.id == self._variants_of
        self._variants_of = scenario.id if scenario is not None else None
        options = [(v.name, v.name) for v in scenario.variants] if scenario else []
        options.append(("all variants", ALL))
        self._variant_values = [value for _, value in options]
        variant.set_options(options)
        variant.value = previous if same and previous in self._variant_values else ALL
        self._show_variant_help()

    @on(Select.Changed, "#variant")
    def _variant_changed(self) -> None:
        self._show_variant_help()

    def _show_variant_help(self) -> None:
        scenario, value = self.selected, self.query_one("#variant", Select).value
        text = Text(style="dim")
        if scenario is not None:
            if value == ALL:
                text.append("all variants", style="bold")
                text.append(f": {', then '.join(scenario.variant_names)}, with a before/after table")
            else:
                found = next((v for v in scenario.variants if v.name == value), None)
                if found is not None:
                    text.append(found.name, style="bold")
                    text.append(f": {found.description}")
        self.query_one("#variant-help", Static).update(text)

    def params_of(self, scenario) -> dict[str, str]:
        """The parameters set for `scenario` in the form (those that differ from its defaults)."""
        return dict(self._params.get(scenario.id, {}))

    def set_params(self, scenario, given: dict[str, str]) -> None:
        self._params[scenario.id] = dict(given)
        if self.selected is not None and scenario.id == self.selected.id:
            self._show_params()

    def _show_params(self) -> None:
        scenario = self.selected
        self.query_one("#about-text", Static).update(self._about(scenario, self.params_of(scenario)))
        button = self.query_one("#params", Button)
        button.set_class(bool(self.params_of(scenario)), "-set")
        button.disabled = not scenario.params
        self._show_status()

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
            t.append(f"  ☐ {e.name} (want {wanted(e.op, e.target)})")
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
    @property
    def running(self) -> bool:
        return self._scenario_running

    @running.setter
    def running(self, value: bool) -> None:
        self._scenario_running = value
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers Stop while a run goes on, Reload (ctrl+r) otherwise (both fit at 80 columns)."""
        if action == "stop":
            return self.running
        if action == "reload_catalog":
            return not self.running
        return True

    def _update_controls(self) -> None:
        can_run = self.ready and self.backend.live and self.selected is not None and not self.app.sandbox_down
        self.query_one("#run", Button).disabled = self.running or not can_run
        self.query_one("#stop", Button).disabled = not self.running

    def backend_ready(self) -> None:
        super().backend_ready()
        self._update_controls()

    def sandbox_stopped(self, why: str) -> None:
        self._update_controls()

    def sandbox_back(self) -> None:
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
        if scenario is None or self._busy("change its parameters"):
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

    @on(TabbedContent.TabActivated, "#run-tabs")
    def _run_tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "narrative":
            self.call_after_refresh(self.query_one("#narrative-log", NarrativeLog).refit)

    def _busy(self, what: str) -> bool:
        """True (and said) while the selected scenario runs: the variant or parameters it runs with cannot change
        under it (`v` showed another variant in the header while the run went on with its own)."""
        busy = self.running and self.selected is not None and self.selected.id == self._run_id
        if busy:
            self.problem(f"{self._run_id} is running: {what} once it ends, or stop it first (s)", "warning")
        return busy

    def action_next_variant(self) -> None:
        if self._busy("change the variant"):
            return
        select = self.query_one("#variant", Select)
        values = self._variant_values
        if values:
            current = values.index(select.value) if select.value in values else -1
            select.value = values[(current + 1) % len(values)]

    def action_run(self) -> None:
        if self.running:
            self.problem(f"{self._run_id} is running: stop it first (s)", "warning")
            return
        if not self.backend.live:
            self.problem("replay mode: runs need the live sandbox (start `sandbox tui` without --replay)", "warning")
            return
        if not self.ready:
            self.problem("the sandbox is not ready yet", "warning")
            return
        if self.selected is None or self.sandbox_missing():
            return
        value = self.query_one("#variant", Select).value
        variants = self.selected.variant_names if value == ALL else [value]
        self._ask_to_run(self.selected, variants, self.params_of(self.selected))

    @work(thread=True, exclusive=True, group="scenario-confirm")
    def _ask_to_run(self, scenario, variants: list[str], params: dict[str, str]) -> None:
        """Counts what the reset at the start of each variant removes (in a worker: it asks the sandbox), then
        asks before running. A sandbox that stopped since the last health check is refused here, not counted."""
        if not self.backend.is_running():
            why = self.backend.not_running_message()
            self.app.call_from_thread(self.app.sandbox_stopped, why)
            self.app.call_from_thread(self.problem, f"cannot run {scenario.id}: {why}")
            return
        try:
            impact, error = self.backend.reset_impact(), None
        except Exception as e:  # noqa: BLE001 - still ask, saying what could not be counted
            impact, error = None, f"{type(e).__name__}: {e}"
        self.app.call_from_thread(self._confirm_run, scenario, variants, params, impact, error)

    def _confirm_run(self, scenario, variants: list[str], params: dict[str, str], impact: dict | None,
                     error: str | None) -> None:
        if self.running or not self.is_attached:
            return
        which = "all variants" if len(variants) > 1 else f"variant {variants[0]}"
        body = f"Run {scenario.id} ({which})?\n\n" + reset_warning(impact, error)

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_run(scenario, variants, params)

        self.app.push_screen(ConfirmScreen(f"Run {scenario.id}", body, "Reset and run"), answered)

    def _start_run(self, scenario, variants: list[str], params: dict[str, str]) -> None:
        if self.running or self.sandbox_missing():  # it stopped while the dialog was up: no run, no recording
            return
        try:  # here, not in the worker: a stop pressed at once then finds the runner (and bad parameters show now)
            self._runner = self.backend.runner(scenario, variants, self._pump.put, params)
        except Exception as e:  # noqa: BLE001 - a ScenarioError says what to fix
            self.problem(f"cannot run {scenario.id}: {e}")
            return
        self.running = True
        self._reset_views(scenario, variants, params)
        self._set_status(Text(f"starting {', '.join(variants)} …", style="yellow"))
        self.action_show("narrative")
        self._update_controls()
        self._run(self._runner, variants)

    @property
    def run_id(self) -> str | None:
        """The scenario of the running (or last) run."""
        return self._run_id

    def stop_to_quit(self) -> None:
        """The app's quit, confirmed during a run: stop it; once it has ended, the app exits (`_finish`)."""
        self._quit_when_done = True
        self.action_stop()

    def on_unmount(self) -> None:
        if self._runner is not None:  # quitting mid-run: end it (the runner clears its faults)
            self._runner.stop()
            if self.running:  # q again while the confirmed quit waited for the run: say so on the terminal
                self.app.goodbye.append(f"Quit during the run of {self._run_id}: it was told to stop (the current "
                                        "step ends at its next wait) and clears its faults as it ends.")

    def action_stop(self) -> None:
        if self._runner is not None and self.running:
            self._runner.stop()
            self._set_status(Text("stopping … (the current step ends at its next wait; no further variant starts)",
                                  style="yellow"))

    @work(thread=True, exclusive=True, group="scenario-run")
    def _run(self, runner, variants: list[str]) -> None:
        reports, error = [], None
        try:
            if not self.backend.is_running():  # stopped since the dialog opened: no run, no recording of a failure
                why = self.backend.not_running_message()
                self.app.call_from_thread(self.app.sandbox_stopped, why)
                error = f"not run: {why}"
                return
            reports = runner.run(variants)
        except Exception as e:  # noqa: BLE001 - shown in the pane
            error = f"{type(e).__name__}: {e}"
        finally:
            self._pump.put(RunFinished(reports=reports, error=error))

    # --- views ---------------------------------------------------------------------------------------------
    def _view(self, scenario_id: str | None) -> RunView:
        return self._views.setdefault(scenario_id or "?", RunView())

    def _shown(self, scenario_id: str | None) -> bool:
        """Whether the views show this scenario's runs (the selected one)."""
        return self.selected is not None and self.selected.id == scenario_id

    def _show_view(self, scenario_id: str) -> None:
        view = self._views.get(scenario_id) or RunView()
        self.query_one("#narrative-log", NarrativeLog).set_texts(view.narrative)
        self._render_checks(view)
        self._render_reports(view)
        self._show_status()

    def _reset_views(self, scenario, variants: list[str], params: dict | None = None) -> None:
        self._run_scenario = scenario
        self._run_id = scenario.id if scenario is not None else None
        view = self._view(self._run_id)
        view.narrative, view.checks, view.latest, view.stopped = [], {}, set(), None
        view.variant, view.step_total = None, len(scenario.steps) if scenario is not None else 0
        view.variants = list(scenario.variant_names) if scenario is not None else list(variants)
        if scenario is not None:
            view.checks = checklist.planned(scenario, variants, params)
        if self._shown(self._run_id) or scenario is None:
            self._show_view(self._run_id or "?")

    # --- the checklist: columns sized to the width (long values end in "…", the highlighted check in full) ------
    def _render_checks(self, view: RunView | None) -> None:
        self._checks_width = self.query_one("#run-tabs", TabbedContent).size.width
        checklist.fill(self.query_one("#checklist", DataTable), view.checks if view else {}, self._checks_width)
        self._show_check_detail()

    @on(DataTable.RowHighlighted, "#checklist")
    def _check_highlighted(self) -> None:
        self._show_check_detail()

    def _show_check_detail(self) -> None:
        view = self._views.get(self.selected.id) if self.selected is not None else None
        text = checklist.detail(self.query_one("#checklist", DataTable), view.checks if view else {})
        self.query_one("#check-detail", Static).update(text)

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._refit_checks)

    def _refit_checks(self) -> None:
        if self.query_one("#run-tabs", TabbedContent).size.width != self._checks_width:
            self._render_checks(self._views.get(self.selected.id) if self.selected else None)

    # --- the before/after table: the last report of each variant ----------------------------------------------
    def _render_reports(self, view: RunView) -> None:
        table = self.query_one("#report-table", DataTable)
        summary = self.query_one("#report-summary", Static)
        table.clear(columns=True)
        if not view.reports:
            summary.update("No run yet: press r to run the selected variant." if not self.running or
                           not self._shown(self._run_id) else "The before/after table appears when a variant ends.")
            return
        summary.update(fill_report_table(table, view.reports, view.variants, view.latest, self._when,
                                         view.report_params))

    def _when(self, ts: float) -> str:
        """When an earlier run started (wall clock; a replay has one run, so no time to compare with)."""
        return time.strftime("%H:%M:%S", time.localtime(ts)) if self.clock.base is None and ts else ""

    # --- events --------------------------------------------------------------------------------------------
    def replay(self, events: list[ev.Event]) -> None:
        """Shows a recorded run (the app calls this in replay mode)."""
        run = next((e for e in events if isinstance(e, ev.RunStarted)), None)
        scenario = None
        if run is not None:
            scenario = next((s for s in self.scenarios if s.id == run.scenario), None)
            if scenario is None:
                try:
                    import scenarios

                    scenario = scenarios.get_scenario(run.scenario)
                except Exception:  # noqa: BLE001 - a recording of a scenario this checkout does not have
                    scenario = None
        if scenario is not None and (self.selected is None or scenario.id != self.selected.id):
            self._select(scenario)
            catalog = self.query_one("#catalog", OptionList)
            for i, s in enumerate(self.shown_scenarios):
                if s.id == scenario.id:
                    catalog.highlighted = i
        self._reset_views(scenario, run.variants if run else [], run.params if run else None)
        self._apply(events)
        self._finish([e.report for e in events if isinstance(e, ev.ReportReady)], None, replayed=True)

    def on_scenario_events(self, message: ScenarioEvents) -> None:
        message.stop()
        self._apply(message.events)

    def _apply(self, events: list) -> None:
        """Renders a batch of the run's events (scenarios/events.py), one case per type."""
        view = self._view(self._run_id)
        shown = self._shown(self._run_id) or self._run_scenario is None
        log = self.query_one("#narrative-log", NarrativeLog)
        checks_changed = reports_changed = False

        def say(text: Text) -> None:
            view.narrative.append(text)
            if shown:
                log.add(text)

        for event in events:
            match event:
                case ev.RunStarted():
                    view.run_params = dict(event.params)
                    line = Text(event.title, style="bold")
                    line.append(f"  [{event.scenario}, seed {event.seed}]", style="dim")
                    say(line)
                    if event.summary:
                        say(Text(event.summary))
                case ev.VariantStarted():
                    view.variant = event.variant
                    say(Text(""))
                    say(Text(f"══ variant {event.variant}: {event.description}", style="bold cyan"))
                    self._set_status(Text(f"{view.variant}: starting", style="yellow"))
                case ev.Phase():
                    say(Text(f"   … {event.text}", style="dim"))
                    self._set_status(Text(f"{view.variant}: {event.text}", style="yellow"))
                case ev.StepStarted():
                    say(Text(""))
                    say(Text(f" {event.index}. {event.title}", style="bold"))
                    if event.narrative:
                        say(Text(f"    {event.narrative}", style="italic"))
                    total = f"/{view.step_total}" if view.step_total else ""
                    self._set_status(Text(f"{view.variant}: step {event.index}{total}", style="yellow"))
                case ev.StepDone():
                    say(Text(f"    ✓ step {event.index} done in {event.seconds}s", style="green"))
                case ev.Narrative():
                    say(Text(f"    › {event.text}"))
                case ev.Observation():
                    line = Text("    observed ", style="dim")
                    line.append(str(event.name), style="cyan")
                    line.append(f" = {event.value!r}")
                    say(line)
                case ev.StepFailed():
                    say(Text(f"    ✘ step failed: {event.text}", style="bold red"))
                case ev.Stopped():
                    where = [f"variant {event.variant}"] if event.variant else []
                    if event.step:
                        where.append(f"step {event.step}")
                    line = Text("  ■ stopped", style="bold yellow")
                    if where:
                        line.append(f" ({', '.join(where)})", style="yellow")
                    if event.not_run:
                        line.append(f"; not run: {', '.join(event.not_run)}", style="yellow")
                    say(line)
                    view.stopped = event
                    for row in view.checks.values():
                        if row["variant"] in event.not_run:
                            checklist.not_evaluated(row, "not run")
                    checks_changed = True
                case ev.ExpectationChecked():
                    checklist.tick(view.checks, view.variant or "?", event)
                    checks_changed = True
                    if event.passed is not None:  # not evaluated (stopped): the report line says how many
                        mark = Text("  ✔ " if event.passed else "  ✘ ",
                                    style="bold green" if event.passed else "bold red")
                        mark.append(check_sentence(event.as_result()))
                        say(mark)
                case ev.ReportReady(report=report):
                    view.reports[report.variant] = report
                    view.report_params[report.variant] = view.run_params
                    view.latest.add(report.variant)
                    reports_changed = True
                    line = Text(f"  {report.variant}: ", style="bold")
                    line.append(report.verdict, style=verdict_style(report.verdict))
                    line.append(f" in {round(report.seconds, 2)}s", style="dim")
                    skipped = sum(1 for e in report.expectations if e.get("passed") is None)
                    if skipped:
                        line.append(f"  ({NOTHING} {skipped} expectation{'s' if skipped != 1 else ''} not evaluated)",
                                    style="dim")
                    say(line)
                case ev.Comparison():
                    reports_changed = True
                case RunFinished():
                    self._finish(event.reports, event.error)
        if shown and checks_changed:
            self._render_checks(view)
        if shown and reports_changed:
            self._render_reports(view)

    def _finish(self, reports: list[Report], error: str | None, replayed: bool = False) -> None:
        view = self._view(self._run_id)
        shown = self._shown(self._run_id) or self._run_scenario is None
        self.running = False
        runner = self._runner
        if not replayed:
            self._runner = None
        if self._quit_when_done and not replayed:
            self._quit_when_done = False
            self.app.run_stopped_to_quit(self._stopped_line(runner, view, error))
            return
        self._update_controls()
        for report in reports:
            view.reports[report.variant] = report
            view.report_params[report.variant] = view.run_params
            view.latest.add(report.variant)
        checklist.settle(view.checks)
        if shown:
            self._render_checks(view)
            self._render_reports(view)
        if error:
            line = Text(f"run failed: {error}", style="bold red")
            view.narrative.append(line)
            if shown:
                self.query_one("#narrative-log", NarrativeLog).add(line)
            self._set_status(Text("run failed", style="bold red"))
            self.problem(error)
            return
        stopped = [r.variant for r in reports if r.stopped]
        if view.stopped is not None or stopped:  # neither passed nor failed: say what did not run
            not_run = list(view.stopped.not_run) if view.stopped else []
            status = Text("stopped ■", style="bold yellow")
            detail = ([f"{', '.join(stopped)} unfinished"] if stopped else []) + \
                     ([f"not run: {', '.join(not_run)}"] if not_run else [])
            if detail:
                status.append(f"  {'; '.join(detail)}", style="yellow")
            self._set_status(status)
            return
        if not reports:
            self._set_status(Text("no report", style="dim"))
            return
        status = Text("replayed: " if replayed else "done: ", style="dim")
        passed = all(r.passed for r in reports)
        status.append("all expectations met ✔" if passed else "expectations failed ✘",
                      style="bold green" if passed else "bold red")
        self._set_status(status)
        if shown:
            self.action_show("report")

    def _stopped_line(self, runner, view: RunView, error: str | None) -> str:
        """What the terminal says after a quit that stopped the run: what ran, that its faults were cleared, where
        its recording is."""
        not_run = list(view.stopped.not_run) if view.stopped else []
        line = f"Stopped the run of {self._run_id} before quitting"
        if view.stopped is not None and view.stopped.variant:
            line += f" (variant {view.stopped.variant})"
        if not_run:
            line += f"; not run: {', '.join(not_run)}"
        if error:
            line += f"; it had failed: {error}"
        line += "; its faults were cleared"
        recording = getattr(runner, "recording", None)
        if recording:
            line += f"; its recording: {recording}"
        return line + "."

    # --- the status line -------------------------------------------------------------------------------------
    def _set_status(self, text: Text) -> None:
        """The status of the run (kept with its scenario's views)."""
        self._view(self._run_id).status = text
        self._show_status()

    def _show_status(self) -> None:
        status = Text()
        if self.selected is not None:
            view = self._views.get(self.selected.id)
            if view is not None and view.status is not None:
                status.append_text(view.status)
            if self.running and self._run_id != self.selected.id:
                running = self._views.get(self._run_id)
                status.append(f"{'  · ' if status else ''}▶ {self._run_id} is running", style="yellow")
                if running is not None and running.status is not None:
                    status.append(f" ({running.status.plain})", style="dim yellow")
            given = self.params_of(self.selected)
            if given and not (self.running and self._run_id == self.selected.id):
                status.append("  · " if status else "")
                status.append("parameters: " + " ".join(f"{k}={v}" for k, v in given.items()), style="cyan")
        elif self.catalog_error:
            status.append("catalog not loaded: ctrl+r reloads it", style="bold red")
        self.query_one("#run-status", Label).update(status)


def reset_warning(impact: dict | None, error: str | None = None) -> str:
    """What the reset before each variant removes, in counts ("2 stacks, 1 queue, 5 queued messages, 1 fault rule"):
    everything the sandbox holds, deployed or made by hand."""
    from scenarios.restore import describe_reset

    head = "Each variant starts by resetting the sandbox, deployed or made by hand."
    if impact is None and error:
        return f"{head}\n\n{describe_reset(None)} ({error})"
    return f"{head}\n\n{describe_reset(impact)}"


def _describe(error: Exception) -> str:
    """The error of a failed catalog import, with where it happened (the scenario module's file and line)."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, SyntaxError):
        if error.filename:
            text = f"{type(error).__name__}: {error.msg}\n  at {error.filename}:{error.lineno}"
            if error.text and error.text.strip():
                text += f"\n    {error.text.strip()}"
        return text
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "scenarios" in f.filename]
    if frames:
        text += f"\n  at {frames[-1].filename}:{frames[-1].lineno}"
    return text


def _forget_catalog_modules() -> None:
    """Makes the next catalog import read the scenario modules (and their kits) from disk again."""
    importlib.invalidate_caches()
    for name in list(sys.modules):
        if name.startswith("scenarios.catalog.") or name.startswith("scenarios.kit"):
            del sys.modules[name]
