"""SVG screenshots of the TUI's screens from a recording (for the docs): `python -m tui.screenshots OUT_DIR [FILE]`.

Replay mode, so no LocalStack is needed and the pictures do not depend on when they were taken.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from textual.widgets import DataTable, TabbedContent

from tui.app import SandboxApp
from tui.backend import ReplayBackend, record_lab_progress, workshop_board
from tui.widgets import VirtualList
from tui.workshop.app import BoardApp

# A run of today's code (`sandbox scenario run workflow-retries --variant all --seed 1`): the docs show what a run
# shows now. The tests replay their own, older recording (tests/data/), whose ids they name.
DEFAULT_RECORDING = Path(__file__).resolve().parent.parent / "docs" / "recordings" / "workflow-retries.jsonl"
SIZE = (110, 32)


async def _until(pilot, predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - not mounted yet
            pass
        await pilot.pause(0.1)
    raise TimeoutError("the recording did not load")


async def take(out: Path, recording: Path, size: tuple[int, int] = SIZE) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    app = SandboxApp(replay=recording)
    async with app.run_test(size=size) as pilot:
        screen = lambda: app.main_screen  # noqa: E731
        await _until(pilot, lambda: app.backend_ready and
                     screen().query_one("#report-table", DataTable).row_count > 0 and
                     screen().query_one("#cost-lines", DataTable).row_count > 0)
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)

        def save(name: str) -> None:
            path = out / f"{name}.svg"
            app.save_screenshot(str(path))
            saved.append(path)

        tabs = screen().query_one("#run-tabs", TabbedContent)
        for inner, name in (("narrative", "scenarios-narrative"), ("checks", "scenarios-checks"),
                            ("report", "scenarios-before-after")):
            tabs.active = inner
            await pilot.pause(0.3)
            save(name)
        await pilot.press("5")
        await pilot.press("slash", *"sfn-execution", "enter")
        await pilot.pause(0.3)
        await pilot.press("home", "down", "down", "enter")
        await _until(pilot, lambda: screen().query_one("#flow-trace").trace is not None)
        await pilot.pause(0.3)
        save("flow-trace")
        await pilot.press("4")
        await pilot.press("slash", *"Welcome email failed", "enter")
        await pilot.pause(0.3)
        await pilot.press("home", "enter")
        await pilot.pause(0.3)
        save("logs")
        for key, name in (("6", "patterns"), ("7", "cost")):
            await pilot.press(key)
            await pilot.pause(0.5)
            save(name)
        await pilot.press("question_mark")
        await pilot.pause(0.3)
        save("help")
        assert screen().query_one("#flow-list", VirtualList).rows
    return saved


async def take_labs(out: Path, recording: Path, size: tuple[int, int] = SIZE) -> list[Path]:
    """The Labs tab with a lab half done (a saved progress, no sandbox), from a scratch folder as workspace."""
    previous = Path.cwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            record_lab_progress(Path(scratch) / "state", "tame-the-poison", Path(scratch) / "labs" / "tame-the-poison",
                                [("partial-batch", True, "9 good jobs transcoded once each; the poison upload failed "
                                                         "alone"),
                                 ("dead-letter", False, "the jobs queue has no dead-letter queue: the poison upload is "
                                                        "received again and again. Give it a RedrivePolicy.")])
            app = SandboxApp(backend=ReplayBackend(recording, labs_state=Path(scratch) / "state"))
            async with app.run_test(size=size) as pilot:
                await _until(pilot, lambda: app.backend_ready)
                await pilot.press("8")
                await _until(pilot, lambda: app.pane("labs").status is not None)
                await pilot.pause(0.5)
                path = out / "labs.svg"
                app.save_screenshot(str(path))
        finally:
            os.chdir(previous)
    return [path]


class _Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def take_board(out: Path, size: tuple[int, int] = (110, 20)) -> list[Path]:
    """The instructor's board with four attendees at different points (reports as `sandbox lab check` sends)."""
    clock = _Clock()
    board = workshop_board(clock)

    def report(name: str, lab: str, *results: tuple[str, bool]) -> None:
        board.record({"name": name, "lab": lab, "results": [{"task": t, "passed": p, "at": clock.now}
                                                              for t, p in results]})

    report("Ada Lovelace", "tame-the-poison", ("partial-batch", True))
    report("Grace Hopper", "first-api", ("create-and-read", False))
    clock.now += 6 * 60
    report("Alan Turing", "tame-the-poison", ("partial-batch", True), ("dead-letter", True))
    report("Edsger Dijkstra", "first-api", ("create-and-read", True))
    clock.now += 8 * 60
    app = BoardApp(board, "http://192.168.1.20:8700", "q8Zr0-example-token", refresh=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        path = out / "board.svg"
        app.save_screenshot(str(path))
    return [path]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.exit("usage: python -m tui.screenshots OUT_DIR [RECORDING]")
    recording = Path(argv[1]).resolve() if len(argv) > 1 else DEFAULT_RECORDING
    out = Path(argv[0]).resolve()
    for path in asyncio.run(take(out, recording)) + asyncio.run(take_labs(out, recording)) + \
            asyncio.run(take_board(out)):
        print(path)


if __name__ == "__main__":
    main()
