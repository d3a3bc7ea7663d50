"""The Scenarios screen: narrative that fills the width, a compact catalog, per-scenario views, the before/after table
across runs, sized checklist columns, catalog reload, and stopping an "all variants" run (one live run, stopped early).

Most tests feed recorded events (tests/data) through the pane's own event path, in replay mode: no LocalStack.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import time
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable, Label, OptionList, RichLog, Select, TabbedContent

from tests.tui.test_tui import RECORDING, plain, q, replay_loaded, until
from scenarios import events as ev
from scenarios.replay import read_events
from tui.scenarios.pane import RunFinished
from tui.app import SandboxApp
from tui.backend import Backend

RECORDED = list(read_events(RECORDING))  # typed events (scenarios/events.py)
LONG = ("the welcome email Lambda fails twice, then succeeds: the state machine's Retry rides it out and the "
        "execution ends SUCCEEDED")


def _empty_recording(tmp_path: Path) -> Path:
    """A recording of a scenario this checkout does not have: replay mode shows the whole catalog."""
    path = tmp_path / "empty.jsonl"
    path.write_text(json.dumps({"type": "run", "scenario": "synthetic", "ts": 1_800_000_000.0}) + "\n")
    return path


def _lines(widget) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def eventually(pilot, check, timeout: float = 10, step: float = 0.1):
    """Lets the app run until `check()` passes (returns without an AssertionError) and returns what it returns;
    after `timeout` seconds the test fails with the check's last AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        await pilot.pause(step)


async def _catalog_loaded(pilot, app):
    pane = app.pane("scenarios")
    await until(pilot, lambda: app.backend_ready and pane.scenarios and pane.selected, 30, "the catalog")
    await pilot.pause()  # the messages the selection posted
    return pane


async def _highlight(pilot, app, scenario_id: str) -> None:
    pane = app.pane("scenarios")
    q(app, "#catalog", OptionList).highlighted = next(i for i, s in enumerate(pane.scenarios) if s.id == scenario_id)
    await until(pilot, lambda: pane.selected.id == scenario_id, 10, f"{scenario_id} selected")
    await pilot.pause()  # the messages the selection posted


# --- 1. the narrative fills the width, even when written while another tab was shown ------------------------
def test_narrative_written_while_hidden_fills_the_width_when_shown():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=(120, 40)) as pilot:
            await replay_loaded(pilot)
            pane, tabs = app.pane("scenarios"), q(app, "#run-tabs", TabbedContent)
            log = q(app, "#narrative-log", RichLog)
            tabs.active = "narrative"  # shown once: the log knows its size
            await until(pilot, lambda: log.lines, 10, "the narrative")
            tabs.active = "report"  # as at the end of every run
            await until(pilot, lambda: log.region.width == 0, 10, "the narrative hidden")
            pane._apply([ev.Narrative(text=LONG)])  # the run goes on while the narrative is hidden
            await pilot.pause()
            tabs.active = "narrative"

            def filled() -> int:
                width = log.scrollable_content_region.width
                assert width > 60, width
                assert any("›" in line.text for line in log.lines), "the line just written"
                start = max(i for i, line in enumerate(log.lines) if "›" in line.text)
                lines = [line.text.rstrip() for line in log.lines[start:]]
                assert len(lines[0]) > 60, lines[:6]  # not wrapped at the log's min_width (20)
                wrapped = [line.plain.rstrip() for line in Text(f"    › {LONG}").wrap(app.console, width)]
                assert lines == wrapped, (width, lines)  # wrapped at the width the log has
                assert all(len(line.text) <= width for line in log.lines)  # nothing cut off at the right
                return width

            width = await eventually(pilot, filled)
            # a narrower terminal wraps every line again
            await pilot.resize_terminal(90, 30)

            def rewrapped() -> None:
                narrow = log.scrollable_content_region.width
                assert 0 < narrow < width, (narrow, width)
                assert all(len(line.text) <= narrow for line in log.lines), narrow

            await eventually(pilot, rewrapped)

    asyncio.run(scenario())


