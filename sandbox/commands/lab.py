"""`sandbox lab list|show|start|check|hint|solve|reset`: workshop labs, checked against the running sandbox.

The logic lives in scenarios.labs (LabSession); this module only prints its results.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sandbox.commands.common import get_sandbox


def _session(settings):
    from scenarios.labs import LabSession

    return LabSession(get_sandbox(settings))


@click.group()
def lab():
    """Workshop labs: a task list, a starter app to fix in your own folder, and checks that look at the real
    sandbox and tell you what is still wrong. `sandbox lab list` to begin."""


@lab.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_command(settings, as_json):
    """The labs, in workshop order."""
    from scenarios.labs import Progress, all_labs

    progress = Progress(settings.state_dir)
    labs = [{**lab.as_dict(), "passed": sum(progress.passed(lab.id, t.id) for t in lab.tasks)} for lab in all_labs()]
    if as_json:
        click.echo(json.dumps(labs, indent=2))
        return
    for entry in labs:
        mark = "*" if entry["id"] == progress.current else " "
        click.echo(f"{mark} {entry['id']:<20} {entry['passed']}/{len(entry['tasks'])}  {entry['title']}  "
                   f"[{entry['pattern']}]")
    click.echo("\n`sandbox lab show ID` for the instructions, `sandbox lab start ID` to begin")


@lab.command()
@click.argument("lab_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def show(settings, lab_id, as_json):
    """The instructions of lab LAB_ID (default: the current lab, with your progress)."""
    from scenarios.labs import Progress, get_lab

    progress = Progress(settings.state_dir)
    lab_ = get_lab(lab_id or progress.require_current())
    if as_json:
        click.echo(json.dumps({**lab_.as_dict(), "intro": lab_.intro,
                               "tasks": [{"id": t.id, "title": t.title, "body": t.body, "hints": len(t.hints),
                                          "passed": progress.passed(lab_.id, t.id)} for t in lab_.tasks]}, indent=2))
        return
    click.secho(f"{lab_.title}  ({lab_.id})", bold=True)
    click.echo(f"\n{lab_.intro}\n")
    for number, task in enumerate(lab_.tasks, 1):
        done = progress.passed(lab_.id, task.id)
        click.secho(f"Task {number} {task.id}: {task.title}" + ("  [passed]" if done else ""), bold=True,
                    fg="green" if done else None)
        click.echo(f"\n{task.body}\n")
    if progress.current != lab_.id:
        click.echo(f"start it with `sandbox lab start {lab_.id}`")


@lab.command()
@click.argument("lab_id")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Your workspace (default ./labs/ID). An existing workspace of the lab is kept as it is.")
@click.pass_obj
def start(settings, lab_id, folder):
    """Copy lab LAB_ID's starter app into your workspace and deploy it."""
    from scenarios.labs.registry import get_lab

    session = _session(settings)
    get_lab(lab_id)  # an unknown lab, or no sandbox, is said before "deploying"
    session.sb.require_running()
    click.echo(f"deploying the starter of {lab_id} ...", err=True)
    started = session.start(lab_id, folder)
    verb = "created" if started["created"] else "kept your existing"
    click.echo(f"{verb} workspace {started['workspace']}")
    click.echo("edit it, then run `sandbox lab check` (it redeploys your workspace first); "
               "`sandbox lab show` for the tasks, `sandbox lab hint` when stuck")


