"""Every lab on the real sandbox: its starter fails each check with the expected message, its solution passes.

Each test is an attendee: start (the starter deployed into a workspace), check, solve, check again.
"""

from __future__ import annotations

import json

import pytest

from scenarios.labs import LabSession, Progress
from scenarios.labs.context import CheckContext
from scenarios.labs.kits import media

FAILED_KEYS = ["setup/summer.2025.mp4", "setup/cat.on.a.sofa.mp4", "setup/v2.final.mp4"]


@pytest.fixture
def lab_session(sb, tmp_path):
    """A session with its own progress file and workspace folder; the sandbox emptied before."""
    return LabSession(sb, Progress(tmp_path / "state"))


def _failing(results, expected: dict[str, str]):
    for result in results:
        assert not result.passed, f"{result.task_id} passed on the starter: {result.message}"
        assert expected[result.task_id] in result.message, result.message


def test_tame_the_poison_starter_fails_and_solution_passes(lab_session, tmp_path, sb):
    lab_session.start("tame-the-poison", tmp_path / "ws")
    cursor = sb.observe.cursor()
    results = lab_session.check(all_tasks=True)
    # the check's reads of the jobs table are noise, not the attendee's traffic: they were "external -> JobsTable
    # GetItem x1517" in the service map and billed (found by a newcomer); its uploads are traffic
    checked = sb.events(since=cursor, limit=5000)["events"]
    assert not [s for s in checked if s["service"] == "dynamodb" and s["operation"] == "GetItem"
                and (s.get("caller") or {}).get("kind") == "external"], "the check's reads were recorded as traffic"
    assert [s for s in checked if s["service"] == "s3" and s["operation"] == "PutObject"]
    _failing(results, {"partial-batch": "good jobs were transcoded more than once",
                       "dead-letter": "the jobs queue has no dead-letter queue"})
    assert results[0].details["transcoded_twice"] >= 1
    lab_session.solve()
    results = lab_session.check(all_tasks=True)
    assert all(r.passed for r in results), [r.as_dict() for r in results]
    assert results[1].details["max_receive_count"] == 3 and results[1].details["poison_attempts"] == 3


def test_add_a_route_starter_fails_and_solution_passes(lab_session, tmp_path):
    lab_session.start("add-a-route", tmp_path / "ws")
    [result] = lab_session.check()
    assert not result.passed and "add an event with Method: patch" in result.message, result.message
    # half done: the route in the template, no handler yet - the check says which half is missing
    lab = lab_session.current()[0]
    (tmp_path / "ws" / "template.yaml").write_bytes((lab.solution("patch-route") / "template.yaml").read_bytes())
    [result] = lab_session.check()
    assert not result.passed and "it has no PATCH route" in result.message, result.message
    lab_session.solve("patch-route")
    [result] = lab_session.check()
    assert result.passed, result.as_dict()
    assert result.details == {"patch_existing": 200, "patch_unknown": 404, "bad_bodies": {
        "not JSON": 400, "no payload": 400, "a payload that is not an object": 400, "an empty payload": 400}}


def test_first_api_starter_fails_and_solution_passes(lab_session, tmp_path):
    lab_session.start("first-api", tmp_path / "ws")
    results = lab_session.check(all_tasks=True)
    _failing(results, {"create-and-read": "no POST /items answered 201 yet (the function has not been called): "
                                          "create an item with a JSON body {\"payload\": {...}} at http://",
                       "find-the-trace": "answers.md has no correlation id, no trace id, no lambda request id yet"})
    assert "/items (this lab's stack, lab-first-api; calls to another stack's API do not count)" in \
        results[0].message, results[0].message
    lab_session.solve("create-and-read")
    [result] = lab_session.check()
    assert result.passed, result.as_dict()
    # a wrong answer is caught: a trace of another request
    lab_session.solve()
    answers = tmp_path / "ws" / "answers.md"
    right = answers.read_text()
    lab = lab_session.current()[0]
    api_id = lab_session._outputs(lab)["ApiUrl"].split("/_aws/execute-api/")[1].split("/")[0]
    other = lab_session.sb.events(service="apigateway", limit=200)["events"]  # the create-and-read calls
    wrong_trace = next(s["trace_id"] for s in other if s["trace_id"] not in right and s.get("operation") == "Execute"
                       and (s.get("resource_name") or "").startswith(api_id))
    answers.write_text(right.replace(right.split("trace id: ")[1].split("\n")[0], wrong_trace))
    [result] = lab_session.check("find-the-trace")
    assert not result.passed and "is another request than the one with correlation id" in result.message, result.message
    answers.write_text(right)
    results = lab_session.check(all_tasks=True)
    assert all(r.passed for r in results), [r.as_dict() for r in results]