# --- 3. the catalog: id on one line, the title on one dimmed line -------------------------------------------
def test_catalog_entries_are_an_id_line_and_a_cut_title_line_at_80x24(tmp_path):
    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(80, 24)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            catalog = q(app, "#catalog", OptionList)

            def compact() -> None:
                lines = [line.strip() for line in _lines(catalog)]
                shown = [s for s in pane.scenarios if s.id in lines]
                assert len(shown) >= 8, lines  # ~3 fitted when every title wrapped over 4-6 lines
                for s in shown:
                    i = lines.index(s.id)  # the whole id on one line
                    if i + 1 >= len(lines):
                        continue  # the last entry in view, its title below the bottom edge
                    title = lines[i + 1]
                    cut = title.endswith("…") and s.title.startswith(title[:-1].rstrip())
                    assert title == s.title or cut, title
                assert any(line.endswith("…") for line in lines)

            await eventually(pilot, compact)

    asyncio.run(scenario())


# --- 5. the variant selector shows names; the description is on the line below ------------------------------
def test_variant_selector_shows_the_name_and_the_description_below(tmp_path):
    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            await _highlight(pilot, app, "poison-message")
            select = q(app, "#variant", Select)
            select.value = "broken"

            def shows(variant: str) -> None:
                current = plain(select.query_one("SelectCurrent #label")).strip()
                assert current == variant, current
                description = pane.selected.variant(variant).description
                assert description in plain(q(app, "#variant-help")), plain(q(app, "#variant-help"))

            await eventually(pilot, lambda: shows("broken"))
            assert pane.selected.variant("fixed").description not in plain(q(app, "#variant-help"))
            await pilot.press("v")  # fixed
            await eventually(pilot, lambda: shows("fixed"))

    asyncio.run(scenario())


def _events(variant: str | None = None) -> list:
    """The recorded run's events (of one variant), without spans and logs."""
    out, current = [], None
    for e in RECORDED:
        if e.kind in ("span", "log"):
            continue
        if e.kind == "variant":
            current = e.variant
        if e.kind in ("run", "comparison"):
            continue
        if variant is None or current == variant:
            out.append(e)
    return out


# --- 6. selecting another scenario shows its own views; a running scenario's views are kept ------------------
def test_browsing_the_catalog_during_a_run_shows_each_scenarios_own_views(tmp_path):
    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            tabs, log = q(app, "#run-tabs", TabbedContent), q(app, "#narrative-log", RichLog)
            checklist, report = q(app, "#checklist", DataTable), q(app, "#report-table", DataTable)
            await _highlight(pilot, app, "workflow-retries")
            wr = pane.selected
            # a run of workflow-retries (its recorded events, through the pane's event path)
            pane.running = True
            pane._reset_views(wr, ["broken"])
            tabs.active = "narrative"
            broken = _events("broken")
            half = next(i for i, e in enumerate(broken) if e.kind == "step_done")
            pane._apply(broken[:half])
            await until(pilot, lambda: any("Onboard a user" in line.text for line in log.lines), 10,
                        "the first half of the narrative")
            # browsing: another scenario shows what it teaches, nothing of the run
            await _highlight(pilot, app, "poison-message")
            assert tabs.active == "about"
            assert not any("Onboard a user" in t.plain for t in log.texts) and not log.lines
            assert checklist.row_count == 0 and report.row_count == 0
            assert "workflow-retries is running" in str(q(app, "#run-status", Label).render())
            pane._apply(broken[half:])  # the run goes on meanwhile: kept with its scenario, not shown
            await pilot.pause()
            assert any("broken: PASSED" in t.plain for t in pane._view(wr.id).narrative)
            assert checklist.row_count == 0 and report.row_count == 0 and not log.lines and not log.texts
            # back to the running scenario: its narrative, all of it
            await _highlight(pilot, app, "workflow-retries")
            assert tabs.active == "narrative"

            def all_of_it() -> None:
                text = "\n".join(line.text for line in log.lines)
                assert "Onboard a user" in text and "broken: PASSED" in text, text[-1500:]
                assert checklist.row_count == 5 and report.row_count > 0, (checklist.row_count, report.row_count)

            await eventually(pilot, all_of_it)
            pane._apply([RunFinished(reports=[], error=None)])
            assert not pane.running
            # a scenario that never ran: About, empty views
            await _highlight(pilot, app, "cold-starts")
            assert tabs.active == "about" and checklist.row_count == 0 and report.row_count == 0

    asyncio.run(scenario())