@lab.command()
@click.argument("task", required=False)
@click.option("--all", "all_tasks", is_flag=True, help="Check every task, not only the current one.")
@click.option("--no-deploy", is_flag=True, help="Check what is deployed, without deploying the workspace first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def check(settings, task, all_tasks, no_deploy, as_json):
    """Deploy your workspace and run the current task's check (TASK's, or all with --all). Exit 0 only when every
    checked task passes."""
    session = _session(settings)
    lab_, _ = session.current()
    session.sb.require_running()  # before "deploying your workspace ...": said first, and only

    def show(result):
        if as_json:
            return
        mark, colour = ("PASS", "green") if result.passed else ("FAIL", "red")
        click.secho(f"{mark} {result.task_id}: {result.title}", fg=colour, bold=True)
        click.echo(f"     {result.message}")

    if not as_json:
        names = ", ".join(t.id for t in session.tasks_to_check(lab_, task, all_tasks))
        click.echo(f"deploying your workspace and checking {names} ...", err=True)
    results = session.check(task, all_tasks=all_tasks, deploy=not no_deploy, on_result=show)
    if session.reported:
        click.echo(session.reported, err=True)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], indent=2))
    elif all(r.passed for r in results):
        following = session.current_task(lab_)
        click.echo(f"next: task {following.id} ({following.title})" if following else
                   f"every task of {lab_.id} passes: well done")
    else:
        click.echo("`sandbox lab hint` reveals a hint; `sandbox lab solve TASK` applies the solution")
    sys.exit(0 if all(r.passed for r in results) else 1)


@lab.command()
@click.argument("task", required=False)
@click.pass_obj
def hint(settings, task):
    """Reveal the next hint of the current task (or TASK); the ones revealed before are shown again."""
    found = _session(settings).hint(task)
    if not found["available"]:
        click.echo(f"task {found['task']} has no hints")
        return
    for number, text in enumerate(found["revealed"], 1):
        click.echo(f"hint {number}/{found['available']}: {text}")
    if len(found["revealed"]) == found["available"]:
        click.echo(f"that was the last hint; `sandbox lab solve {found['task']}` applies the solution")


@lab.command()
@click.argument("task", required=False)
@click.option("--yes", is_flag=True, help="Do not ask before overwriting workspace files.")
@click.pass_obj
def solve(settings, task, yes):
    """Apply the solution of TASK (and of the tasks before it), or of every task, to your workspace and deploy it."""
    session = _session(settings)
    lab_, folder, tasks, touched = session.solve_plan(task)
    names = ", ".join(t.id for t in tasks)
    if not touched:
        click.echo(f"your workspace already holds the solution of {names}")
    elif not yes:
        click.echo(f"solving {names} overwrites in {folder}: {', '.join(touched)}")
        if not click.confirm("your changes to these files are lost; go on?", default=False):
            click.echo("nothing changed")
            sys.exit(1)
    click.echo("deploying the solution ...", err=True)
    done = session.solve(task)
    click.echo(f"solved {names}: {len(done['changed'])} file(s) changed; `sandbox lab check --all` to see it pass")


@lab.command()
@click.option("--yes", is_flag=True, help="Do not ask first.")
@click.pass_obj
def reset(settings, yes):
    """Start the current lab over: the starter back in your workspace, its progress and hints forgotten."""
    session = _session(settings)
    lab_, folder = session.current()
    if not yes and not click.confirm(f"put the starter of {lab_.id} back in {folder} (your edits are lost) and "
                                     "forget its progress?", default=False):
        click.echo("nothing changed")
        sys.exit(1)
    session.reset()
    click.echo(f"{lab_.id} is back at its start in {folder}")



@lab.command()
@click.argument("url")
@click.option("--name", required=True, help="What the instructor's board calls you (1 to 40 characters).")
@click.option("--token", required=True, help="The workshop token `sandbox workshop host` printed.")
@click.pass_obj
def join(settings, url, name, token):
    """Report your check results to an instructor's board at URL (what `sandbox workshop host` printed).

    Only results are sent: the lab, each checked task, passed or not, and when. Never messages, code or data."""
    from scenarios.workshop.join import join as join_board

    joined = join_board(settings.state_dir, url, name, token)
    click.echo(f"joined the board at {joined['url']} as {joined['name']}: every `sandbox lab check` (and check in "
               "the TUI's Labs tab) now reports its results there; `sandbox lab leave` stops it")


@lab.command()
@click.pass_obj
def leave(settings):
    """Stop reporting to the instructor's board."""
    from scenarios.workshop.join import leave as leave_board

    click.echo("left the board: results stay on this laptop" if leave_board(settings.state_dir) else
               "you had not joined a board")


COMMANDS = [lab]