def test_redrive_after_fix_starter_fails_and_solution_passes(lab_session, tmp_path):
    lab_session.start("redrive-after-fix", tmp_path / "ws")  # the morning: three jobs dead-lettered
    results = lab_session.check(all_tasks=True)
    _failing(results, {"fix-the-bug": "2 of 3 uploads still fail: holiday.2025.mp4 -> ValueError: too many values",
                       "redrive": "the dead-letter queue still holds 3 failed job(s): redrive them"})
    # redriven before the fix: back in the DLQ, and the check says why
    lab, _ = lab_session.current()
    ctx = CheckContext(lab_session.sb, lab, tmp_path / "ws", lab_session._outputs(lab))
    lab_session.sb.dlq.redrive(ctx.output("DeadLetterQueueUrl"))
    failed_again = ctx.wait_until(lambda: all(job["attempts"] == 6 for job in media.jobs(ctx, FAILED_KEYS).values())
                                  and set(FAILED_KEYS) <= set(media.parked_keys(ctx, ctx.output("DeadLetterQueueUrl"))),
                                  timeout=90)
    assert failed_again, media.jobs(ctx, FAILED_KEYS)
    [result] = lab_session.check("redrive")
    assert not result.passed and "redriven and failed again: deploy the fix first" in result.message, result.message
    lab_session.solve()
    results = lab_session.check(all_tasks=True)
    assert all(r.passed for r in results), [r.as_dict() for r in results]