def _replay_run(pane, scenario, variant: str, params: dict | None = None) -> None:
    """One single-variant run of the recording played into the pane (with its RunStarted when `params` is given)."""
    pane.running = True
    pane._reset_views(scenario, [variant])
    reports = [e.report for e in _events(variant) if e.kind == "report"]
    started = [] if params is None else [ev.RunStarted(scenario=scenario.id, title=scenario.title,
                                                       variants=[variant], params=params)]
    pane._apply(started + _events(variant) + [RunFinished(reports=reports, error=None)])


# --- 4. the before/after table keeps the last report of each variant; clear labels, no "None" -----------------
def test_before_after_keeps_each_variants_last_report_and_labels_its_counts(tmp_path):
    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            await _highlight(pilot, app, "workflow-retries")
            wr = pane.selected
            report = q(app, "#report-table", DataTable)
            for variant in ("broken", "fixed"):  # two single-variant runs, one after the other
                _replay_run(pane, wr, variant)
                assert not pane.running
                await pilot.pause()
            columns = ["measure", "broken", "fixed"]
            await until(pilot, lambda: [c.label.plain for c in report.columns.values()] == columns, 10,
                        "a column for each variant's report")
            rows = {str(report.get_row_at(i)[0]): [str(c) for c in report.get_row_at(i)[1:]]
                    for i in range(report.row_count)}
            assert rows["run"][0].startswith("earlier") and rows["run"][1] == "● this run", rows["run"]
            assert {"function invocations", "items succeeded", "in DLQ", "items lost"} <= set(rows), list(rows)
            assert not {"invoked", "in_dlq", "succeeded"} & set(rows)
            assert rows["cost USD"] == ["–", "–"]  # no cost data in the recording: a dash, not None
            assert rows["verdict"] == ["PASSED", "PASSED"]
            assert not any("None" in v for values in rows.values() for v in values), rows
            assert "● this run" in plain(q(app, "#report-summary"))

    asyncio.run(scenario())


def test_columns_run_with_other_parameters_are_marked(tmp_path):
    """A newcomer ran fixed with defaults, then broken with good=9 and redrive off: the table set them side by side
    without a word. The parameters that differ get a row, and the summary says so; runs with the same ones do not."""
    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            await _highlight(pilot, app, "workflow-retries")
            wr = pane.selected
            report = q(app, "#report-table", DataTable)

            def run(variant: str, params: dict) -> None:
                _replay_run(pane, wr, variant, params)

            run("fixed", {"users": 2, "redrive": True})
            run("broken", {"users": 2, "redrive": True})
            await pilot.pause()
            rows = {str(report.get_row_at(i)[0]) for i in range(report.row_count)}
            assert "parameters" not in rows and "different parameters" not in plain(q(app, "#report-summary"))
            run("broken", {"users": 9, "redrive": False})
            await pilot.pause()
            rows = {str(report.get_row_at(i)[0]): [str(c) for c in report.get_row_at(i)[1:]]
                    for i in range(report.row_count)}
            assert rows["parameters"] == ["redrive=False, users=9", "redrive=True, users=2"], rows
            assert "the columns were run with different parameters" in plain(q(app, "#report-summary"))

    asyncio.run(scenario())


