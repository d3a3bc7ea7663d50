"""Logs and Flow on the committed recording (no LocalStack): `t` follows a line of any runtime form to its
invocation's trace."""

from __future__ import annotations

import asyncio

from sandbox.logs import LogLine
from tests.tui.test_tui import RECORDING, SIZE, active_tab, plain, q, until
from tui.app import SandboxApp
from tui.format import span_line
from tui.widgets import VirtualList

# A recorded invocation of the recording (tests/data/replay-workflow-retries.jsonl): its lambda-exec span, and
# the lines its function logged (START, a Powertools line, a traceback, END, REPORT).
FUNCTION = "/aws/lambda/user-onboarding-SendWelcomeEmailFunction-4aeebd12"
RECORDED_RID = "6d658455-c3b3-4fd7-9868-e01ad3feaaee"


async def _loaded(pilot) -> tuple[VirtualList, VirtualList]:
    app = pilot.app
    await until(pilot, lambda: app.backend_ready, 30, "the recording")
    logs, flow = q(app, "#logs-list", VirtualList), q(app, "#flow-list", VirtualList)
    await until(pilot, lambda: logs.rows and flow.rows, 30, "the recorded lines and spans")
    return logs, flow


async def _trace_from(pilot, view: VirtualList, line: LogLine) -> dict:
    """Presses t on `line` in the Logs tab; the span the opened trace highlights."""
    app = pilot.app
    await pilot.press("4")
    view.focus()
    view.move_to(next(i for i in range(view.shown_count) if view.shown_row(i) is line))
    waterfall = q(app, "#flow-trace")
    before = waterfall.trace
    await pilot.press("t")
    await until(pilot, lambda: active_tab(app) == "flow" and waterfall.trace is not None
                and waterfall.trace is not before
                and waterfall.rows.highlighted is not None, 20, "the trace")
    return waterfall.rows.highlighted


def test_t_on_a_timeout_line_or_a_traceback_lands_on_its_invocation():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            logs, _ = await _loaded(pilot)
            # the runtime's timeout line: "<time> <request id> Task timed out after ..." (space-separated)
            timeout = LogLine(1795761661.5, FUNCTION,
                              f"2026-11-27T06:41:01.500Z {RECORDED_RID} Task timed out after 3.00 seconds")
            app.pane("logs").ingest([timeout])
            await until(pilot, lambda: logs.rows[-1] is timeout, 10, "the timeout line")
            span = await _trace_from(pilot, logs, timeout)
            assert (span.get("hop"), span.get("request_id")) == ("lambda-exec", RECORDED_RID)
            # a traceback line names no id: it belongs to the invocation whose START comes before it
            traceback = next(line for line in logs.rows if line.group == FUNCTION
                             and line.message.startswith("[ERROR] TransientEmailError"))
            assert traceback.request_id is None
            span = await _trace_from(pilot, logs, traceback)
            assert (span.get("hop"), span.get("request_id")) == ("lambda-exec", RECORDED_RID)

    asyncio.run(scenario())


def test_errors_only_leaves_out_the_existence_probes_a_deploy_makes():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            _, flow = await _loaded(pilot)
            await pilot.press("5")
            await pilot.press("n")  # platform noise too: the recorded HeadBucket/HeadObject probes are noise
            await until(pilot, lambda: flow.shown_count == len(flow.rows), 10, "every span")
            probe = next(s for s in flow.rows if s.get("operation") == "DescribeStacks" and s.get("error"))
            assert "does not exist" in probe["error"]["message"]
            shown = [flow.shown_row(i) for i in range(flow.shown_count)]
            assert probe in shown, "the full list keeps the probe"
            assert "ValidationError probe" in span_line(probe, app.clock, 160).plain, "marked as an expected probe"
            # its trace does not count it as an error either
            flow.focus()
            flow.move_to(shown.index(probe))
            await pilot.press("enter")
            waterfall = q(app, "#flow-trace")
            await until(pilot, lambda: waterfall.trace is not None, 10, "the probe's trace")
            title = plain(q(app, "#trace-title"))
            assert "0 error(s)" in title and "1 expected probe(s)" in title, title
            await pilot.press("escape")
            await pilot.press("e")
            await until(pilot, lambda: flow.shown_count < len(flow.rows), 10, "the errors-only filter")
            shown = [flow.shown_row(i) for i in range(flow.shown_count)]
            what = {(s["service"], s["operation"], s["error"]["code"]) for s in shown}
            probes = {"DescribeStacks", "HeadBucket", "HeadObject", "CreateLogGroup"}
            assert not {op for _, op, _ in what} & probes, what
            assert ("ses", "SendEmail", "ServiceUnavailable") in what, "real failures stay"
            assert ("lambda", "Execute", "TransientEmailError") in what, what

    asyncio.run(scenario())


