"""The Labs tab on the real sandbox: an attendee starts a lab from the tab, fails its check, solves it with the
tab's solve key (answering the question) and sees every task ticked - in the tab, in `sandbox lab`'s progress and
on the instructor's board they joined."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable

from scenarios.labs import Progress, all_labs
from scenarios.workshop import join
from scenarios.workshop.board import Board
from scenarios.workshop.host import BoardServer
from tests.tui.test_tui import plain, until
from tui.app import SandboxApp
from tui.widgets import ConfirmScreen

SIZE = (120, 36)


@pytest.fixture
def attendee(sb, tmp_path, monkeypatch):
    """The session sandbox with no lab progress, run from an empty folder (the workspace default is ./labs/ID)."""
    monkeypatch.chdir(tmp_path)
    labs = sb.settings.state_dir / "labs"
    for name in ("progress.json", "workshop.json"):
        (labs / name).unlink(missing_ok=True)
    yield sb
    for name in ("progress.json", "workshop.json"):
        (labs / name).unlink(missing_ok=True)


def marks(app) -> list[str]:
    table = app.main_screen.query_one("#labs-tasks", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def test_a_lab_is_completed_from_the_labs_tab_and_each_check_reaches_the_board(attendee, tmp_path):
    board = Board({lab.id: tuple(t.id for t in lab.tasks) for lab in all_labs()})
    host = BoardServer(board, "workshop-token").start()
    join.join(attendee.settings.state_dir, host.url, "Ada", "workshop-token")

    async def scenario():
        app = SandboxApp(sandbox=attendee, start_backend=False)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 60, "the sandbox")
            await pilot.press("8")
            pane = app.pane("labs")
            await until(pilot, lambda: pane.catalog, 30, "the list of labs")
            assert pane.showing_catalog
            catalog = app.main_screen.query_one("#labs-catalog", DataTable)
            catalog.move_cursor(row=[lab.id for lab in pane.catalog].index("add-a-route"))
            await pilot.press("s")
            await until(pilot, lambda: not pane.showing_catalog and not pane.busy, 180, "the starter deployed")
            assert (tmp_path / "labs" / "add-a-route" / "template.yaml").is_file()
            assert "Lab: Add a route" in plain(app.main_screen.query_one("#labs-title"))
            assert marks(app) == ["·"]

            # saving a file of the workspace checks again by itself (the watch took the starter as its baseline)
            await until(pilot, lambda: pane.watch.signature is not None, 30, "the watch's baseline")
            template = tmp_path / "labs" / "add-a-route" / "template.yaml"
            template.write_text(template.read_text() + "\n# an attendee's edit\n")
            await until(pilot, lambda: pane.checks and not pane.busy, 180, "a check on saving")
            assert pane.checks == ["saved"] and marks(app) == ["✘"], plain(app.main_screen.query_one("#labs-result"))

            await pilot.press("c")
            await until(pilot, lambda: len(pane.checks) == 2 and not pane.busy, 180, "the check")
            assert pane.checks == ["saved", "c"]
            assert marks(app) == ["✘"]
            result = plain(app.main_screen.query_one("#labs-result"))
            assert "FAIL patch-route" in result and "Method: patch" in result, result
            assert "0/1 tasks passed" in plain(app.main_screen.query_one("#labs-progress"))
            assert [c["state"] for c in board.snapshot()["rows"][0]["cells"]] == ["failed"]

            await pilot.press("h")
            await until(pilot, lambda: pane.hints.get("patch-route"), 30, "a hint")

            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "solve to ask first")
            assert any("template.yaml" in plain(w) for w in app.screen.query("Static"))
            await pilot.press("y")
            await until(pilot, lambda: (pane.results.get("patch-route") or {}).get("passed") and not pane.busy,
                        240, "the solution deployed and checked")
            await until(pilot, lambda: marks(app) == ["✔"], 30, "the task ticked")
            assert "solution applied" in str(app.main_screen.query_one("#labs-tasks", DataTable).get_row_at(0)[1])  # the title column (titles first since a newcomer found them cut)
            assert "1/1 tasks passed" in plain(app.main_screen.query_one("#labs-progress"))
            assert pane.checks == ["saved", "c", "x"]  # no check was started by a check's own traffic

    try:
        asyncio.run(scenario())
    finally:
        host.stop()
    [row] = board.snapshot()["rows"]
    assert (row["name"], row["lab"], row["done"]) == ("Ada", "add-a-route", 1)
    # the CLI's progress is the tab's: `sandbox lab list` shows it done
    assert Progress(attendee.settings.state_dir).passed("add-a-route", "patch-route")