# --- 4. checklist columns: sized to the width, long values cut with "…", the highlighted check in full --------
@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_checklist_columns_fit_the_width(size, tmp_path):
    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=size) as pilot:
            pane = await _catalog_loaded(pilot, app)
            await _highlight(pilot, app, "poison-message")
            s = pane.selected
            pane._reset_views(s, ["broken", "fixed"])
            long_value = {"DONE": 4, "FAILED": 1, "PENDING": 0}
            pane._view(s.id).variant = "broken"
            exp = next(e for e in s.expectations if e.applies_to("broken") and 40 < len(e.name) < 60 and e.why)
            name = exp.name
            pane._apply([ev.ExpectationChecked(name=name, op=exp.op, target=exp.target, observed=long_value,
                                               passed=False, why=exp.why)])
            q(app, "#run-tabs", TabbedContent).active = "checks"
            table = q(app, "#checklist", DataTable)
            await until(pilot, lambda: table.size.width > 0, 10, "the checklist shown")

            def fits() -> int:
                # no sideways scrolling
                assert 0 < table.virtual_size.width <= table.size.width, (table.virtual_size, table.size)
                widths = {c.key.value: c.width for c in table.columns.values()}
                if size[0] >= 160:
                    assert widths["observed"] >= len(repr(long_value)) and widths["name"] >= 40, widths
                else:
                    assert widths["name"] >= 14 and widths["observed"] >= 8, widths
                rows = [i for i in range(table.row_count) if str(table.get_row_at(i)[2]) == name]
                assert rows, f"no row for {name}"
                return rows[0]

            row = await eventually(pilot, fits)
            table.move_cursor(row=row)

            def shown_in_full() -> None:
                line = _lines(table)[row + 1]  # after the header
                detail = plain(q(app, "#check-detail"), width=size[0])
                flat = " ".join(detail.split())
                assert name in flat and " ".join(exp.why.split()) in flat, flat  # in full below the table
                if size[0] >= 160:
                    assert name in line and repr(long_value) in line, line  # the expectation and the value whole
                else:
                    assert "…" in line, line  # cut, not wrapped

            await eventually(pilot, shown_in_full)

    asyncio.run(scenario())


# --- 7. a broken scenario module: the error in the pane; ctrl+r reloads once it is fixed ----------------------
BROKEN_MODULE = "from scenarios.model import Scenario\nSCENARIO = Scenario(id='zz-reloaded',\n"  # unclosed: SyntaxError
FIXED_MODULE = textwrap.dedent("""
    from scenarios.model import Expectation, Scenario, Step, Variant

    SCENARIO = Scenario(
        id="zz-reloaded", title="Reloaded: a module fixed while the TUI runs", summary="s", learn=["l"],
        patterns=[], variants=[Variant("broken", "b"), Variant("fixed", "f")],
        steps=[Step("nothing", lambda ctx: None, "n")], expectations=[Expectation("one", lambda c: 1, "==", 1)])
""")


def test_a_catalog_that_fails_to_load_says_why_and_reloads_with_ctrl_r(tmp_path, monkeypatch):
    from scenarios import catalog

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "zz_reloaded.py").write_text(BROKEN_MODULE)
    monkeypatch.setattr(catalog, "__path__", [*catalog.__path__, str(extra)])

    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.pane("scenarios")
            await until(pilot, lambda: pane.catalog_error, 30, "the catalog error")
            assert "SyntaxError" in pane.catalog_error and "zz_reloaded.py" in pane.catalog_error
            about = plain(q(app, "#about-text"))
            assert "SyntaxError" in about and "ctrl+r" in about, about
            assert q(app, "#run-tabs", TabbedContent).active == "about"
            assert "did not load" in plain(q(app, "#scenario-title"))
            assert "ctrl+r" in " ".join(_lines(q(app, "#catalog", OptionList)))
            await until(pilot, lambda: "reload_catalog" in {k.action for k in app.main_screen.query("FooterKey")}, 5,
                        "ctrl+r in the footer")
            (extra / "zz_reloaded.py").write_text(FIXED_MODULE)
            q(app, "#catalog", OptionList).focus()
            await pilot.press("ctrl+r")
            await until(pilot, lambda: any(s.id == "zz-reloaded" for s in pane.scenarios), 30, "the reloaded catalog")
            assert pane.catalog_error is None and len(pane.scenarios) > 10
            assert pane.selected is not None and "did not load" not in plain(q(app, "#scenario-title"))

    try:
        asyncio.run(scenario())
    finally:
        sys.modules.pop("scenarios.catalog.zz_reloaded", None)


