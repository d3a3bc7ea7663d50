"""Scrolling by key keeps every press: a burst of N arrow keys (as a terminal delivers a held key, several per
frame) moves N steps, and Home/End reach the ends, in the diagram, the help and the scenario's panes. Replay, no
LocalStack."""

from __future__ import annotations

import asyncio

from textual import events
from textual.widgets import TabbedContent

from tests.tui.test_tui import RECORDING, q, replay_loaded, until
from tests.tui.test_tui_patterns import show_pattern
from tui.app import SandboxApp


async def burst(pilot, key: str, times: int) -> None:
    """`times` presses of `key` delivered at once, without waiting between them (pilot.press waits for every
    animation to finish after each key, which hides keys lost to one)."""
    app = pilot.app
    for _ in range(times):
        event = events.Key(key, None)
        event.set_sender(app)
        app._driver.send_message(event)
    await pilot.pause()
    await app.animator.wait_until_complete()
    await pilot.pause()


async def settled(pilot, widget) -> None:
    await until(pilot, lambda: widget.scroll_x == widget.scroll_target_x and widget.scroll_y == widget.scroll_target_y,
                5, "the scroll to settle")


def test_quick_arrow_keys_each_pan_the_diagram_and_end_home_reach_its_edges():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = await show_pattern(pilot, "user-onboarding")
            view = pane.view
            await until(pilot, lambda: view.rendered is not None and view.max_scroll_x > 20, 10, "a wide diagram")
            view.focus()
            await pilot.pause()
            await burst(pilot, "right", 12)
            assert view.scroll_x == 12
            await burst(pilot, "right", 50)
            await settled(pilot, view)
            assert view.scroll_x == min(62, view.max_scroll_x)
            await burst(pilot, "left", 7)
            assert view.scroll_x == min(62, view.max_scroll_x) - 7
            await burst(pilot, "home", 1)
            assert (view.scroll_x, view.scroll_y) == (0, 0)
            await burst(pilot, "end", 1)
            assert view.scroll_x == view.max_scroll_x > 0
            assert view.scroll_y == view.max_scroll_y

    asyncio.run(scenario())


def test_quick_down_keys_each_scroll_the_help():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=(80, 24)) as pilot:
            await replay_loaded(pilot)
            await pilot.press("question_mark")
            await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", 10, "the help")
            scroll = app.screen.query_one("#help-scroll")
            # it opens at the current tab's section (Scenarios: the top)
            await until(pilot, lambda: scroll.max_scroll_y > 40 and app.screen.focused is scroll, 10, "the help laid out")
            await burst(pilot, "home", 1)
            assert scroll.scroll_y == 0
            await burst(pilot, "down", 30)
            assert scroll.scroll_y == 30
            await burst(pilot, "up", 4)
            assert scroll.scroll_y == 26
            await burst(pilot, "end", 1)
            assert scroll.scroll_y == scroll.max_scroll_y

    asyncio.run(scenario())


def test_quick_down_keys_each_scroll_the_scenario_about_and_narrative():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=(80, 24)) as pilot:
            await replay_loaded(pilot)
            pane = app.pane("scenarios")
            tabs = q(app, "#run-tabs", TabbedContent)
            for tab, selector in (("narrative", "#narrative-log"), ("about", "#about-scroll")):
                tabs.active = tab
                view = q(app, selector)
                await until(pilot, lambda: view.max_scroll_y > 12, 10, f"a {tab} longer than its pane")
                view.focus()
                await pilot.pause()
                await burst(pilot, "home", 1)
                assert view.scroll_y == 0, tab
                await burst(pilot, "down", 10)
                assert view.scroll_y == 10, tab
                await burst(pilot, "end", 1)
                assert view.scroll_y == view.max_scroll_y, tab
            assert pane is not None

    asyncio.run(scenario())


def test_quick_down_keys_each_move_the_flow_timeline_and_the_waterfall():
    from tests.tui.test_tui import _open_trace
    from tui.widgets import VirtualList

    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=(120, 36)) as pilot:
            await replay_loaded(pilot)
            await pilot.press("5")
            flow = q(app, "#flow-list", VirtualList)
            await until(pilot, lambda: app.focused is flow, 10, "the timeline focused")
            await burst(pilot, "home", 1)
            await burst(pilot, "down", 30)
            assert flow.cursor == 30
            await _open_trace(pilot)
            spans = q(app, "#trace-spans", VirtualList)
            spans.focus()
            await pilot.pause()
            await burst(pilot, "home", 1)
            await burst(pilot, "down", 5)
            assert spans.cursor == min(5, len(spans.rows) - 1)
            details = q(app, "#span-detail-box")
            details.focus()
            await pilot.pause()
            assert details.max_scroll_y >= 3  # the highlighted span's details scroll by every press too
            await burst(pilot, "down", 3)
            assert details.scroll_y == 3

    asyncio.run(scenario())


def test_quick_down_keys_each_scroll_a_log_lines_details():
    from tests.tui.test_tui import _log_details

    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=(80, 24)) as pilot:
            await replay_loaded(pilot)
            await pilot.press("4")
            await until(pilot, lambda: app.focused is q(app, "#logs-list"), 10, "the log list focused")
            await _log_details(pilot)
            details = q(app, "#logs-detail-box")
            await until(pilot, lambda: details.display and details.max_scroll_y >= 4, 10, "long details")
            details.focus()
            await pilot.pause()
            await burst(pilot, "down", 4)
            assert details.scroll_y == 4

    asyncio.run(scenario())


def test_the_help_lists_the_diagram_pan_keys():
    from tui.help.screen import HelpScreen
    from tui.patterns.pane import PatternsPane

    table = HelpScreen._pane(6, PatternsPane)
    keys = list(table.columns[0]._cells)
    assert "←↓↑→ / hjkl" in keys and "home / end" in keys and "pgup / pgdn" in keys
