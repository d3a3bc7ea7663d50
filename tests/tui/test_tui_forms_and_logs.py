"""The TUI, continued: the add-fault form (focus, deployed functions, refusing unknown ones, EVERY function asks
first), the TUI's own polling kept out of the recorded traffic and the cost, function logs read while the Logs tab
is hidden and shown at the newest line, and the hint on leaving a sandbox the TUI started."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

from textual.widgets import Input, Select, Static

from sandbox.faults import TEMPLATES
from tests.tui.test_tui import RECORDING, SIZE, in_thread, plain, q, synthetic_logs, until
from tui.app import SandboxApp
from tui.backend import ReplayBackend
from tui.faults.add_fault import AddFaultScreen
from tui.widgets import VirtualList

DEPLOYED = ["media-pipeline-IngestFunction-76760eee", "media-pipeline-TranscodeFunction-1a2b3c4d"]


class Targets:
    """What the add-fault form asks a live backend: the deployed functions and the services."""

    live = True
    region = "us-east-1"

    def __init__(self, functions=DEPLOYED, services=("dynamodb", "lambda", "s3", "sqs")):
        self._functions, self._services = list(functions), list(services)
        self.asked = 0

    def functions(self):
        self.asked += 1
        return self._functions

    def services(self):
        return self._services


async def open_form(pilot, template: str, backend=None) -> tuple[AddFaultScreen, list]:
    """The form over a replay app (no LocalStack), with `template` chosen and the targets loaded."""
    app = pilot.app
    await until(pilot, lambda: app.backend_ready, 30, "the recording")
    results: list = []
    form = AddFaultScreen(TEMPLATES, backend=backend or Targets())
    app.push_screen(form, results.append)
    await until(pilot, lambda: app.screen is form and form.query_one("#fault-template", Select), 10, "the form")
    form.query_one("#fault-template", Select).value = template
    await until(pilot, lambda: form.template == template and form.query(".param"), 10, "the template's fields")
    await until(pilot, lambda: form.known["functions"] is not None, 10, "the deployed functions")
    form.query_one("#fault-template", Select).focus()
    await pilot.pause()
    return form, results


def text_of(form, selector: str) -> str:
    return plain(form.query_one(selector, Static))


# --- the add-fault form, without LocalStack -------------------------------------------------------------------
def test_tab_goes_to_the_first_field_and_an_unknown_function_is_refused_with_the_deployed_ones():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            form, results = await open_form(pilot, "lambda-errors")
            assert DEPLOYED[0] in text_of(form, "#hint-function"), "the deployed functions are listed"
            await pilot.press("tab")
            assert app.focused is form.query_one("#param-function", Input), app.focused
            await pilot.press(*"IngestFunction")
            assert form.query_one("#param-function", Input).value == "IngestFunction", "nothing typed is lost"
            await pilot.press("ctrl+s")
            await pilot.pause()
            error = text_of(form, "#fault-error")
            assert "no Lambda function 'IngestFunction' in us-east-1" in error, error
            assert f"did you mean {DEPLOYED[0]}?" in error.replace("\n", ""), error
            box, apply = form.query_one("#add-fault-box"), form.query_one("#apply")
            assert box.region.contains_region(apply.region), "the buttons stay in view"
            assert app.screen is form and results == [], "the form stays open"
            # the suggester completes a deployed name (right arrow accepts)
            field = form.query_one("#param-function", Input)
            field.value = ""
            await pilot.press(*"media-pipeline-Ing")
            await until(pilot, lambda: field._suggestion == DEPLOYED[0], 10, "the completion")
            await pilot.press("right")
            assert field.value == DEPLOYED[0]
            assert text_of(form, "#fault-error").strip() == "", "a change clears the error"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: results, 10, "the form to close")
            assert results == [("lambda-errors", {"function": DEPLOYED[0]})]

    asyncio.run(scenario())


def test_a_function_arn_or_one_in_another_region_is_left_to_the_sandbox():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            form, results = await open_form(pilot, "lambda-crash")
            arn = f"arn:aws:lambda:us-east-1:000000000000:function:{DEPLOYED[1]}"
            form.query_one("#param-function", Input).value = arn
            await pilot.press("ctrl+s")
            await until(pilot, lambda: results, 10, "the form to close")
            assert results == [("lambda-crash", {"function": arn})]
            form, results = await open_form(pilot, "lambda-crash")
            form.query_one("#param-function", Input).value = "elsewhere"
            form.query_one("#param-region", Input).value = "eu-west-1"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: results, 10, "the form to close")
            assert results == [("lambda-crash", {"function": "elsewhere", "region": "eu-west-1"})]

    asyncio.run(scenario())


def test_every_function_is_said_and_confirmed_before_it_is_applied():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            form, results = await open_form(pilot, "lambda-timeout")
            assert "applies to EVERY function" in text_of(form, "#fault-scope")
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "ctrl+s again to apply it to EVERY function" in text_of(form, "#fault-error")
            assert app.screen is form and results == []
            # a change in between asks again
            await pilot.press("tab", "x", "backspace")
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is form and results == []
            await pilot.press("ctrl+s")
            await until(pilot, lambda: results, 10, "the form to close")
            assert results == [("lambda-timeout", {})]
            # named: no EVERY, no confirmation
            form, results = await open_form(pilot, "lambda-timeout")
            form.query_one("#param-function", Input).value = DEPLOYED[1]
            await pilot.pause()
            assert "EVERY" not in text_of(form, "#fault-scope")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: results, 10, "the form to close")
            assert results == [("lambda-timeout", {"function": DEPLOYED[1]})]

    asyncio.run(scenario())


def test_a_service_fault_offers_the_services():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            form, results = await open_form(pilot, "throttling")
            await pilot.press("tab")
            field = form.query_one("#param-service", Input)
            assert app.focused is field
            assert "dynamodb" in text_of(form, "#hint-service")
            await pilot.press(*"dyn")
            await until(pilot, lambda: field._suggestion == "dynamodb", 10, "the completion")
            await pilot.press("right", "ctrl+s")
            await until(pilot, lambda: results, 10, "the form to close")
            assert results == [("throttling", {"service": "dynamodb"})]

    asyncio.run(scenario())


def test_a_rule_the_sandbox_refuses_is_said_in_the_form_which_stays_open_with_what_was_typed():
    """The form closed on ctrl+s and the sandbox's refusal ("unknown service 'dynamodbb'") came as a toast: what was
    typed was lost. A live backend now applies the rule from the form, which closes only once it is in."""
    class Refusing(Targets):
        def __init__(self):
            super().__init__()
            self.applied = []

        def apply_fault(self, template, params):
            if params.get("service") != "dynamodb":
                raise ValueError(f"unknown service '{params.get('service')}' (did you mean 'dynamodb'?)")
            self.applied.append((template, params))

    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            backend = Refusing()
            form, results = await open_form(pilot, "throttling", backend=backend)
            await pilot.press("tab", *"dynamodbb", "ctrl+s")
            await until(pilot, lambda: "unknown service 'dynamodbb'" in text_of(form, "#fault-error"), 10,
                        "the refusal in the form")
            assert app.screen is form and results == [] and backend.applied == []
            field = form.query_one("#param-service", Input)
            assert field.value == "dynamodbb", "what was typed is kept"
            await pilot.press("backspace", "ctrl+s")
            await until(pilot, lambda: results, 10, "the form to close")
            assert results == [("throttling", {"service": "dynamodb"}, True)]
            assert backend.applied == [("throttling", {"service": "dynamodb"})]

    asyncio.run(scenario())


# --- the add-fault form on the live sandbox -------------------------------------------------------------------
def test_add_fault_form_refuses_a_function_that_is_not_deployed(sb, helpers):
    fn = helpers.create_function(sb, "def handler(event, context):\n    return 1\n",
                                 name=helpers.unique("media-pipeline-IngestFunction"))

    async def scenario():
        app = SandboxApp(sandbox=sb)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 60, "the sandbox to be ready")
            await pilot.press("3", "a")
            await until(pilot, lambda: isinstance(app.screen, AddFaultScreen), 10, "the add-fault form")
            form = app.screen
            form.query_one("#fault-template", Select).value = "lambda-errors"
            await until(pilot, lambda: form.query("#param-function"), 10, "the function field")
            await until(pilot, lambda: form.known["functions"] == [fn], 30, "the deployed functions")
            running = {n for n, state in (await in_thread(sb.status))["services"].items() if state == "running"}
            services = form.known["services"]
            assert "lambda" in running and set(services[:len(running)]) == running, "services in use first"
            form.query_one("#fault-template", Select).focus()
            await pilot.press("tab", *"IngestFunction", "ctrl+s")
            await until(pilot, lambda: "no Lambda function 'IngestFunction'" in text_of(form, "#fault-error"), 10,
                        "the refusal")
            assert fn in text_of(form, "#fault-error").replace("\n", "")
            assert await in_thread(sb.faults.lambda_faults) == []
            form.query_one("#param-function", Input).value = fn
            await pilot.press("ctrl+s")
            rules = await until(pilot, lambda: sb.faults.lambda_faults(), 20, "the rule in the sandbox")
            assert [(r.get("function"), r["fault"]) for r in rules] == [(fn, "error")]
        sb.faults.clear()

    try:
        asyncio.run(scenario())
    finally:
        sb.faults.clear()


# --- the TUI's own reads are not traffic ----------------------------------------------------------------------
def test_the_tui_polling_is_platform_noise_and_costs_nothing(sb, helpers):
    sqs = sb.client("sqs")
    dlq = sqs.create_queue(QueueName=helpers.unique("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(QueueName=helpers.unique("jobs"), Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})
    fn = helpers.create_function(sb, "def handler(event, context):\n    print('tui-noise-probe')\n")
    helpers.invoke(sb, fn)
    helpers.wait_for(lambda: "tui-noise-probe" in helpers.log_text(sb, fn), message="the function's log")
    cursor = sb.observe.cursor()
    since_ts = time.time()

    async def scenario():
        app = SandboxApp(sandbox=sb)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 60, "the sandbox to be ready")
            for key in ("2", "4", "6", "3", "5", "7"):
                await pilot.press(key)
                await pilot.pause(1.5)
            logs = q(app, "#logs-list", VirtualList)
            await until(pilot, lambda: any("tui-noise-probe" in r.message for r in logs.rows), 30, "the log line")
            await until(pilot, lambda: any(d.arn == dlq_arn for d in app.pane("dlq").queues), 30, "the DLQ")

    asyncio.run(scenario())
    spans = sb.events(since=cursor, limit=10_000, all=True)["events"]
    seen = {(s["service"], s["operation"]) for s in spans}
    assert {("sqs", "ListQueues"), ("lambda", "ListFunctions"), ("logs", "DescribeLogGroups"),
            ("logs", "FilterLogEvents"), ("cloudformation", "DescribeStacks")} <= seen, seen
    visible = [(s["service"], s["operation"], s["caller"]["kind"]) for s in spans if not s["noise"]]
    assert visible == [], f"the TUI's own reads showed up as traffic: {visible}"
    assert sb.events(since=cursor, limit=10_000)["events"] == []
    cost = sb.cost(since_ts=since_ts)
    assert cost["lines"] == [] and cost["total"] == 0, cost["lines"]


# --- logs ------------------------------------------------------------------------------------------------------
def test_function_logs_are_read_while_the_logs_tab_is_hidden(sb, helpers):
    name = helpers.create_function(sb, "def handler(event, context):\n    print('read-while-hidden')\n")

    async def scenario():
        app = SandboxApp(sandbox=sb)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 60, "the sandbox to be ready")
            await in_thread(helpers.invoke, sb, name)
            view = q(app, "#logs-list", VirtualList)
            await until(pilot, lambda: any("read-while-hidden" in r.message for r in view.rows), 60,
                        "the line, with the Logs tab never shown")
            assert q(app, "#main-tabs").active == "scenarios"
            # a reset (every scenario variant does one) deletes the log group; the poller goes on (the tab still
            # hidden): a function deployed again under the same name (a new log group, same name) is read too,
            # and the line read before the reset is kept, once
            await in_thread(sb.reset)
            assert await in_thread(helpers.log_text, sb, name) == "", "the reset deleted the log group"
            await in_thread(lambda: helpers.create_function(
                sb, "def handler(event, context):\n    print('read-after-reset')\n", name=name))
            await in_thread(helpers.invoke, sb, name)
            await until(pilot, lambda: any("read-after-reset" in r.message for r in view.rows), 60,
                        "the line written after the reset, with the Logs tab never shown")
            assert q(app, "#main-tabs").active == "scenarios"
            assert sum("read-while-hidden" in r.message for r in view.rows) == 1

    asyncio.run(scenario())


class QuietReplay(ReplayBackend):
    """A recording without logs of its own: the test feeds the Logs view."""

    def poll_logs(self, cursor):
        return [], "end"


def test_following_logs_show_the_newest_line_when_first_shown():
    async def scenario():
        app = SandboxApp(backend=QuietReplay(RECORDING))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 30, "the recording")
            view, pane = q(app, "#logs-list", VirtualList), app.pane("logs")
            lines = synthetic_logs(48)
            pane.ingest(lines[:10])  # some while hidden
            await until(pilot, lambda: len(view.rows) == 10, 10, "the lines ingested while hidden")
            assert q(app, "#main-tabs").active != "logs"
            await pilot.press("4")
            pane.ingest(lines[10:])  # the rest as the tab appears, before it has its size
            await until(pilot, lambda: len(view.rows) == 48, 10, "the lines")

            def at_newest() -> bool:
                return view.max_scroll_y > 0 and view.scroll_offset.y == view.max_scroll_y

            await until(pilot, lambda: view.size.height and at_newest(), 10, "the view at the newest line")
            assert view.follow and "48 lines · following" in str(q(app, "#logs-count").render())
            # resized: still at the newest line (once the view has its new height)
            height = view.size.height
            await pilot.resize_terminal(100, 40)
            await until(pilot, lambda: view.size.height > height and at_newest(), 10,
                        "the taller view at the newest line")
            await pilot.resize_terminal(*SIZE)
            await until(pilot, lambda: view.size.height == height and at_newest(), 10,
                        "the view, its height back, at the newest line")
            # not following (scrolled up by hand): left where it is
            await pilot.press("home")
            await until(pilot, lambda: not view.follow and view.scroll_offset.y == 0, 10, "the view at the top")
            pane.ingest(synthetic_logs(5))
            await until(pilot, lambda: len(view.rows) == 53, 10, "the 5 new lines")
            await pilot.pause()  # the refresh after they arrived (it would scroll a following view)
            assert not view.follow and view.scroll_offset.y == 0

    asyncio.run(scenario())


# --- leaving the TUI -------------------------------------------------------------------------------------------
def _pretend_the_tui_starts_the_sandbox(monkeypatch, started: bool):
    """LiveBackend.start as on a machine where no sandbox runs (started=True) or one already does."""
    import sandbox.api
    import sandbox.embedded

    inst = SimpleNamespace(endpoint="http://127.0.0.1:4599")
    monkeypatch.setattr(sandbox.api.Sandbox, "is_running", lambda self: not started)
    monkeypatch.setattr(sandbox.api.Sandbox, "up", lambda self, **kw: (inst, 1.0, started))
    monkeypatch.setattr(sandbox.embedded.EmbeddedBackend, "instance", lambda self: inst)

    def fake_run(self, *args, **kwargs):
        self.backend.start(lambda line: None)

    monkeypatch.setattr(SandboxApp, "run", fake_run)


def test_leaving_a_sandbox_the_tui_started_says_it_still_runs(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from sandbox.cli import main

    _pretend_the_tui_starts_the_sandbox(monkeypatch, started=True)
    result = CliRunner().invoke(main, ["--state-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (f"sandbox still running at http://127.0.0.1:4599 — "
                                      f"`uv run sandbox --state-dir {tmp_path.resolve()} down` stops it")
    result = CliRunner().invoke(main, ["tui"])  # the default state dir needs no option
    assert result.output.strip() == "sandbox still running at http://127.0.0.1:4599 — `uv run sandbox down` stops it"


def test_leaving_a_sandbox_that_was_already_running_says_nothing(monkeypatch, tmp_path, capsys):
    from click.testing import CliRunner

    from sandbox.cli import main
    from tui.app import main as tui_main

    _pretend_the_tui_starts_the_sandbox(monkeypatch, started=False)
    result = CliRunner().invoke(main, ["--state-dir", str(tmp_path)])
    assert result.exit_code == 0 and result.output == "", result.output
    tui_main([])
    assert capsys.readouterr().out == ""
    _pretend_the_tui_starts_the_sandbox(monkeypatch, started=True)
    tui_main([])
    assert "sandbox still running at http://127.0.0.1:4599" in capsys.readouterr().out