def test_reload_catalog_is_in_the_command_palette(tmp_path):
    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(100, 30)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            before = {s.id: s for s in pane.scenarios}
            await pilot.press("ctrl+p")
            await until(pilot, lambda: type(app.screen).__name__ == "CommandPalette", 10, "the command palette")
            await pilot.press(*"Scenarios: Reload", "enter")
            await until(pilot, lambda: pane.scenarios and pane.scenarios[0] is not before[pane.scenarios[0].id],
                        30, "the catalog imported again")
            assert [s.id for s in pane.scenarios] == list(before)

    asyncio.run(scenario())


# --- 2 and 6, live: stop an "all variants" run while browsing the catalog -------------------------------------
def test_stop_ends_an_all_variants_run_and_browsing_keeps_its_views(sb):
    async def scenario():
        app = SandboxApp(sandbox=sb)
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: app.backend_ready, 60, "the sandbox to be ready")
            pane = await _catalog_loaded(pilot, app)
            await _highlight(pilot, app, "workflow-retries")
            assert q(app, "#variant", Select).value == "all"
            q(app, "#catalog", OptionList).focus()
            await pilot.press("r")  # a run resets the sandbox: it asks first
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 30, "the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: pane.running, 10, "the run to start")
            log = q(app, "#narrative-log", RichLog)
            await until(pilot, lambda: any("variant broken" in line.text for line in log.lines), 60,
                        "the broken variant to start")
            # browse away and back while it runs
            await _highlight(pilot, app, "poison-message")
            assert q(app, "#run-tabs", TabbedContent).active == "about" and not log.lines
            assert "workflow-retries is running" in str(q(app, "#run-status", Label).render())
            await _highlight(pilot, app, "workflow-retries")
            assert q(app, "#run-tabs", TabbedContent).active == "narrative"
            await until(pilot, lambda: any("variant broken" in line.text for line in log.lines), 5, "its narrative")
            await pilot.press("s")
            await until(pilot, lambda: not pane.running, 120, "the run to stop")
            status = str(q(app, "#run-status", Label).render())
            assert "stopped" in status and "not run: fixed" in status and "✘" not in status, status
            narrative = "\n".join(t.plain for t in log.texts)
            assert "variant fixed" not in narrative and "■ stopped" in narrative, narrative[-1500:]
            checklist = q(app, "#checklist", DataTable)
            marks = {str(checklist.get_cell(k, "mark")) for k in checklist.rows}
            assert marks == {"–"}, marks  # not evaluated: no ✘
            fixed = [k for k in checklist.rows if str(checklist.get_cell(k, "variant")) == "fixed"]
            assert fixed and {str(checklist.get_cell(k, "observed")) for k in fixed} == {"not run"}
            report = q(app, "#report-table", DataTable)
            assert [c.label.plain for c in report.columns.values()] == ["measure", "broken"]
            verdict = next(report.get_row_at(i) for i in range(report.row_count)
                           if str(report.get_row_at(i)[0]) == "verdict")
            assert str(verdict[1]) == "STOPPED"

    asyncio.run(scenario())
    assert sb.faults.list() == []  # the runner cleared the faults


# --- issue 14 #1: a run resets the sandbox: it asks first, saying what goes; the catalog has a / filter --------------
class _FakeRunner:
    def __init__(self, variants):
        self.variants = variants

    def run(self, variants):
        return []

    def stop(self):
        pass


class _LiveWithState(Backend):
    """A live backend with 2 stacks, 5 DLQ messages and 1 fault deployed; runs do nothing (recorded in `runs`)."""

    live, label = True, "fake"

    def __init__(self):
        self.runs: list = []

    def start(self, on_progress) -> str:
        return "fake backend"

    def reset_impact(self) -> dict:
        return {"stacks": 2, "queues": 1, "queued messages": 5, "fault rules": 1}

    def runner(self, scenario, variants, listener, params=None):
        self.runs.append((scenario.id, list(variants)))
        return _FakeRunner(variants)