def _starts(flow: VirtualList) -> list[float]:
    return [flow.shown_row(i)["ts"] for i in range(flow.shown_count)]


def test_flow_rows_are_in_start_order_as_labelled_and_a_late_span_goes_where_it_started():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            _, flow = await _loaded(pilot)
            await pilot.press("5")
            pane = app.pane("flow")
            starts = _starts(flow)
            assert starts == sorted(starts), "the timeline is in the order of the times it shows"
            # A long span arrives after shorter ones that started later (the recorder sends a span when it ends).
            flow.focus()
            flow.move_to(5)
            cursor_row = flow.highlighted
            late = dict(flow.rows[10], span_id="late0000000000000", ts=flow.rows[10]["ts"] + 0.0001,
                        duration_ms=60_000.0)
            pane.ingest([late])
            await until(pilot, lambda: late in flow.rows, 10, "the late span")
            assert _starts(flow) == sorted(_starts(flow))
            assert flow.rows.index(late) == 11 and flow.highlighted is cursor_row, "the cursor keeps its row"
            # With a filter on, the late span is placed among the shown rows too.
            await pilot.press("slash", *"lambda", "enter")
            await until(pilot, lambda: 0 < flow.shown_count < len(flow.rows), 10, "the filter")
            shown = flow.shown_count
            late_lambda = dict(next(s for s in flow.rows if s["service"] == "lambda"), span_id="late1111111111111",
                               duration_ms=60_000.0)
            late_lambda["ts"] += 0.0001
            late_s3 = dict(late_lambda, service="s3", span_id="late2222222222222")
            pane.ingest([late_lambda, late_s3])
            await until(pilot, lambda: late_s3 in flow.rows, 10, "the late spans")
            assert flow.shown_count == shown + 1 and _starts(flow) == sorted(_starts(flow))
            assert late_lambda in [flow.shown_row(i) for i in range(flow.shown_count)]

    asyncio.run(scenario())


def test_flow_says_the_sandbox_is_not_answering_and_carries_on_when_it_is_back():
    """After `sandbox down` the Flow tab said "recorder not available ... it needs the sandbox's embedded backend" and
    stopped polling for good: a later `sandbox up` never showed again. Not answering is a pause, not an end."""
    from tui.backend import NotAnswering, ReplayBackend

    class Restarting(ReplayBackend):
        live = True  # polls as for a live sandbox: the recording's spans once it answers again

        def __init__(self, path):
            super().__init__(path)
            self.calls = 0

        def poll_events(self, cursor, wait=1.0):
            self.calls += 1
            if self.calls == 1:
                raise NotAnswering("the sandbox is not answering (ConnectionError)")
            return super().poll_events(cursor, wait) if self.calls == 2 else ([], cursor)

    async def scenario():
        backend = Restarting(RECORDING)
        app = SandboxApp(backend=backend)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 30, "the backend")
            notice, flow = q(app, "#flow-notice"), q(app, "#flow-list", VirtualList)
            await until(pilot, lambda: backend.calls >= 1, 10, "a poll")
            await until(pilot, lambda: notice.display and "not answering" in plain(notice), 10,
                        "the notice")
            await until(pilot, lambda: flow.rows and not notice.display, 15, "the spans once it answers again")
            assert flow.display

    asyncio.run(scenario())


def test_a_stopped_sandbox_is_not_answering_and_a_missing_recorder_is_unavailable():
    import requests

    from tui.backend import NotAnswering, Unavailable, _recorder_error

    stopping = requests.HTTPError("503 Server Error")
    stopping.response = type("R", (), {"status_code": 503})()
    assert isinstance(_recorder_error(requests.ConnectionError("refused")), NotAnswering)
    assert isinstance(_recorder_error(stopping), NotAnswering)
    assert isinstance(_recorder_error(ValueError("no observability API")), Unavailable)
