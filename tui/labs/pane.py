"""Labs: a workshop lab in the TUI - the instructions, the task list ticking as checks pass, hints and solve.

What `sandbox lab` does, through `Backend.lab_*` (scenarios.labs.LabSession): the same progress file, so the CLI
and the tab see each other's results. A check runs again by itself when a workspace file is saved or the recorder
sees traffic that is not the previous check's own (`WatchState`), and on `c`.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Markdown, ProgressBar, Static

from tui.labs.messages import LabBusy, LabChecked, LabFailed, LabHint, LabLoaded, LabSolvePlanned
from tui.labs.watch import WatchState
from tui.pane import Pane
from tui.widgets import ConfirmScreen, Notice

MARKS = {True: ("✔", "bold green"), False: ("✘", "bold red"), None: ("·", "dim")}


def lab_markdown(lab) -> str:
    """A lab before it is started: what it is about and its tasks."""
    tasks = "\n".join(f"{i}. **{t.title}** (`{t.id}`)" for i, t in enumerate(lab.tasks, 1))
    return f"# {lab.title}\n\n{lab.intro}\n\n## Tasks\n\n{tasks}\n\n_s starts it; the pattern it builds on: {lab.pattern}_"


def short_path(path: str) -> str:
    """A workspace as the attendee typed it: relative to the current folder when under it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def task_markdown(lab, task, hints: list[str], hints_available: int) -> str:
    """What the instructions panel shows for one task: the lab's introduction, the task, the hints revealed."""
    text = f"# {lab.title}\n\n{lab.intro}\n\n## Task {task.id}: {task.title}\n\n{task.body}\n"
    if hints_available:
        text += f"\n### Hints ({len(hints)} of {hints_available} revealed, `h` for the next)\n\n"
        text += "\n".join(f"{i}. {hint}" for i, hint in enumerate(hints, 1)) if hints else "_none revealed yet_"
    return text


