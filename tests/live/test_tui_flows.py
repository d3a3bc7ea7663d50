"""Workshop flows across several TUI screens, driven with keys like an attendee, against the session sandbox."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from textual.widgets import DataTable, Label, OptionList, RichLog, Select, Static, Switch, TabbedContent

from tests.tui.test_tui import SIZE, active_tab, in_thread, q, until
from tui.app import SandboxApp

POISON_KEY = "batch/new-format.mp4"
KEEPS = "without the redrive every parked message still waits in the DLQ"
REDRIVES = "messages left in the DLQ after the fix and the redrive"


def _outputs(sb, stack: str) -> dict:
    return next(s["outputs"] for s in sb.stacks() if s["name"] == stack)


def _job_status(sb, table: str, key: str) -> str | None:
    items = sb.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
    return next((i["status"]["S"] for i in items if i.get("key", {}).get("S") == key), None)


async def until_in_thread(pilot, fn, timeout: float, what: str, step: float = 0.5):
    """Like `until`, for a predicate that calls the sandbox (run off the event loop, so the app stays live)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await in_thread(fn)
        if last:
            return last
        await pilot.pause(step)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def test_poison_message_from_the_scenarios_screen_then_its_message_in_the_dlq_screen(sb):
    async def scenario():
        app = SandboxApp(sandbox=sb)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 60, "the sandbox to be ready")
            assert active_tab(app) == "scenarios"

            # --- Scenarios: poison-message, variant fixed, redrive off, run --------------------------------
            pane = app.pane("scenarios")
            catalog = q(app, "#catalog", OptionList)
            await until(pilot, lambda: pane.scenarios, 30, "the scenario catalog")
            catalog.focus()
            catalog.highlighted = next(i for i, s in enumerate(pane.scenarios) if s.id == "poison-message")
            await until(pilot, lambda: pane.selected and pane.selected.id == "poison-message", 10, "selection")
            scenario = pane.selected
            variant = q(app, "#variant", Select)
            for _ in range(len(scenario.variants) + 1):  # v cycles broken, fixed, all
                if variant.value == "fixed":
                    break
                await pilot.press("v")
            assert variant.value == "fixed"

            await pilot.press("p")
            await until(pilot, lambda: type(app.screen).__name__ == "ScenarioParamsScreen", 10, "the params form")
            switch = app.screen.query_one("#param-redrive", Switch)
            assert switch.value is True  # the default
            while app.focused is not switch:  # the form opens on its first field (good); tab to the switch
                await pilot.press("tab")
                assert app.focused is not None and app.focused.id != "apply", "tabbed past the redrive switch"
            await pilot.press("space")
            assert switch.value is False
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen is app.main_screen, 10, "the form to close")
            assert pane.params_of(scenario) == {"redrive": "false"}
            assert "redrive=false" in str(q(app, "#run-status", Label).render())

            await pilot.press("r")  # a run resets the sandbox: it asks first, saying what goes (#14, 1)
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the reset confirmation")
            await pilot.press("y")
            await until(pilot, lambda: pane.running, 10, "the run to start")
            checklist = q(app, "#checklist", DataTable)
            names = [str(checklist.get_cell(row, "name")) for row in checklist.rows]
            assert KEEPS in names and REDRIVES not in names, names  # planned from the parameters
            report = q(app, "#report-table", DataTable)
            await until(pilot, lambda: not pane.running and report.row_count > 0, 300, "the report")
            status = str(q(app, "#run-status", Label).render())
            assert "all expectations met" in status, status
            names = [str(checklist.get_cell(row, "name")) for row in checklist.rows]
            marks = [str(checklist.get_cell(row, "mark")) for row in checklist.rows]
            assert KEEPS in names and REDRIVES not in names, names
            assert "status of the redriven job" not in names, names
            assert len(names) >= 5 and set(marks) == {"✔"}, list(zip(marks, names))
            assert {str(checklist.get_cell(row, "variant")) for row in checklist.rows} == {"fixed"}
            narrative = "\n".join(line.text for line in q(app, "#narrative-log", RichLog).lines)
            assert "redrive=false:" in narrative and "removed stack media-batch-worker" in narrative, narrative[-2000:]

            out = await in_thread(_outputs, sb, "media-pipeline")
            dlq_arn, jobs_table = out["DeadLetterQueueArn"], out["JobsTableName"]
            jobs_queue = out["JobsQueueArn"].rsplit(":", 1)[-1]
            # the scenario left the poison job failed and its message parked
            assert await in_thread(_job_status, sb, jobs_table, POISON_KEY) == "FAILED"

            # --- DLQ: find the pattern's DLQ, peek, redrive ----------------------------------------------
            await pilot.press("2")
            assert active_tab(app) == "dlq"
            dlq = app.pane("dlq")
            queues = q(app, "#dlq-queues", DataTable)
            await until(pilot, lambda: any(d.arn == dlq_arn and d.depth == 1 for d in dlq.queues), 30,
                        "the media-pipeline DLQ with depth 1")
            assert app.focused is queues
            target = next(i for i, d in enumerate(dlq.queues) if d.arn == dlq_arn)
            for _ in range(len(dlq.queues)):
                if queues.cursor_row == target:
                    break
                await pilot.press("down" if queues.cursor_row < target else "up")
            assert dlq.selected_queue.arn == dlq_arn
            assert jobs_queue in str(queues.get_cell_at((queues.cursor_row, 4)))  # fed by the jobs queue

            await pilot.press("p")
            messages = q(app, "#dlq-messages", DataTable)
            await until(pilot, lambda: messages.row_count == 1, 30, "the peeked message")
            detail = str(q(app, "#dlq-detail").render())
            assert POISON_KEY in detail, detail
            receives = re.search(r"receives before this peek (\d+)", detail)
            assert receives and int(receives.group(1)) >= 3, detail  # maxReceiveCount receives, then the DLQ

            await pilot.press("d")
            confirm = await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen" and app.screen, 10,
                                  "the confirmation")
            assert f"back to {jobs_queue}" in " ".join(str(w.render()) for w in confirm.query(Static))
            await pilot.press("y")
            await until(pilot, lambda: any(d.arn == dlq_arn and d.depth == 0 for d in dlq.queues), 60,
                        "an empty DLQ in the table")
            # the run ended by handing the queue back to the pattern's worker (the scenario's own is removed), which
            # transcodes any file not marked POISON: the new-format upload is transcoded at last
            await until_in_thread(pilot, lambda: _job_status(sb, jobs_table, POISON_KEY) == "DONE", 90,
                                  f"the job for {POISON_KEY} to be DONE")
            assert q(app, "#main-tabs", TabbedContent).active == "dlq"

        assert sb.dlq.get(dlq_arn.rsplit(":", 1)[-1]).depth == 0

    asyncio.run(scenario())
