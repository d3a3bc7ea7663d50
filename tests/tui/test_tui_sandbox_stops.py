"""What a newcomer at a real terminal met: the sandbox stopped from another terminal (`sandbox down`) under an open
TUI, `q` during a scenario run, and a TUI that started the sandbox beside a state saved by `up --persist`.

Fake live backends, no LocalStack: the sandbox "stops" when the test says so.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from textual.widgets import Button, OptionList, Static

from scenarios import events as ev
from tests.tui.test_tui import plain, q, until
from tui.app import SandboxApp
from tui.backend import Backend, LiveBackend

SIZE = (120, 36)
DOWN = ("No sandbox is running at http://127.0.0.1:4566; this state dir's sandbox last ran on port 4755: "
        "`sandbox up --port 4755` starts it there again.")


class _Runner:
    """A run that goes on until stopped; then it says so as the runner does (Stopped, the rest not run)."""

    def __init__(self, variants, listener):
        self.variants, self.listener = list(variants), listener
        self.stop_event = threading.Event()
        self.recording = Path("/tmp/runs/20990101-000000-poison-message.jsonl")
        self.stopped = self.ran = False

    def run(self, variants):
        self.ran = True  # the real runner opens its recording here
        self.stop_event.wait(30)
        self.stopped = True
        self.listener(ev.Stopped(variant=self.variants[0], step=1, not_run=self.variants[1:]))
        return []

    def stop(self):
        self.stop_event.set()


class Stoppable(Backend):
    """A live sandbox that answers until `running` is set False (`sandbox down` in another terminal)."""

    live, label = True, "embedded · http://127.0.0.1:4755"

    def __init__(self):
        self.running = True
        self.runs: list = []
        self.runners: list[_Runner] = []

    def start(self, on_progress) -> str:
        return "fake backend"

    def is_running(self) -> bool:
        return self.running

    def not_running_message(self) -> str:
        return DOWN

    def _answer(self):
        if not self.running:
            raise ConnectionError("Connection refused")

    def reset_impact(self) -> dict:
        self._answer()
        return {}

    def dlqs(self) -> list:
        self._answer()
        return []

    def stacks(self) -> list[dict]:
        self._answer()
        return []

    def runner(self, scenario, variants, listener, params=None):
        self.runs.append((scenario.id, list(variants)))
        self.runners.append(_Runner(variants, listener))
        return self.runners[-1]


async def _ready(pilot, app):
    pane = app.pane("scenarios")
    await until(pilot, lambda: app.backend_ready and pane.scenarios and pane.selected and pane.ready, 30,
                "the catalog")
    await until(pilot, lambda: app.screen is app.main_screen, 10, "the main screen")
    q(app, "#catalog", OptionList).focus()
    await pilot.pause()
    return pane


def _messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


# --- 1. the sandbox stopped from another terminal ------------------------------------------------------------
def test_a_sandbox_stopped_elsewhere_is_said_runs_are_refused_and_the_tui_recovers_when_it_is_back():
    async def scenario():
        backend = Stoppable()
        app = SandboxApp(backend=backend)
        app.HEALTH_SECONDS = 60  # the checks the test makes happen
        async with app.run_test(size=SIZE) as pilot:
            pane = await _ready(pilot, app)
            assert not q(app, "#sandbox-down").display and "4755" in app.sub_title

            backend.running = False  # `sandbox down` in another window, not noticed yet: r asks it, and refuses
            await pilot.press("r")
            await until(pilot, lambda: app.sandbox_down, 10, "the stop noticed")
            await pilot.pause(0.3)
            assert app.screen is app.main_screen, "no run dialog for a sandbox that is not running"
            assert any("cannot run" in m and "`sandbox up --port 4755`" in m for m in _messages(app)), _messages(app)
            banner = q(app, "#sandbox-down", Static)
            assert banner.display and "`sandbox up --port 4755` starts it there again" in plain(banner)
            assert "not running" in app.sub_title and "4755" not in app.sub_title
            assert q(app, "#run", Button).disabled
            await pilot.press("r")  # known now: refused at once, with how to start it
            await pilot.pause(0.3)
            assert app.screen is app.main_screen and backend.runs == []

            await pilot.press("2")  # the DLQ tab does not say "no dead-letter queues ... deploy a pattern"
            notice = q(app, "#dlq-notice", Static)
            await until(pilot, lambda: "sandbox up --port 4755" in plain(notice), 10, "the DLQ tab's notice")
            assert "Deploy a pattern" not in plain(notice)

            backend.running = True  # `sandbox up --port 4755` again
            app.check_sandbox()
            await until(pilot, lambda: app.sandbox_down is None, 10, "the sandbox back")
            assert not banner.display and "4755" in app.sub_title
            await until(pilot, lambda: "Deploy a pattern" in plain(notice), 10, "the DLQ tab read again")
            await pilot.press("1")
            q(app, "#catalog", OptionList).focus()
            assert not q(app, "#run", Button).disabled
            await pilot.press("r")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the run dialog")

            backend.running = False  # stopped while the dialog was up: y runs nothing (no recording of a failure)
            await pilot.press("y")
            await until(pilot, lambda: app.sandbox_down, 10, "the stop noticed")
            await until(pilot, lambda: not pane.running, 10, "the run refused")
            assert not backend.runners[0].ran
            said = pane._view(pane.run_id).narrative[-1].plain
            assert said.startswith("run failed: not run: No sandbox is running") and "--port 4755" in said, said

    asyncio.run(scenario())


def test_a_failing_refresh_makes_the_app_look_and_say_so():
    """The refreshes that fail quietly (DLQ every 3 s while shown) ask the app to check: no waiting for its own."""
    async def scenario():
        backend = Stoppable()
        app = SandboxApp(backend=backend)
        app.HEALTH_SECONDS = 60
        async with app.run_test(size=SIZE) as pilot:
            await _ready(pilot, app)
            await pilot.press("2")
            backend.running = False
            app.pane("dlq")._load(quiet=True)
            await until(pilot, lambda: app.sandbox_down == DOWN, 10, "the stop noticed")
            assert any(DOWN in m for m in _messages(app))

    asyncio.run(scenario())


def test_live_backend_says_the_sandboxs_own_not_running_message(tmp_path):
    from sandbox import Sandbox

    sb = Sandbox(state_dir=tmp_path)
    assert LiveBackend(sb).not_running_message() == sb.not_running_message()


# --- 2. q during a run -------------------------------------------------------------------------------------------
def test_q_during_a_run_asks_then_stops_it_quits_and_says_so_on_the_terminal():
    async def scenario():
        backend = Stoppable()
        app = SandboxApp(backend=backend)
        app.HEALTH_SECONDS = 60
        async with app.run_test(size=SIZE) as pilot:
            pane = await _ready(pilot, app)
            await pilot.press("r")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the run dialog")
            await pilot.press("y")
            await until(pilot, lambda: pane.running, 10, "the run")
            await pilot.press("q")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the quit question")
            said = " ".join(plain(w) for w in app.screen.query(Static))
            assert "A run is in progress" in said and "stop it and quit?" in said, said
            await pilot.press("n")  # no: the run goes on
            await pilot.pause(0.3)
            assert app.is_running and pane.running and not backend.runners[0].stop_event.is_set()
            await pilot.press("q")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the quit question")
            await pilot.press("y")
            await until(pilot, lambda: app.goodbye, 10, "the run stopped and the app leaving")
        assert backend.runners[0].stopped
        assert app.exit_lines() == [
            f"Stopped the run of {pane.run_id} before quitting (variant {backend.runs[0][1][0]}); not run: "
            f"{', '.join(backend.runs[0][1][1:])}; its faults were cleared; its recording: "
            "/tmp/runs/20990101-000000-poison-message.jsonl."]

    asyncio.run(scenario())


def test_the_lines_the_app_leaves_are_printed_after_it_quit(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from sandbox.cli import main

    monkeypatch.setattr(SandboxApp, "run", lambda self: self.goodbye.append("Stopped the run of x before quitting."))
    result = CliRunner().invoke(main, ["--state-dir", str(tmp_path), "tui"])
    assert result.exit_code == 0, result.output
    assert result.output == "Stopped the run of x before quitting.\n"


# --- 3. the TUI starts the sandbox beside a state saved by `up --persist` -------------------------------------
def _pretend_up(monkeypatch, persist_seen: list):
    import sandbox.api

    def up(self, **kwargs):
        persist_seen.append(self.settings.persist)
        return SimpleNamespace(endpoint="http://127.0.0.1:4599", persist=self.settings.persist), 1.0, True

    monkeypatch.setattr(sandbox.api.Sandbox, "is_running", lambda self: False)
    monkeypatch.setattr(sandbox.api.Sandbox, "up", up)


def test_starting_beside_a_saved_state_says_what_sandbox_up_says(monkeypatch, tmp_path):
    import sandbox.api

    saved = tmp_path / "persisted"
    saved.mkdir()
    (saved / "manifest.json").write_text(json.dumps({"saved_at": time.time()}))
    seen: list = []
    _pretend_up(monkeypatch, seen)
    sb = sandbox.api.Sandbox(state_dir=tmp_path)
    expected = sb.kept_state_notice()
    assert expected.startswith("started empty; a saved state from ") and "`sandbox up --persist` loads it" in expected

    async def scenario():
        app = SandboxApp(sandbox=sb)
        app.HEALTH_SECONDS = 60
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: expected in _messages(app), 30, "the notice")

    asyncio.run(scenario())


def test_sandbox_tui_persist_starts_it_as_up_persist(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from sandbox.cli import main

    seen: list = []
    _pretend_up(monkeypatch, seen)
    monkeypatch.setattr(SandboxApp, "run", lambda self: self.backend.start(lambda line: None))
    result = CliRunner().invoke(main, ["--state-dir", str(tmp_path), "tui", "--persist"])
    assert result.exit_code == 0, result.output
    assert seen == [True]


def test_tui_persist_on_a_sandbox_running_without_it_warns_as_up_does(monkeypatch, tmp_path):
    """`sandbox tui --persist` beside a sandbox started without --persist said nothing: its state was still discarded
    at `down` (found by a newcomer). The TUI says it among its start notices (a line on the terminal before the TUI
    takes the screen is seen only after it quits)."""
    from click.testing import CliRunner

    import sandbox.api
    import sandbox.embedded
    from sandbox.cli import main

    running = SimpleNamespace(endpoint="http://127.0.0.1:4599", persist=False, port=4599, pid=1, listen="127.0.0.1")
    monkeypatch.setattr(sandbox.embedded.EmbeddedBackend, "instance", lambda self: running)
    monkeypatch.setattr(sandbox.api.Sandbox, "is_running", lambda self: True)
    notices: list = []

    def run(self):
        self.backend.start(lambda line: None)
        notices.append(self.backend.start_notices())

    monkeypatch.setattr(SandboxApp, "run", run)
    for persist, flag in ((False, ["--persist"]), (True, ["--persist"]), (False, [])):
        running.persist = persist
        result = CliRunner().invoke(main, ["--state-dir", str(tmp_path), "tui", *flag])
        assert result.exit_code == 0, result.output
    warned, persisting, not_asked = notices
    assert any("started without --persist: its state is discarded at `down`" in n for n in warned), warned
    assert persisting == [] and not_asked == []