class LabsPane(Pane):
    """A workshop lab: instructions, tasks ticked as their checks pass, hints and the solution on keys."""

    TAB_ID = "labs"
    TAB_TITLE = "Labs"
    WATCH_SECONDS = 2.0
    BINDINGS = [
        Binding("s", "start", "Start lab", tooltip="Start the selected lab: its starter copied to ./labs/ID and "
                                                   "deployed (as `sandbox lab start`)"),
        Binding("c", "check", "Check", tooltip="Deploy your workspace and check the selected task"),
        # a and l are left out of the footer (? and ctrl+p list them): at 80 columns it cut "q Quit" off
        Binding("a", "check_all", "Check all", show=False, tooltip="Deploy your workspace and check every task"),
        Binding("h", "hint", "Hint", tooltip="Reveal the next hint of the selected task"),
        Binding("x", "solve", "Solve", tooltip="Apply the solution up to the selected task (asks first)"),
        Binding("l", "labs", "All labs", show=False, tooltip="The list of labs, to start or switch to another one"),
        Binding("w", "watch", "Watch", tooltip="Check again when you save a file or traffic arrives (on/off)"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.catalog: list = []
        self.status: dict | None = None
        self.results: dict[str, dict] = {}  # task id -> the last result shown
        self.hints: dict[str, list[str]] = {}
        self.busy = False
        self.showing_catalog = True
        self.watch = WatchState()
        self._doc_text = ""
        self.checks: list[str] = []  # what started each check run so far: a key, "saved" or "traffic"

    def compose(self) -> ComposeResult:
        with Horizontal(classes="bar"):
            yield Label("Labs", id="labs-title", classes="section-title")
            yield Label("", id="labs-progress", classes="count")
            yield ProgressBar(id="labs-progress-bar", show_eta=False, show_percentage=False)
        yield Notice(id="labs-notice")
        with Horizontal(id="labs-body"):
            with Vertical(id="labs-left"):
                yield DataTable(id="labs-catalog", cursor_type="row", zebra_stripes=True)
                yield DataTable(id="labs-tasks", cursor_type="row")
                yield Static("", id="labs-result", classes="detail")
            with VerticalScroll(id="labs-doc-box"):
                yield Markdown("", id="labs-doc")

    def on_mount(self) -> None:
        catalog = self.query_one("#labs-catalog", DataTable)
        for label, key in (("lab", "id"), ("title", "title"), ("pattern", "pattern"), ("tasks", "tasks")):
            catalog.add_column(label, key=key)
        tasks = self.query_one("#labs-tasks", DataTable)
        tasks.add_column(" ", key="mark")
        tasks.add_column("task", key="title")  # what it asks first; its id (for `sandbox lab check ID`) after
        tasks.add_column("id", key="id")
        self.query_one("#labs-notice", Notice).hide()
        self.set_class(True, "-no-lab")

    def focus_main(self) -> None:
        self.query_one("#labs-catalog" if self.showing_catalog else "#labs-tasks", DataTable).focus()

    # --- loading -----------------------------------------------------------------------------------------
    def backend_ready(self) -> None:
        super().backend_ready()
        self._load()
        if self.backend.live:
            self.set_interval(self.WATCH_SECONDS, self._watch_tick, name="labs-watch")

    def activated(self) -> None:
        if self.ready and not self.busy:
            self._load()

    @work(thread=True, exclusive=True, group="labs-load")
    def _load(self) -> None:
        try:
            catalog = self.backend.labs()
            status = self.backend.lab_status()
        except Exception as e:  # noqa: BLE001 - Unavailable (a recording) or a damaged progress file: said
            self.post_message(LabLoaded(None, catalog=self.backend.labs()))
            self.post_message(LabFailed(str(e)))
            return
        self.post_message(LabLoaded(status, catalog))

    def on_lab_loaded(self, message: LabLoaded) -> None:
        self.catalog = message.catalog
        self.status = message.status
        if message.started:  # a lab (re)started: its workspace is the watch's new baseline
            self.busy = False
            self.hints = {}
            self.watch.forget()
        # the progress file is the truth: a check from the CLI (or a reset) shows here too
        self.results = {task["id"]: {"task": task["id"], "passed": task["passed"], "message": task["message"],
                                     "title": task["title"]}
                        for task in (message.status or {}).get("tasks", []) if "message" in task}
        self._show_catalog_table()
        self._show(catalog=message.status is None)

    # --- showing -----------------------------------------------------------------------------------------
    def lab(self):
        if self.status is None:
            return None
        return next((lab for lab in self.catalog if lab.id == self.status["lab"]), None)

    def _show_catalog_table(self) -> None:
        table = self.query_one("#labs-catalog", DataTable)
        keep = table.cursor_row
        table.clear()
        for lab in self.catalog:
            current = self.status is not None and lab.id == self.status["lab"]
            table.add_row(Text(lab.id, style="bold" if current else ""), lab.title, lab.pattern,
                          str(len(lab.tasks)), key=lab.id)
        if self.catalog:
            table.move_cursor(row=min(keep, len(self.catalog) - 1))

    def _show(self, catalog: bool) -> None:
        switched = self.showing_catalog != (catalog or self.lab() is None)
        self.showing_catalog = catalog or self.lab() is None
        self.set_class(self.showing_catalog, "-no-lab")
        self.set_class(not self.showing_catalog, "-lab")
        if self.showing_catalog:
            self._show_header()
            self.query_one("#labs-result", Static).update(Text.assemble(
                ("Pick a lab and press ", "dim"), ("s", "bold"),
                (" to start it: its starter app is copied to ./labs/<lab>/ (your workspace, kept if it exists) "
                 "and deployed. Edit it, then ", "dim"), ("c", "bold"), (" checks it.", "dim")))
            self._show_lab_summary()
            if switched:
                self.focus_main()
            return
        tasks = self.query_one("#labs-tasks", DataTable)
        keep = tasks.cursor_row
        tasks.clear()
        for task in self.status["tasks"]:
            result = self.results.get(task["id"])
            mark, style = MARKS[result["passed"] if result else None]
            title = Text(task["title"])
            if task.get("solved"):
                title.append(" (solution applied)", style="dim")
            tasks.add_row(Text(mark, style=style), title, Text(task["id"], style="dim"), key=task["id"])
        current = self.status.get("current_task")
        ids = [t["id"] for t in self.status["tasks"]]
        tasks.move_cursor(row=keep if 0 < keep < len(ids) else (ids.index(current) if current in ids else 0))
        self._show_header()
        self._show_task()
        if switched:
            self.focus_main()

    def _show_header(self) -> None:
        bar = self.query_one("#labs-progress-bar", ProgressBar)
        if self.showing_catalog or self.status is None:
            self.query_one("#labs-title", Label).update("Labs")
            self.query_one("#labs-progress", Label).update(f"{len(self.catalog)} labs")
            bar.display = False
            return
        total = len(self.status["tasks"])
        passed = sum(1 for t in self.status["tasks"] if (self.results.get(t["id"]) or {}).get("passed"))
        self.query_one("#labs-title", Label).update(f"Lab: {self.status['title']}")
        watching = ("  ·  watching your workspace" if self.watch.enabled else "  ·  watch off (w)") \
            if self.backend.live else ""
        self.query_one("#labs-progress", Label).update(Text.assemble(
            (f"{passed}/{total} tasks passed", "bold green" if passed == total else "bold"),
            (f"  ·  {short_path(self.status['workspace'])}{watching}", "dim")))
        bar.display = True
        bar.update(total=total, progress=passed)

    @property
    def selected_task(self) -> str | None:
        if self.showing_catalog or self.status is None:
            return None
        tasks = self.query_one("#labs-tasks", DataTable)
        ids = [t["id"] for t in self.status["tasks"]]
        return ids[tasks.cursor_row] if 0 <= tasks.cursor_row < len(ids) else None

    def _show_task(self) -> None:
        lab, task_id = self.lab(), self.selected_task
        if lab is None or task_id is None:
            return
        task = lab.task(task_id)
        entry = next(t for t in self.status["tasks"] if t["id"] == task_id)
        hints = self.hints.get(task_id) or list(task.hints[:entry.get("hints", 0)])
        self._document(task_markdown(lab, task, hints, len(task.hints)))
        if not self.busy:
            self._show_result(task_id)

    def _document(self, text: str) -> None:
        """The instructions panel; left as it is (and where it is scrolled to) when the text is the same."""
        if text != self._doc_text:
            self._doc_text = text
            self.query_one("#labs-doc", Markdown).update(text)
            self.query_one("#labs-doc-box").scroll_home(animate=False)

    def _show_result(self, task_id: str) -> None:
        result = self.results.get(task_id)
        text = Text()
        if result is None:
            text.append(f"{task_id}: not checked yet. ", style="bold")
            text.append("Edit your workspace, then c to check (it deploys it first).", style="dim")
        else:
            mark, style = ("PASS", "bold green") if result["passed"] else ("FAIL", "bold red")
            text.append(f"{mark} {task_id}", style=style)
            text.append(f"\n{result['message']}")
            if not result["passed"]:
                text.append("\nh reveals a hint; x applies the solution (asks first)", style="dim")
        self.query_one("#labs-result", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "labs-tasks":
            self._show_task()
        elif event.data_table.id == "labs-catalog" and self.showing_catalog:
            self._show_lab_summary()

    def _show_lab_summary(self) -> None:
        row = self.query_one("#labs-catalog", DataTable).cursor_row
        if 0 <= row < len(self.catalog):
            self._document(lab_markdown(self.catalog[row]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "labs-catalog":
            self.action_start()

    # --- actions -----------------------------------------------------------------------------------------
    def _needs_lab(self) -> bool:
        if not self.backend.live:
            self.problem("labs check the live sandbox: not available in a recording", "warning")
            return False
        if self.busy:
            self.problem("a lab step is still running: wait for its result", "warning")
            return False
        if self.status is None or self.showing_catalog:
            self.problem("start a lab first: select it and press s", "warning")
            return False
        return True

    def action_labs(self) -> None:
        self._show(catalog=True)

    def action_start(self) -> None:
        if not self.backend.live:
            self.problem("labs check the live sandbox: not available in a recording", "warning")
            return
        if self.busy:
            self.problem("a lab step is still running: wait for its result", "warning")
            return
        if self.sandbox_missing():
            return
        if not self.showing_catalog:
            self._show(catalog=True)
            return
        table = self.query_one("#labs-catalog", DataTable)
        if not self.catalog:
            return
        lab = self.catalog[table.cursor_row]
        if self.status is not None and self.status["lab"] == lab.id:
            self._show(catalog=False)
            return
        self.busy = True
        self._start(lab.id)

    @work(thread=True, exclusive=True, group="labs-act")
    def _start(self, lab_id: str) -> None:
        self.post_message(LabBusy(f"deploying the starter of {lab_id} ..."))
        try:
            started = self.backend.lab_start(lab_id)
            status = self.backend.lab_status()
        except Exception as e:  # noqa: BLE001 - LabError and SandboxError say what to do
            self.post_message(LabFailed(f"starting {lab_id} failed: {e}"))
            return
        self.post_message(LabLoaded(status, self.backend.labs(), started=True))
        verb = "created" if started["created"] else "kept your existing"
        self.app.call_from_thread(self.app.notify, f"{lab_id}: {verb} workspace {started['workspace']}", timeout=6)

    def action_check(self) -> None:
        if self._needs_lab() and not self.sandbox_missing():
            self._begin_check(self.selected_task, False, True, "c")

    def action_check_all(self) -> None:
        if self._needs_lab() and not self.sandbox_missing():
            self._begin_check(None, True, True, "a")

    def _begin_check(self, task: str | None, all_tasks: bool, deploy: bool, why: str) -> None:
        self.busy = True
        self._check(task, all_tasks, deploy, why)

    @work(thread=True, exclusive=True, group="labs-act")
    def _check(self, task: str | None, all_tasks: bool, deploy: bool, why: str) -> None:
        names = "every task" if all_tasks else task or "the current task"
        self.post_message(LabBusy(("deploying your workspace and " if deploy else "") + f"checking {names} ..."))
        try:
            answer = self.backend.lab_check(task, all_tasks=all_tasks, deploy=deploy)
        except Exception as e:  # noqa: BLE001 - a workspace that does not deploy: LabError says how to fix it
            self.post_message(LabChecked([], str(e), why))
            return
        self.post_message(LabChecked(answer["results"], None, why, answer.get("reported"), answer.get("status")))

    def on_lab_busy(self, message: LabBusy) -> None:
        self.busy = True
        self.query_one("#labs-result", Static).update(Text(message.text, style="bold yellow"))
        if self.showing_catalog:
            self.query_one("#labs-notice", Notice).hide()

    def on_lab_checked(self, message: LabChecked) -> None:
        self.busy = False
        self.checks.append(message.why)
        self.watch.checked(self.status["workspace"] if self.status else None)
        if message.error:
            self.query_one("#labs-result", Static).update(Text(message.error, style="red"))
            return
        for result in message.results:
            self.results[result["task"]] = result
        if message.status is not None:
            # the progress as the check left it, shown as a load shows it: the marks and "(solution applied)" in one
            # step (a test saw the tick before the word while a reload re-read the file), and no second read
            self.on_lab_loaded(LabLoaded(message.status, self.catalog))
        else:
            if self.status is not None and not self.showing_catalog:
                # the marks at once: the reload re-reads the progress file in a worker, and until its answer came
                # the pane was no longer busy with the old marks still shown (a test saw "·" after a failed check)
                self._show(catalog=False)
            self._reload_status()
        if message.reported:
            self.app.notify(message.reported, severity="warning" if message.reported.startswith("not ") else
                            "information", timeout=5)
        failed = [r for r in message.results if not r["passed"]]
        if message.results and not failed and self.status and \
                all((self.results.get(t["id"]) or {}).get("passed") for t in self.status["tasks"]):
            self.app.notify(f"every task of {self.status['lab']} passes: well done", timeout=6)

    def _reload_status(self) -> None:
        self._load()

    def action_hint(self) -> None:
        if self._needs_lab():
            self._hint(self.selected_task)

    @work(thread=True, group="labs-hint")
    def _hint(self, task: str | None) -> None:
        try:
            self.post_message(LabHint(self.backend.lab_hint(task)))
        except Exception as e:  # noqa: BLE001
            self.post_message(LabFailed(f"no hint: {e}"))

    def on_lab_hint(self, message: LabHint) -> None:
        hint = message.hint
        if not hint["available"]:
            self.problem(f"task {hint['task']} has no hints", "information")
            return
        self.hints[hint["task"]] = hint["revealed"]
        self._show_task()
        last = len(hint["revealed"]) == hint["available"]
        self.app.notify(f"hint {len(hint['revealed'])}/{hint['available']}: {hint['revealed'][-1]}"
                        + ("\n(that was the last one; x applies the solution)" if last else ""), timeout=10)
        self._load()

    def action_solve(self) -> None:
        if self._needs_lab():
            self._plan_solve(self.selected_task)

    @work(thread=True, group="labs-hint")
    def _plan_solve(self, task: str | None) -> None:
        try:
            self.post_message(LabSolvePlanned(self.backend.lab_solve_plan(task), task))
        except Exception as e:  # noqa: BLE001
            self.post_message(LabFailed(f"cannot solve: {e}"))

    def on_lab_solve_planned(self, message: LabSolvePlanned) -> None:
        plan, names = message.plan, ", ".join(message.plan["tasks"])
        if plan["touched"]:
            body = (f"Solving {names} overwrites in {plan['workspace']}:\n  " + "\n  ".join(plan["touched"])
                    + "\n\nYour changes to these files are lost. The solution is deployed and every task checked.")
        else:
            body = f"Your workspace already holds the solution of {names}: deploy it and check every task?"

        def answered(yes: bool | None) -> None:
            if yes and not self.busy:
                self.busy = True
                self._solve(message.task)

        self.app.push_screen(ConfirmScreen(f"Solve {names}", body, "Solve"), answered)

    @work(thread=True, exclusive=True, group="labs-act")
    def _solve(self, task: str | None) -> None:
        self.post_message(LabBusy("applying the solution and deploying it ..."))
        try:
            done = self.backend.lab_solve(task)
        except Exception as e:  # noqa: BLE001
            self.post_message(LabChecked([], f"solving failed: {e}", "x"))
            return
        self.app.call_from_thread(self.app.notify, f"solved {', '.join(done['tasks'])}: "
                                                   f"{len(done['changed'])} file(s) changed; checking every task")
        self.post_message(LabBusy("checking every task ..."))
        try:
            answer = self.backend.lab_check(None, all_tasks=True, deploy=False)
        except Exception as e:  # noqa: BLE001
            self.post_message(LabChecked([], str(e), "x"))
            return
        self.post_message(LabChecked(answer["results"], None, "x", answer.get("reported"), answer.get("status")))

    def on_lab_failed(self, message: LabFailed) -> None:
        self.busy = False
        if self.backend.live:
            self.problem(message.error)
            self._show_catalog_table()
            self._show(catalog=self.status is None)
        else:
            self.query_one("#labs-notice", Notice).show(
                f"{message.error}\n\nRun `sandbox tui` (not --replay) to do a lab; the list below is what there is.",
                warning=True)

    def action_watch(self) -> None:
        self.watch.enabled = not self.watch.enabled
        self._show_header()
        self.app.notify("checks run again when you save a file or traffic arrives" if self.watch.enabled else
                        "automatic checks off: c checks", timeout=4)

    # --- watching ------------------------------------------------------------------------------------------
    def _watch_tick(self) -> None:
        if self.busy or self.status is None or not self.watch.enabled or not self.ready or self.app.sandbox_down:
            return
        if all((self.results.get(t["id"]) or {}).get("passed") for t in self.status["tasks"]):
            return  # nothing left to tick
        self._watch(self.status["workspace"])

    @work(thread=True, exclusive=True, group="labs-watch")
    def _watch(self, workspace: str) -> None:
        why = self.watch.poll(self.backend, workspace, time.time())
        if why is None:
            return
        self.app.call_from_thread(self._auto_check, why)

    def _auto_check(self, why: str) -> None:
        if self.busy or self.status is None:
            return
        self._begin_check(None, False, why == "saved", why)
