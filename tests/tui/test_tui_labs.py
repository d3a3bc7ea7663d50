"""The Labs tab without LocalStack: the catalog from a recording, a started lab's progress from a real progress
file (scenarios.labs.LabSession, no deploy), and the watch that decides when to check again."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable

from tests.tui.test_tui import RECORDING, plain, until
from tui.app import SandboxApp
from tui.backend import ReplayBackend, record_lab_progress
from tui.labs.messages import LabChecked
from tui.labs.watch import SETTLE, WatchState

SIZE = (120, 36)


def started_backend(tmp_path, monkeypatch) -> ReplayBackend:
    """A recording for the other tabs, and a lab's saved progress (nothing checks or deploys here)."""
    monkeypatch.chdir(tmp_path)
    record_lab_progress(tmp_path / "state", "tame-the-poison", tmp_path / "labs" / "tame-the-poison", [
        ("partial-batch", True, "9 good jobs transcoded once each; the poison upload failed alone"),
        ("dead-letter", False, "the jobs queue has no dead-letter queue: the poison upload is received again and "
                               "again. Add a RedrivePolicy with maxReceiveCount 3.")])
    return ReplayBackend(RECORDING, labs_state=tmp_path / "state")


async def labs_shown(pilot, app) -> None:
    await until(pilot, lambda: app.backend_ready, 30, "the recording")
    await pilot.press("8")
    pane = app.pane("labs")
    await until(pilot, lambda: pane.catalog and pane.status is not None, 30, "the lab's progress")
    await pilot.pause(0.3)


def test_a_started_lab_shows_its_tasks_ticked_its_progress_and_the_selected_tasks_instructions(tmp_path, monkeypatch):
    async def scenario():
        app = SandboxApp(backend=started_backend(tmp_path, monkeypatch))
        async with app.run_test(size=SIZE) as pilot:
            await labs_shown(pilot, app)
            screen = app.main_screen
            table = screen.query_one("#labs-tasks", DataTable)
            assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["✔", "✘"]
            assert "1/2 tasks passed" in plain(screen.query_one("#labs-progress"))
            assert "labs/tame-the-poison" in plain(screen.query_one("#labs-progress"))
            # the cursor starts on the first task not passed yet, with its instructions and last result
            assert table.cursor_row == 1
            assert "FAIL dead-letter" in plain(screen.query_one("#labs-result"))
            assert "## Task dead-letter: Park the poison after three tries" in screen.query_one("#labs-doc")._markdown
            await pilot.press("up")
            await until(pilot, lambda: "PASS partial-batch" in plain(screen.query_one("#labs-result")), 10,
                        "the first task's result")
            # a check from the CLI (the same progress file) shows when the tab is shown again
            record_lab_progress(tmp_path / "state", "tame-the-poison", tmp_path / "labs" / "tame-the-poison",
                                [("dead-letter", True, "the poison upload landed in the DLQ after 3 tries")])
            await pilot.press("1", "8")
            await until(pilot, lambda: [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["✔", "✔"],
                        10, "the CLI's result")
            assert "2/2 tasks passed" in plain(screen.query_one("#labs-progress"))
            # l lists every lab (to switch)
            await pilot.press("l")
            await until(pilot, lambda: app.pane("labs").showing_catalog, 10, "the list of labs")
            assert screen.query_one("#labs-catalog", DataTable).row_count >= 6
            # actions that need the live sandbox say so instead of failing
            await pilot.press("c")
            await until(pilot, lambda: any("live sandbox" in str(n.message) for n in app._notifications), 10,
                        "the refusal")

    asyncio.run(scenario())


def test_without_a_lab_the_tab_lists_the_labs_with_the_highlighted_ones_instructions():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 30, "the recording")
            await pilot.press("8")
            pane = app.pane("labs")
            await until(pilot, lambda: pane.catalog, 30, "the labs")
            assert pane.showing_catalog
            await pilot.press("down")
            await until(pilot, lambda: "# Add a route" in app.main_screen.query_one("#labs-doc")._markdown, 10,
                        "the highlighted lab's instructions")
            assert "s starts it" in plain(app.main_screen.query_one("#labs-result")) or \
                "press s" in plain(app.main_screen.query_one("#labs-result"))

    asyncio.run(scenario())


def test_snapshot_labs_tab(snap_compare, tmp_path, monkeypatch):
    app = SandboxApp(backend=started_backend(tmp_path, monkeypatch))
    assert snap_compare(app, terminal_size=SIZE, run_before=lambda pilot: labs_shown(pilot, app))


class Traffic:
    """What the watch asks of a backend: the workspace's signature and the recorder's new spans."""

    def __init__(self):
        self.signature = ("a",)
        self.spans: list[dict] = []

    def lab_workspace_signature(self, folder):
        return self.signature

    def poll_events(self, cursor, wait=0):
        spans, self.spans = self.spans, []
        return spans, (cursor or 0) + len(spans)


def test_the_watch_checks_again_on_a_saved_file_or_outside_traffic_but_not_on_a_checks_own():
    watch, backend = WatchState(), Traffic()
    backend.spans = [{"ts": 1.0, "parent_id": None}]  # the recorder's past
    assert watch.poll(backend, "ws", 100.0) is None
    backend.signature = ("b",)
    assert watch.poll(backend, "ws", 101.0) == "saved"
    assert watch.poll(backend, "ws", 102.0) is None
    watch.checked("ws")  # a check ran: what it deployed is the baseline, its traffic is settling
    settled = watch.quiet_until
    backend.signature = ("c",)  # e.g. the check's deploy touched the workspace
    backend.spans = [{"ts": settled - 1, "parent_id": None}]
    assert watch.poll(backend, "ws", settled - 1) is None
    backend.spans = [{"ts": settled + 1, "parent_id": "abc"}, {"ts": settled + 1, "noise": True}]
    assert watch.poll(backend, "ws", settled + 1) is None  # hops inside the app, platform noise
    backend.spans = [{"ts": settled + 2, "parent_id": None}]
    assert watch.poll(backend, "ws", settled + 2) == "traffic"
    assert SETTLE > 0


def test_a_checks_answer_shows_its_marks_and_the_solution_applied_together(tmp_path, monkeypatch):
    """After `x` the check's answer carries the progress it left: the tick and "(solution applied)" appear in one
    step, not the tick first and the word after a reload of the progress file (a live test once saw the gap)."""
    async def scenario():
        app = SandboxApp(backend=started_backend(tmp_path, monkeypatch))
        async with app.run_test(size=SIZE) as pilot:
            await labs_shown(pilot, app)
            pane = app.pane("labs")
            pane._reload_status = lambda: None  # the reload that used to bring the word: not made here
            status = {**pane.status, "tasks": [dict(t) for t in pane.status["tasks"]]}
            status["tasks"][1].update(passed=True, solved=True, message="parked after 3 tries")
            pane.post_message(LabChecked([{"task": "dead-letter", "passed": True, "message": "parked after 3 tries",
                                           "title": status["tasks"][1]["title"]}], None, "x", None, status))
            table = app.main_screen.query_one("#labs-tasks", DataTable)
            await until(pilot, lambda: str(table.get_row_at(1)[0]) == "✔", 10, "the tick")
            assert "solution applied" in str(table.get_row_at(1)[1])
            assert "solution applied" not in str(table.get_row_at(0)[1])
            assert "2/2 tasks passed" in plain(app.main_screen.query_one("#labs-progress"))

    asyncio.run(scenario())
