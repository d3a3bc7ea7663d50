"""The command palette finds things (tui/palette.py): a scenario to run, a DLQ, a pattern to deploy, a recent trace,
fault actions. Each test types into the palette as a user would, picks the hit, and looks at the screen it leads to.

Replay tests need no LocalStack; the live ones use the session sandbox (a DLQ, the run and deploy confirmations).
"""

from __future__ import annotations

import asyncio
import json
import threading

from textual.command import CommandList, CommandPalette
from textual.widgets import OptionList

from tests.tui.test_tui import RECORDING, active_tab, q, replay_loaded, until
from tui.app import SandboxApp
from tui.backend import Backend
from tui.palette import recent_traces
from tui.widgets import VirtualList

SIZE = (110, 32)


def _hits(app) -> list[str]:
    if not isinstance(app.screen, CommandPalette):
        return []
    commands = app.screen.query_one(CommandList)
    return [str(commands.get_option_at_index(i).hit.text) for i in range(commands.option_count)]


async def _search(pilot, query: str) -> None:
    app = pilot.app
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), 10, "the command palette")
    await pilot.press(*query)


async def _searched(pilot) -> None:
    """Waits until every provider has answered (the palette's busy countdown is gone): the hits stay put."""
    await pilot.pause(0.3)
    await until(pilot, lambda: pilot.app.screen._busy_timer is None, 20, "the palette's search to end")


async def pick(pilot, query: str, title: str) -> None:
    """Types `query` into the palette, moves down to the hit titled `title` and presses enter."""
    app = pilot.app
    await _search(pilot, query)
    await _searched(pilot)
    hits = await until(pilot, lambda: title in _hits(app) and _hits(app), 15, f"the hit {title!r}")
    commands = app.screen.query_one(CommandList)
    steps = hits.index(title) - (-1 if commands.highlighted is None else commands.highlighted)
    for _ in range(abs(steps)):
        await pilot.press("down" if steps > 0 else "up")
    await until(pilot, lambda: commands.highlighted is not None and
                str(commands.get_option_at_index(commands.highlighted).hit.text) == title, 5, f"{title!r} highlighted")
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette), 10, "the palette to close")


async def nothing_for(pilot, query: str, prefix: str) -> list[str]:
    """The palette's hits for `query` once it has answered; asserts none starts with `prefix`; closes it."""
    app = pilot.app
    await _search(pilot, query)
    await _searched(pilot)
    hits = _hits(app)
    assert not [h for h in hits if h.startswith(prefix)], hits
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette), 10, "the palette to close")
    return hits


def test_recent_traces_are_the_newest_distinct_ones_without_noise():
    spans = [{"trace_id": "a"}, {"trace_id": "b"}, {"trace_id": "a", "seq": 3}, {"trace_id": "c", "noise": True},
             {"trace_id": None}]
    assert [s["trace_id"] for s in recent_traces(spans)] == ["a", "b"]
    assert recent_traces(spans)[0].get("seq") == 3  # the newest span of the trace
    assert len(recent_traces([{"trace_id": str(i)} for i in range(100)], limit=5)) == 5


# --- replay: no LocalStack -------------------------------------------------------------------------------------
def test_palette_opens_a_recent_trace_in_flow():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            await replay_loaded(pilot)
            rows = q(app, "#flow-list", VirtualList).rows
            newest = recent_traces(rows)[0]
            trace_id = newest["trace_id"]
            await pick(pilot, trace_id[-12:], f"Trace {trace_id}" + (" ✗" if newest.get("error") else ""))
            waterfall = q(app, "#flow-trace")
            await until(pilot, lambda: active_tab(app) == "flow" and waterfall.trace is not None, 15, "the waterfall")
            assert {s.get("trace_id") for s in waterfall.trace["spans"]} == {trace_id}
            # Over a dialog (here the help screen) an entry does nothing but say so: nothing is stacked on it.
            await pilot.press("escape", "1")
            await until(pilot, lambda: active_tab(app) == "scenarios", 5, "the Scenarios tab")
            await pilot.press("question_mark")
            await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", 5, "the help screen")
            await pick(pilot, trace_id[-12:], f"Trace {trace_id}" + (" ✗" if newest.get("error") else ""))
            await pilot.pause(0.3)
            assert type(app.screen).__name__ == "HelpScreen" and active_tab(app) == "scenarios"

    asyncio.run(scenario())


def test_palette_in_replay_shows_the_scenario_and_offers_no_changes():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            await replay_loaded(pilot)
            await pilot.press("2")
            await until(pilot, lambda: active_tab(app) == "dlq", 5, "the DLQ tab")
            await pick(pilot, "workflow", "Open scenario workflow-retries")
            await until(pilot, lambda: active_tab(app) == "scenarios", 10, "the Scenarios tab")
            assert app.pane("scenarios").selected.id == "workflow-retries"
            assert app.screen is app.main_screen  # nothing asked: a recording cannot run
            # A recording cannot run, deploy, change faults; it has no live DLQs.
            for query, prefix in (("Run", "Run "), ("Deploy", "Deploy "), ("Fault", "Fault:"), ("DLQ", "Open DLQ")):
                await nothing_for(pilot, query, prefix)
            assert not app.pane("scenarios").running

    asyncio.run(scenario())