def test_a_run_asks_first_and_says_what_the_reset_removes_and_the_catalog_filters():
    async def scenario():
        backend = _LiveWithState()
        app = SandboxApp(backend=backend)
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            await until(pilot, lambda: app.screen is app.main_screen and pane.ready, 10, "the main screen")
            catalog = q(app, "#catalog", OptionList)
            catalog.focus()
            await pilot.press("r")  # asks; nothing runs yet
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the confirmation")
            body = " ".join(str(w.render()) for w in app.screen.query("Static"))
            assert "2 stacks, 1 queue, 5 queued messages, 1 fault rule" in body, body
            await pilot.press("n")
            await until(pilot, lambda: app.screen is app.main_screen, 10, "the confirmation closed")
            assert not pane.running and backend.runs == []
            # / filters the catalog: typing "retry" is a search, not a run
            await pilot.press("slash", *"retry")
            await until(pilot, lambda: {s.id for s in pane.shown_scenarios} and
                        all("retr" in (s.id + s.title + s.summary).lower() or "retr" in " ".join(s.learn).lower()
                            for s in pane.shown_scenarios), 10, "the filtered catalog")
            assert 0 < catalog.option_count < len(pane.scenarios)
            assert app.screen is app.main_screen and backend.runs == []
            await pilot.press("enter")  # from the filter box into the list
            assert app.focused is catalog
            await pilot.press("enter")  # enter on a scenario offers to run it
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: backend.runs, 10, "the run")
            assert backend.runs[0][0] == pane.selected.id and pane.selected in pane.shown_scenarios

    asyncio.run(scenario())


def test_reset_warning_counts_what_goes():
    from tui.scenarios.pane import reset_warning

    assert "among it 2 stacks, 1 queue, 5 queued messages, 1 fault rule." in reset_warning(
        {"stacks": 2, "queues": 1, "queued messages": 5, "fault rules": 1})
    assert "1 stack." in reset_warning({"stacks": 1})
    # a queue made by hand, no stack: it goes too (the dialog said "nothing of yours is removed")
    assert "everything in the sandbox, among it 1 queue." in reset_warning({"stacks": 0, "queues": 1})
    # nothing counted is never "nothing is removed": kinds the inventory does not count go too
    empty = reset_warning({})
    assert "nothing" not in empty.lower() and "topics, parameters, secrets" in empty
    assert "could not be counted" in reset_warning(None, "boom") and "boom" in reset_warning(None, "boom")


# --- #14, 6 and 11: the parameters form says what each field accepts, refuses the rest, and names a switch's state -
def test_params_form_names_the_range_refuses_a_bad_value_and_says_on_or_off(tmp_path):
    from textual.widgets import Input, Static, Switch

    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(120, 40)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            await _highlight(pilot, app, "poison-message")
            pane.action_edit_params()
            form = await eventually(pilot, lambda: _is_form(app.screen))
            assert plain(form.query_one("#allowed-good")).startswith("1–9"), plain(form.query_one("#allowed-good"))
            assert plain(form.query_one("#state-redrive")).strip() == "on"
            form.query_one("#param-redrive", Switch).value = False
            await eventually(pilot, lambda: _equal(plain(form.query_one("#state-redrive")).strip(), "off"))

            form.query_one("#param-good", Input).value = "0"
            await pilot.pause()
            form.action_apply()
            await pilot.pause()
            error = plain(form.query_one("#params-error", Static))
            assert "parameter good='0' must be a whole number from 1 to 9" in error, error
            assert app.screen is form, "a refused value keeps the form open"
            assert pane.params_of(pane.selected) == {}, "nothing was applied"

            form.query_one("#param-good", Input).value = "9"
            await pilot.pause()
            form.action_apply()
            await eventually(pilot, lambda: _equal(pane.params_of(pane.selected), {"good": "9", "redrive": "false"}))

    asyncio.run(scenario())


