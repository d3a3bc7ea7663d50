"""Benchmark of the TUI with big views: how long key presses and filters take with 0 and with N spans + N log lines.

    uv run python bench/tui.py [--rows 100000]

Headless (Textual's `run_test`, replay mode: no LocalStack), on the same synthetic rows as the 100k test. Prints
one table, empty views next to full ones: the latency of a tab switch, a cursor move, and an "errors only"
filter (which runs in a worker thread above 20k rows) until its result is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_tui import synthetic_logs, synthetic_spans  # noqa: E402
from tui.app import SandboxApp  # noqa: E402
from tui.widgets import VirtualList  # noqa: E402


async def _wait(pilot, predicate, timeout: float = 60) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")
        await pilot.pause(0.005)


async def _measure(rows: int, recording: Path) -> dict[str, float]:
    app = SandboxApp(replay=recording)
    app.animation_level = "none"  # the pilot waits for animations (the tab underline); measure the work only
    out: dict[str, list[float]] = {"tab switch": [], "cursor move": [], "errors-only filter": []}
    async with app.run_test(size=(120, 40)) as pilot:
        await _wait(pilot, lambda: app.backend_ready)
        flow = app.main_screen.query_one("#flow-list", VirtualList)
        if rows:
            spans = synthetic_spans(rows)
            app.pane("flow").ingest(spans)
            app.pane("logs").ingest(synthetic_logs(rows))
            await _wait(pilot, lambda: len(flow.rows) == rows)
        tabs = app.main_screen.query_one("#main-tabs")
        for _ in range(5):
            for key, tab in (("4", "logs"), ("5", "flow")):
                started = time.perf_counter()
                await pilot.press(key)
                await _wait(pilot, lambda tab=tab: tabs.active == tab)
                out["tab switch"].append(time.perf_counter() - started)
        flow.focus()
        for _ in range(10):
            before = flow.cursor
            started = time.perf_counter()
            await pilot.press("up")
            await _wait(pilot, lambda before=before: flow.cursor != before or before <= 0)
            out["cursor move"].append(time.perf_counter() - started)
        errors = sum(1 for s in flow.rows if s.get("error"))
        for _ in range(3):
            started = time.perf_counter()
            await pilot.press("e")  # errors only
            await _wait(pilot, lambda: flow.shown_count == errors)
            out["errors-only filter"].append(time.perf_counter() - started)
            await pilot.press("e")  # and back
            await _wait(pilot, lambda: flow.shown_count == len(flow.rows))
    return {name: statistics.median(values) * 1000 for name, values in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "empty.jsonl"
        recording.write_text(json.dumps({"type": "run", "scenario": "synthetic", "ts": 1_800_000_000.0}) + "\n")
        empty = asyncio.run(_measure(0, recording))
        full = asyncio.run(_measure(args.rows, recording))
    print(f"{'median ms':<22}{'empty views':>14}{f'{args.rows:,} rows each':>20}")
    for name in empty:
        print(f"{name:<22}{empty[name]:>14.1f}{full[name]:>20.1f}")


if __name__ == "__main__":
    main()
