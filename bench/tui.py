"""Benchmark of the TUI's key-press latency: an empty app next to one with 100k spans + 100k log lines while a run
streams in, in the same invocation.

    uv run python bench/tui.py [--rows 100000] [--rate 2000] [--presses 20]

Headless (Textual's `run_test`, replay mode: no LocalStack), 120x40, animations off. Three setups, one after the
other: a near-empty app (100 rows each: something to scroll and filter); N synthetic spans and N log lines loaded (the rows of the 100k test); the same while a run is
"replayed at speed" - spans, log lines and the committed recording's scenario events streamed in through the panes'
own pumps at --rate events a second each, as a running scenario's poller would.

A key is sent as the terminal driver sends it (no Pilot waits); its latency is the time until the first frame
composed after the key's effect is in place (Textual's compositor update, `App._display`), i.e. until the screen
reflects it. Keys: tab switch (4 <-> 5), scroll (page up / page down in the Flow timeline), filter ("errors only"
in Flow, on and off, until the filtered rows are shown - a worker thread above 20k rows). Prints p50 / p95 / max.
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

from textual import events  # noqa: E402

from scenarios.events import LogRecorded, SpanRecorded  # noqa: E402
from scenarios.replay import read_events  # noqa: E402
from tests.tui.test_tui import RECORDING, synthetic_logs, synthetic_spans  # noqa: E402
from tui.app import SandboxApp  # noqa: E402
from tui.widgets import VirtualList  # noqa: E402

EMPTY = 100  # spans and log lines of the near-empty app: enough for a page to scroll and an error to filter
SETTLE = 0.05  # seconds between two presses: a user's keys, not a key repeat burst


class Frames:
    """Times of the frames the app composes (headless: composed, not written)."""

    def __init__(self, app: SandboxApp):
        self.times: list[float] = []
        display = app._display

        def timed(screen, renderable) -> None:
            display(screen, renderable)
            if renderable is not None:
                self.times.append(time.perf_counter())

        app._display = timed


async def _until(predicate, timeout: float = 60) -> float:
    """Waits (1 ms steps) until `predicate()`; returns when it first held."""
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.001)
    return time.perf_counter()


async def _press(app: SandboxApp, frames: Frames, key: str, done) -> float:
    """Seconds from sending `key` to the first frame composed once `done()` holds."""
    char = key if len(key) == 1 else None
    started = time.perf_counter()
    app._driver.send_message(events.Key(key, char))
    effective = await _until(done)
    await _until(lambda: frames.times and frames.times[-1] >= effective)
    latency = frames.times[-1] - started
    await asyncio.sleep(SETTLE)
    return latency


async def _stream(app: SandboxApp, rate: int, first_seq: int, stop: asyncio.Event) -> int:
    """Feeds spans, log lines and scenario events through the panes' pumps, `rate` a second each, in 10 batches a
    second (what the pollers do while a scenario runs). Returns how many spans it sent."""
    recorded = [e for e in read_events(RECORDING) if not isinstance(e, (SpanRecorded, LogRecorded))]
    scenarios, flow, logs = app.pane("scenarios"), app.pane("flow"), app.pane("logs")
    batch, sent, i = max(1, rate // 10), 0, 0
    while not stop.is_set():
        spans = synthetic_spans(batch)
        for n, span in enumerate(spans):
            span["seq"] = first_seq + sent + n
        flow.ingest(spans)
        logs.ingest(synthetic_logs(batch))
        scenarios._pump.extend(recorded[i % len(recorded):i % len(recorded) + max(1, batch // 50)])
        sent += batch
        i += max(1, batch // 50)
        await asyncio.sleep(0.1)
    return sent


async def _measure(rows: int, stream_rate: int, presses: int, recording: Path) -> dict[str, list[float]]:
    app = SandboxApp(replay=recording)
    app.animation_level = "none"
    out: dict[str, list[float]] = {"tab switch": [], "scroll (page)": [], "filter (errors only)": []}
    async with app.run_test(size=(120, 40)):
        await _until(lambda: app.backend_ready)
        frames = Frames(app)
        flow = app.main_screen.query_one("#flow-list", VirtualList)
        tabs = app.main_screen.query_one("#main-tabs")
        if rows:
            app.pane("flow").ingest(synthetic_spans(rows))
            app.pane("logs").ingest(synthetic_logs(rows))
            await _until(lambda: len(flow.rows) == rows)
        stop = asyncio.Event()
        streaming = asyncio.create_task(_stream(app, stream_rate, rows + 1, stop)) if stream_rate else None
        await asyncio.sleep(0.5)
        for _ in range(presses // 2):
            for key, tab in (("4", "logs"), ("5", "flow")):
                out["tab switch"].append(await _press(app, frames, key, lambda tab=tab: tabs.active == tab))
        flow.focus()
        await _press(app, frames, "home", lambda: flow.cursor == 0)  # off the newest row: streaming moves it not
        for n in range(presses):
            key = "pagedown" if n % 2 == 0 else "pageup"
            before = flow.cursor
            out["scroll (page)"].append(await _press(app, frames, key, lambda before=before: flow.cursor != before))
        for n in range(max(2, presses // 2)):
            errors_only = n % 2 == 0
            shown = (lambda: 0 < flow.shown_count < len(flow.rows) / 20) if errors_only else \
                (lambda: flow.shown_count > len(flow.rows) * 0.9)
            out["filter (errors only)"].append(await _press(app, frames, "e", shown))
        stop.set()
        if streaming is not None:
            await streaming
    return out


def _row(name: str, columns: list[list[float]]) -> str:
    cells = []
    for values in columns:
        ms = sorted(v * 1000 for v in values)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        cells.append(f"{statistics.median(ms):6.1f} {p95:6.1f} {ms[-1]:6.1f}")
    return f"{name:<22}" + "".join(f"{c:>30}" for c in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="spans and log lines loaded (each)")
    parser.add_argument("--rate", type=int, default=2000, help="spans and log lines a second (each) while streaming")
    parser.add_argument("--presses", type=int, default=20, help="key presses per measure and setup")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "empty.jsonl"
        recording.write_text(json.dumps({"type": "run", "scenario": "synthetic", "ts": 1_800_000_000.0}) + "\n")
        setups = {f"near empty ({EMPTY} rows)": (EMPTY, 0), f"{args.rows:,} loaded": (args.rows, 0),
                  f"{args.rows:,} + {args.rate}/s streaming": (args.rows, args.rate)}
        results = {name: asyncio.run(_measure(rows, rate, args.presses, recording))
                   for name, (rows, rate) in setups.items()}
    print(f"key press -> screen updated, ms (p50 p95 max), {args.presses} presses each")
    print(f"{'':<22}" + "".join(f"{name:>30}" for name in setups))
    for measure in next(iter(results.values())):
        print(_row(measure, [results[name][measure] for name in setups]))


if __name__ == "__main__":
    main()
