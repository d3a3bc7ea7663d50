"""An attendee's lab session on a `sandbox.Sandbox`: start, check, hint, solve, reset.

Everything a surface (the CLI today, a TUI tab or an instructor's board later) needs is here and returns data;
the surfaces only print it. The workspace is (re)deployed before a check, so the loop is: edit, `sandbox lab check`.
"""

from __future__ import annotations

import time
from pathlib import Path

from scenarios.labs import workspace as ws
from scenarios.labs.context import CheckContext
from scenarios.labs.model import CheckFailed, CheckResult, Lab, LabError, Task
from scenarios.labs.progress import Progress
from scenarios.labs.registry import get_lab


class LabSession:
    def __init__(self, sb, progress: Progress | None = None):
        self.sb = sb
        self.progress = progress or Progress(sb.settings.state_dir)
        self.reported: str | None = None  # what the last check's report to the board said (None: no board)

    # --- which lab, where --------------------------------------------------------------------------------
    def current(self) -> tuple[Lab, Path]:
        lab = get_lab(self.progress.require_current())
        folder = self.progress.workspace(lab.id)
        if not folder or not folder.is_dir():
            raise LabError(f"the workspace of lab {lab.id} ({folder}) is gone: `sandbox lab start {lab.id} --dir "
                           "DIR` makes a new one")
        return lab, folder

    def current_task(self, lab: Lab) -> Task | None:
        """The first task not passed yet (None when all have)."""
        return next((t for t in lab.tasks if not self.progress.passed(lab.id, t.id)), None)

    def status(self) -> dict:
        """The current lab and each task's state: what a board shows."""
        lab, folder = self.current()
        entry = self.progress.lab(lab.id)
        current = self.current_task(lab)
        return {"lab": lab.id, "title": lab.title, "workspace": str(folder), "stack": lab.stack,
                "current_task": current.id if current else None,
                "tasks": [{"id": t.id, "title": t.title, **{"passed": False, "hints": 0},
                           **entry["tasks"].get(t.id, {}), "hints_available": len(t.hints)} for t in lab.tasks]}

    # --- start -------------------------------------------------------------------------------------------
    def start(self, lab_id: str, folder: Path | None = None, deploy: bool = True) -> dict:
        lab = get_lab(lab_id)
        folder = (folder or ws.default_dir(lab)).resolve()
        if deploy:
            self.sb.require_running()
        created = ws.create(lab, folder)
        self.progress.start(lab.id, folder)
        outputs = self.deploy(lab, folder) if deploy else {}
        if deploy and created:
            self._set_up(lab, folder, outputs)
        return {"lab": lab.id, "workspace": str(folder), "created": created, "outputs": outputs}

    def _set_up(self, lab: Lab, folder: Path, outputs: dict[str, str]) -> None:
        """Puts the sandbox in the situation the lab starts from (e.g. failed jobs in a DLQ), with the starter."""
        if lab.setup:
            try:
                lab.setup(CheckContext(self.sb, lab, folder, outputs))
            except CheckFailed as e:
                raise LabError(f"setting up lab {lab.id} failed: {e.message}") from None

    def deploy(self, lab: Lab, folder: Path) -> dict[str, str]:
        from sandbox.deploy import DeployError

        self.sb.require_running()
        try:
            result = self.sb.deploy(str(folder / "template.yaml"), stack_name=lab.stack)
        except DeployError as e:
            raise LabError(f"your workspace {folder} does not deploy: {e}\nFix template.yaml (or the code it "
                           f"points at) and check again; `sandbox lab hint` helps, `sandbox lab solve` catches "
                           "up.") from None
        return result.outputs

    # --- check -------------------------------------------------------------------------------------------
    def tasks_to_check(self, lab: Lab, task_id: str | None, all_tasks: bool) -> list[Task]:
        if task_id:
            return [lab.task(task_id)]
        current = self.current_task(lab)
        return list(lab.tasks) if all_tasks or current is None else [current]

    def check(self, task_id: str | None = None, all_tasks: bool = False, deploy: bool = True,
              on_result=None) -> list[CheckResult]:
        lab, folder = self.current()
        tasks = self.tasks_to_check(lab, task_id, all_tasks)
        outputs = self.deploy(lab, folder) if deploy else self._outputs(lab)
        results = []
        for task in tasks:
            result = run_check(self.sb, lab, task, folder, outputs)
            self.progress.record(lab.id, result)
            results.append(result)
            if on_result:
                on_result(result)
        self.reported = self.report(lab, results)
        return results

    def report(self, lab: Lab, results: list[CheckResult]) -> str | None:
        """The results to the instructor's board, when the attendee joined one (`sandbox lab join`): a line saying
        whether they arrived, None when not in a workshop. Results only; never fails the check."""
        from scenarios.workshop.join import report

        return report(self.progress.state_dir, lab.id, results)

    def _outputs(self, lab: Lab) -> dict[str, str]:
        for stack in self.sb.stacks():
            if stack["name"] == lab.stack:
                return stack["outputs"]
        raise LabError(f"stack {lab.stack} is not deployed: check without --no-deploy deploys your workspace")

    # --- hint, solve, reset ------------------------------------------------------------------------------
    def hint(self, task_id: str | None = None) -> dict:
        lab, _ = self.current()
        task = lab.task(task_id) if task_id else (self.current_task(lab) or lab.tasks[-1])
        if not task.hints:
            return {"task": task.id, "revealed": [], "available": 0}
        shown = self.progress.reveal_hint(lab.id, task.id, len(task.hints))
        return {"task": task.id, "title": task.title, "revealed": list(task.hints[:shown]),
                "available": len(task.hints)}

    def solve_plan(self, task_id: str | None = None) -> tuple[Lab, Path, list[Task], list[str]]:
        """What `solve` would do: the tasks it solves and the workspace files it would overwrite."""
        lab, folder = self.current()
        tasks = lab.tasks_through(task_id) if task_id else list(lab.tasks)
        files = ws.solution_files(lab, _with_files(lab, tasks))
        touched = [rel for rel, src in files.items()
                   if not (folder / rel).is_file() or (folder / rel).read_bytes() != src.read_bytes()]
        return lab, folder, tasks, touched

    def solve(self, task_id: str | None = None, deploy: bool = True) -> dict:
        lab, folder, tasks, _ = self.solve_plan(task_id)
        if deploy or any(t.id in lab.solvers for t in tasks):
            self.sb.require_running()  # before any file is overwritten
        changed = ws.apply(ws.solution_files(lab, _with_files(lab, tasks)), folder)
        outputs = self.deploy(lab, folder) if deploy or any(t.id in lab.solvers for t in tasks) else {}
        for task in tasks:
            if task.id in lab.solvers:
                try:
                    lab.solvers[task.id](CheckContext(self.sb, lab, folder, outputs))
                except CheckFailed as e:
                    raise LabError(f"the solution of task {task.id} could not be applied: {e.message}") from None
        self.progress.mark_solved(lab.id, [t.id for t in tasks])
        return {"lab": lab.id, "tasks": [t.id for t in tasks], "changed": changed, "workspace": str(folder)}

    def reset(self) -> dict:
        """The starter back in the workspace, the progress of the lab forgotten, the starter deployed."""
        lab, folder = self.current()
        ws.restore_starter(lab, folder)
        self.progress.forget(lab.id)
        if self.sb.is_running():
            self.sb.destroy(lab.stack)  # the situation is replayed from scratch: no jobs or messages of before
            self._set_up(lab, folder, self.deploy(lab, folder))
        return {"lab": lab.id, "workspace": str(folder)}


def _with_files(lab: Lab, tasks: list[Task]) -> list[str]:
    return [t.id for t in tasks if lab.solution(t.id).is_dir()]


def run_check(sb, lab: Lab, task: Task, folder: Path, outputs: dict[str, str]) -> CheckResult:
    """One task's check as a result: a check's own error is a failed result that says so, never a traceback."""
    ctx = CheckContext(sb, lab, folder, outputs)
    started = time.monotonic()
    try:
        message = lab.checks[task.id](ctx)
        passed, details = True, ctx.details
    except CheckFailed as e:
        message, passed, details = e.message, False, e.details
    except Exception as e:  # noqa: BLE001 - a resource the check expects is missing, renamed, ...
        message = f"the check could not finish: {type(e).__name__}: {e}"
        passed, details = False, ctx.details
    return CheckResult(task.id, task.title, passed, message or "done", details, time.monotonic() - started)