# --- live: the session sandbox ---------------------------------------------------------------------------------
def _dlq(sb, helpers) -> str:
    sqs = sb.client("sqs")
    dlq = helpers.unique("palette-dlq")
    dlq_url = sqs.create_queue(QueueName=dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(QueueName=helpers.unique("palette-src"),
                     Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})
    return dlq


def test_palette_finds_dlqs_scenarios_patterns_and_faults_on_the_live_sandbox(sb, helpers):
    async def scenario():
        app = SandboxApp(sandbox=sb)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 60, "the sandbox to be ready")
            await until(pilot, lambda: app.pane("scenarios").scenarios and app.pane("patterns").patterns, 30,
                        "the catalog and the patterns")
            # A DLQ created after the TUI started (its tab never shown): the palette reads the list when it opens.
            name = _dlq(sb, helpers)
            await pick(pilot, name, f"Open DLQ {name}")
            dlq = app.pane("dlq")
            await until(pilot, lambda: active_tab(app) == "dlq" and dlq.selected_queue is not None
                        and dlq.selected_queue.name == name, 20, "the DLQ tab on the queue")
            # Run a scenario: the Scenarios tab on it, and the same confirmation as r (here: no).
            scenarios = app.pane("scenarios")
            scenarios.query_one("#catalog-search").value = "media"  # a filter that hides it is cleared
            await pick(pilot, "Run retry-storm", "Run retry-storm")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 30, "the run confirmation")
            assert active_tab(app) == "scenarios" and scenarios.selected.id == "retry-storm"
            assert "retry-storm" in app.screen.title_text
            assert scenarios.query_one("#catalog", OptionList).highlighted_option.id == "retry-storm"
            await pilot.press("n")
            await until(pilot, lambda: app.screen is app.main_screen, 10, "the confirmation to close")
            assert not scenarios.running
            # Deploy a pattern: the Patterns tab on it, and its confirmation (no).
            await pick(pilot, "Deploy stream", "Deploy stream-audit")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the deploy confirmation")
            patterns = app.pane("patterns")
            assert active_tab(app) == "patterns" and patterns.selected.name == "stream-audit"
            assert "Deploy stream-audit" in app.screen.title_text
            await pilot.press("n")
            await until(pilot, lambda: app.screen is app.main_screen, 10, "the confirmation to close")
            assert patterns.operation is None  # nothing deployed
            # Nothing is deployed: nothing to destroy.
            await nothing_for(pilot, "Destroy", "Destroy ")
            # Faults: the add form opens on the Faults tab.
            await pick(pilot, "Fault: add", "Fault: add")
            await until(pilot, lambda: type(app.screen).__name__ == "AddFaultScreen", 10, "the add-fault form")
            assert active_tab(app) == "faults"
            await pilot.press("escape")

    asyncio.run(scenario())


def test_palette_offers_destroy_for_a_deployed_pattern(sb):
    """A stack deployed behind the TUI's back (its Patterns tab never shown since): the palette reads the stacks
    when it opens, offers "Destroy crud-api", and picking it asks as x does."""
    async def scenario():
        app = SandboxApp(sandbox=sb)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 60, "the sandbox to be ready")
            await until(pilot, lambda: app.pane("patterns").patterns, 30, "the patterns")
            await asyncio.get_running_loop().run_in_executor(None, sb.deploy, "crud-api")
            await pick(pilot, "Destroy crud", "Destroy crud-api")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 20, "the destroy confirmation")
            assert active_tab(app) == "patterns" and app.pane("patterns").selected.name == "crud-api"
            assert app.screen.title_text == "Destroy crud-api"
            await pilot.press("n")
            await until(pilot, lambda: app.screen is app.main_screen, 10, "the confirmation to close")
            assert any(s["name"] == "crud-api" for s in sb.stacks())  # still there: the answer was no

    asyncio.run(scenario())


class _SlowRecorder(Backend):
    """A live sandbox whose recorder is slow to answer: the Patterns tab's first refresh has not drawn anything yet."""

    live, label = True, "fake"

    def __init__(self):
        self.release = threading.Event()

    def start(self, on_progress) -> str:
        return "fake backend"

    def graph(self, since_ts=None) -> dict:
        self.release.wait(30)
        return {"nodes": [], "edges": []}


def test_deploy_entries_are_in_the_palette_from_the_start():
    """A fresh TUI, ctrl+p, "crud": "No matches found" until the Patterns tab had been opened once."""
    async def scenario():
        backend = _SlowRecorder()
        app = SandboxApp(backend=backend)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: app.backend_ready and app.screen is app.main_screen, 10, "the main screen")
                await _search(pilot, "crud")
                await _searched(pilot)
                assert "Deploy crud-api" in _hits(app), _hits(app)
        finally:
            backend.release.set()

    asyncio.run(scenario())