def test_params_form_keeps_every_key_typed_refuses_out_of_range_with_the_range_and_clears_the_error_once_fixed(
        tmp_path):
    """A newcomer typed 12 and saw 1, typed 0 and saw nothing, and the refusal stayed on screen once 9 was typed:
    every key shows, apply refuses what the CLI refuses (with the range), the error goes once the field is right."""
    from textual.widgets import Input, Static

    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(80, 24)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            await _highlight(pilot, app, "poison-message")
            pane.action_edit_params()
            form = await eventually(pilot, lambda: _is_form(app.screen))
            field = form.query_one("#param-good", Input)
            field.focus()
            await pilot.press("end", "backspace", *"1.5x")
            await eventually(pilot, lambda: _equal(field.value, "1.5x"))
            await pilot.press("backspace", "backspace", "backspace", "2")
            await eventually(pilot, lambda: _equal(field.value, "12"))
            await pilot.press("ctrl+s")
            await pilot.pause()
            error = form.query_one("#params-error", Static)
            assert "parameter good='12' must be a whole number from 1 to 9" in plain(error), plain(error)
            assert app.screen is form and pane.params_of(pane.selected) == {}
            await pilot.press("backspace", "backspace", "0")
            await eventually(pilot, lambda: _equal(field.value, "0"))
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "parameter good='0' must be a whole number from 1 to 9" in plain(error), plain(error)
            await pilot.press("backspace", "9")
            await eventually(pilot, lambda: _equal(plain(error).strip(), ""))
            await pilot.press("ctrl+s")
            await eventually(pilot, lambda: _equal(pane.params_of(pane.selected), {"good": "9"}))

    asyncio.run(scenario())


def _is_form(screen):
    from tui.scenarios.params import ScenarioParamsScreen

    assert isinstance(screen, ScenarioParamsScreen) and screen.query("#allowed-good"), screen
    return screen


def _equal(actual, expected):
    assert actual == expected, actual
    return actual


# --- #14, 6: a check that could not measure fails in the checklist, in words, never with a Python error --------
def test_a_check_that_could_not_measure_shows_as_a_failed_check_in_words(tmp_path):
    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            await _highlight(pilot, app, "poison-message")
            pane.running = True
            pane._reset_views(pane.selected, ["broken"])
            name = "fewest transcodes of any good job"
            pane._apply([ev.VariantStarted(variant="broken"),
                         ev.ExpectationChecked(name=name, op=">=", target=2, observed=None, passed=False,
                                               error="could not measure: a value this check needs is missing or "
                                                     "empty")])
            await pilot.pause()
            row = next(r for r in pane._view(pane.selected.id).checks.values() if r["name"] == name)
            assert (str(row["mark"]), str(row["observed"]), row["expected"]) == (
                "✘", "could not measure: a value this check needs is missing or empty", "at least 2")
            said = "\n".join(t.plain for t in pane._view(pane.selected.id).narrative)
            assert f"✘ {name}: could not measure: a value this check needs is missing or empty (want at least 2)" \
                in said, said
            pane._apply([RunFinished(reports=[], error=None)])

    asyncio.run(scenario())


def test_the_running_scenarios_variant_and_parameters_do_not_change_under_it(tmp_path):
    """`v` showed another variant in the header while an all-variants run went on, and `p` opened the parameters form
    (the next key typed landed in it); both are refused while the selected scenario runs, and work once it ends."""
    async def scenario():
        app = SandboxApp(replay=_empty_recording(tmp_path))
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await _catalog_loaded(pilot, app)
            await _highlight(pilot, app, "workflow-retries")
            select = q(app, "#variant", Select)
            pane.running, pane._run_id = True, "workflow-retries"
            before, screens = select.value, len(app.screen_stack)
            pane.action_next_variant()
            pane.action_edit_params()
            await pilot.pause()
            assert select.value == before and len(app.screen_stack) == screens
            pane.running = False
            pane.action_next_variant()
            await pilot.pause()
            assert select.value != before

    asyncio.run(scenario())
