"""The lab model without a sandbox: lab.md into tasks, the catalog's own consistency, progress, workspaces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.labs import LabError, Progress, all_labs, get_lab
from scenarios.labs import workspace as ws
from scenarios.labs.markdown import parse
from scenarios.labs.model import CheckResult

BIN = Path(sys.executable).parent

LAB_MD = """# A lab

Intro text.

## Task first-one: Do the first thing

Body of the first task.

### Hints
- one
- two, continued
  on the next line

## Task second: Then this
Only a body.
"""


def test_lab_md_splits_into_tasks_with_ids_titles_and_hints():
    title, intro, tasks = parse(LAB_MD)
    assert title == "A lab" and intro == "Intro text."
    assert [(t.id, t.title) for t in tasks] == [("first-one", "Do the first thing"), ("second", "Then this")]
    assert tasks[0].body == "Body of the first task."
    assert tasks[0].hints == ("one", "two, continued on the next line")
    assert tasks[1].hints == () and tasks[1].body == "Only a body."


@pytest.mark.parametrize(("text", "error"), [
    ("no title\n## Task a: b\n", "no title"),
    ("# T\njust prose\n", "no tasks"),
    ("# T\n## Step one\n", "lab.md:2: '## Step one' is not a task heading"),
    ("# T\n## Task Bad_Id: x\n", "is not a task heading"),
    ("# T\n## Task a: x\n## Task a: y\n", "task 'a' appears twice"),
])
def test_a_malformed_lab_md_says_where_and_what(text, error):
    with pytest.raises(LabError, match=error):
        parse(text)


def test_every_lab_of_the_catalog_is_complete():
    labs = all_labs()
    assert labs, "no labs found"
    for lab in labs:
        assert lab.pattern and lab.stack.startswith("lab-") and lab.stack == lab.stack.lower(), lab.id
        for task in lab.tasks:
            assert task.body and task.hints, f"{lab.id}/{task.id}: a task needs instructions and hints"
            if task.id in lab.solvers:
                continue  # solved by doing (calls, answers), checked live
            # a solution changes the starter (else the starter could not fail its check)
            files = ws.solution_files(lab, [task.id])
            assert any(not (lab.starter / rel).is_file() or (lab.starter / rel).read_bytes() != src.read_bytes()
                       for rel, src in files.items()), f"{lab.id}/{task.id}: the solution changes nothing"


def test_unknown_lab_and_task_list_the_valid_ones():
    with pytest.raises(LabError, match=r"unknown lab 'nope'\. Valid: .*tame-the-poison"):
        get_lab("nope")
    with pytest.raises(LabError, match="has no task 'x'. Valid: partial-batch, dead-letter"):
        get_lab("tame-the-poison").task("x")


def test_progress_survives_a_new_process_and_a_damaged_file_is_explained(tmp_path):
    progress = Progress(tmp_path)
    progress.start("tame-the-poison", tmp_path / "ws")
    progress.record("tame-the-poison", CheckResult("partial-batch", "t", True, "ok"))
    assert progress.reveal_hint("tame-the-poison", "dead-letter", available=2) == 1
    again = Progress(tmp_path)
    assert again.current == "tame-the-poison" and again.passed("tame-the-poison", "partial-batch")
    assert again.task("tame-the-poison", "dead-letter")["hints"] == 1
    assert again.reveal_hint("tame-the-poison", "dead-letter", 2) == 2
    assert again.reveal_hint("tame-the-poison", "dead-letter", 2) == 2  # no more than there are
    again.forget("tame-the-poison")
    assert not Progress(tmp_path).passed("tame-the-poison", "partial-batch")
    assert Progress(tmp_path).workspace("tame-the-poison") == tmp_path / "ws"
    (tmp_path / "labs" / "progress.json").write_text("{not json")
    with pytest.raises(LabError, match="is damaged .*delete it to start over"):
        Progress(tmp_path)


def test_a_workspace_is_created_once_resumed_and_never_overwrites_other_files(tmp_path):
    lab = get_lab("tame-the-poison")
    folder = tmp_path / "ws"
    assert ws.create(lab, folder)
    assert (folder / "template.yaml").read_bytes() == (lab.starter / "template.yaml").read_bytes()
    (folder / "template.yaml").write_text("my edits")
    assert not ws.create(lab, folder) and (folder / "template.yaml").read_text() == "my edits"
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(LabError, match="is not empty: choose another folder with --dir"):
        ws.create(lab, other)
    changed = ws.apply(ws.solution_files(lab, ["partial-batch", "dead-letter"]), folder)
    assert sorted(changed) == ["src/worker/app.py", "template.yaml"]
    assert "maxReceiveCount: 3" in (folder / "template.yaml").read_text()  # the later task's version wins
    ws.restore_starter(lab, folder)
    assert (folder / "template.yaml").read_bytes() == (lab.starter / "template.yaml").read_bytes()
    assert ws.owner(folder) == lab.id


def test_cli_without_a_sandbox_explains_instead_of_a_traceback(tmp_path):
    def run(*args):
        return subprocess.run([str(BIN / "sandbox"), "--state-dir", str(tmp_path), "lab", *args],
                              capture_output=True, text=True, timeout=60)

    listed = run("list", "--json")
    assert listed.returncode == 0 and "tame-the-poison" in [lab["id"] for lab in json.loads(listed.stdout)]
    for args, message in [(("show", "nope"), "unknown lab 'nope'. Valid:"),
                          (("check",), "no lab is started"), (("hint",), "no lab is started"),
                          (("solve", "--yes"), "no lab is started"),
                          (("start", "nope"), "unknown lab 'nope'"),
                          (("start", "tame-the-poison", "--dir", str(tmp_path / "ws")), "No sandbox is running")]:
        done = run(*args)
        assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)