def test_the_cli_as_an_attendee_sees_it(sb, tmp_path):
    """start, a broken template, reset, check, hint, solve declined, an unknown task: clear words, right exit codes,
    never a traceback; progress is in the state directory, so a new process (a new shell) knows it."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    shutil.rmtree(sb.settings.state_dir / "labs", ignore_errors=True)
    bin_dir = Path(sys.executable).parent
    folder = tmp_path / "ws"

    def run(*args, stdin=""):
        done = subprocess.run([str(bin_dir / "sandbox"), "--state-dir", str(sb.settings.state_dir), "lab", *args],
                              capture_output=True, text=True, timeout=300, input=stdin)
        assert "Traceback" not in done.stderr, done.stderr
        return done

    try:
        started = run("start", "tame-the-poison", "--dir", str(folder))
        assert started.returncode == 0 and f"created workspace {folder}" in started.stdout, started.stderr
        (folder / "template.yaml").write_text("Resources: [oops\n")
        broken = run("check", "dead-letter")
        assert broken.returncode == 1 and f"your workspace {folder} does not deploy" in broken.stderr
        assert "Fix template.yaml" in broken.stderr
        assert run("reset", "--yes").returncode == 0
        assert (folder / "template.yaml").read_text().startswith("AWSTemplateFormatVersion")
        checked = run("check", "dead-letter")
        assert checked.returncode == 1 and "FAIL dead-letter" in checked.stdout
        assert "the jobs queue has no dead-letter queue" in checked.stdout
        assert [run("hint", "dead-letter").stdout.count("hint ") for _ in range(2)] == [1, 2]
        declined = run("solve", "dead-letter", stdin="n\n")
        assert declined.returncode == 1 and "nothing changed" in declined.stdout
        assert "template.yaml" in declined.stdout and "src/worker/app.py" in declined.stdout
        assert (folder / "template.yaml").read_text() == (
            Path(__file__).parents[2] / "scenarios/labs/tame-the-poison/starter/template.yaml").read_text()
        unknown = run("check", "nope")
        assert unknown.returncode == 1 and "has no task 'nope'. Valid: partial-batch, dead-letter" in unknown.stderr
        again = run("start", "tame-the-poison", "--dir", str(folder))
        assert again.returncode == 0 and "kept your existing workspace" in again.stdout
        listed = json.loads(run("list", "--json").stdout)
        assert [lab["passed"] for lab in listed if lab["id"] == "tame-the-poison"] == [0]
        shown = run("show")
        assert shown.returncode == 0 and "Task 2 dead-letter" in shown.stdout
    finally:
        shutil.rmtree(sb.settings.state_dir / "labs", ignore_errors=True)


def test_idempotent_worker_starter_fails_and_solution_passes(lab_session, tmp_path):
    lab_session.start("idempotent-worker", tmp_path / "ws")
    [result] = lab_session.check()
    assert not result.passed and "jobs were transcoded more than once" in result.message, result.message
    assert "visibility timeout (1 s) is shorter than a transcode (3 s)" in result.message
    # the other accepted cure: a visibility timeout longer than the work
    template = tmp_path / "ws" / "template.yaml"
    template.write_text(template.read_text().replace("VisibilityTimeout: 1 ", "VisibilityTimeout: 60 "))
    [result] = lab_session.check()
    assert result.passed and "the visibility timeout (60 s) outlasts the work" in result.message, result.as_dict()
    lab_session.solve()
    [result] = lab_session.check()
    assert result.passed and "the worker is idempotent" in result.message, result.as_dict()
    assert result.details["attempts"] == [1] * 6 and result.details["visibility_timeout"] == 1


def test_retries_that_help_starter_fails_and_solution_passes(lab_session, tmp_path):
    lab_session.start("retries-that-help", tmp_path / "ws")
    results = lab_session.check(all_tasks=True)
    _failing(results, {"retry-transient": "SendWelcomeEmail has no Retry for TransientEmailError",
                       "compensate": "2 of 2 failed onboardings left their user record behind"})
    assert lab_session.sb.faults.lambda_faults() == []  # the check's outage is lifted however it ends
    # a retry without jitter is not enough
    machine = tmp_path / "ws" / "statemachine" / "onboarding.asl.json"
    lab_session.solve("retry-transient", deploy=False)
    machine.write_text(machine.read_text().replace('"JitterStrategy": "FULL"', '"JitterStrategy": "NONE"'))
    [result] = lab_session.check("retry-transient")
    assert not result.passed and "JitterStrategy FULL" in result.message, result.message
    lab_session.solve()
    results = lab_session.check(all_tasks=True)
    assert all(r.passed for r in results), [r.as_dict() for r in results]
    assert results[1].details["bounce_attempts"] == [1, 1]


def test_tame_the_poison_tells_half_fixes_apart(lab_session, tmp_path):
    """batchItemFailures returned but not asked for (no FunctionResponseTypes): Lambda deletes the poison message as
    if it had succeeded. A DLQ after 10 receives: the wrong number, and why."""
    lab_session.start("tame-the-poison", tmp_path / "ws")
    lab, folder = lab_session.current()
    (folder / "src/worker/app.py").write_bytes((lab.solution("partial-batch") / "src/worker/app.py").read_bytes())
    [result] = lab_session.check("partial-batch")
    assert not result.passed and "the poison upload was tried once and never again" in result.message, result.message
    assert "FunctionResponseTypes: [ReportBatchItemFailures]" in result.message
    template = (lab.solution("dead-letter") / "template.yaml").read_text()
    (folder / "template.yaml").write_text(template.replace("maxReceiveCount: 3", "maxReceiveCount: 10"))
    [result] = lab_session.check("dead-letter")
    assert not result.passed and result.message.startswith("maxReceiveCount is 10: a poison upload costs 10 "
                                                           "invocations"), result.message


def test_two_attendees_checks_reach_the_instructors_board_on_loopback(sb, tmp_path):
    """Two attendees (their own progress and workspaces) join a board on loopback; each check reports its results."""
    from scenarios.labs import all_labs
    from scenarios.workshop import join
    from scenarios.workshop.board import Board
    from scenarios.workshop.host import BoardServer

    board = Board({lab.id: tuple(t.id for t in lab.tasks) for lab in all_labs()})
    host = BoardServer(board, "room-token").start()
    try:
        ada, bob = (LabSession(sb, Progress(tmp_path / name)) for name in ("ada", "bob"))
        join.join(tmp_path / "ada", host.url, "Ada", "room-token")
        join.join(tmp_path / "bob", host.url, "Bob", "room-token")
        ada.start("add-a-route", tmp_path / "ada-ws")
        [failed] = ada.check()
        assert not failed.passed and ada.reported.startswith("reported to the board"), ada.reported
        bob.start("add-a-route", tmp_path / "bob-ws")
        bob.solve()
        [passed] = bob.check()
        assert passed.passed, passed.as_dict()
    finally:
        host.stop()
    rows = {row["name"]: row for row in board.snapshot()["rows"]}
    assert [c["state"] for c in rows["Ada"]["cells"]] == ["failed"] and rows["Ada"]["done"] == 0
    assert [c["state"] for c in rows["Bob"]["cells"]] == ["passed"] and rows["Bob"]["done"] == 1
