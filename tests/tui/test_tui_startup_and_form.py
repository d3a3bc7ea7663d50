"""Start-up and the add-fault form: the ready toast says how long the user waited and what that covers; every field
of the form has a visible label beside it, its help stays visible, and its placeholder is an example."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from textual.widgets import Input, Label, Static

from tests.tui.test_tui import RECORDING, SIZE, plain, until
from tests.tui.test_tui_forms_and_logs import open_form
from tui.app import SandboxApp
from tui.backend import LiveBackend


class TurnedClock:
    """A clock that moves only when told: the test says how long start-up took, nothing is timed."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ready_toast_counts_from_opening_the_tui_not_only_localstacks_boot(monkeypatch, tmp_path):
    import sandbox.api

    clock = TurnedClock()
    monkeypatch.setattr(LiveBackend, "clock", staticmethod(clock), raising=False)
    inst = SimpleNamespace(endpoint="http://127.0.0.1:4599")

    def slow_up(self, on_progress=None, **kwargs):
        clock.now += 11.0  # what the start-up dialog was up for: installs, clean-up, LocalStack's boot (6.2 s)
        return inst, 6.2, True

    monkeypatch.setattr(sandbox.api.Sandbox, "is_running", lambda self: False)
    monkeypatch.setattr(sandbox.api.Sandbox, "up", slow_up)

    async def scenario():
        app = SandboxApp(sandbox=sandbox.api.Sandbox(state_dir=tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.backend_ready, 30, "the (pretended) sandbox")
            toast = await until(pilot, lambda: next((str(n.message) for n in app._notifications
                                                     if "ready" in str(n.message)), None), 10, "the ready toast")
            assert "started in 11.0s, from opening the TUI to the sandbox answering" in toast, toast
            assert "LocalStack's own boot: 6.2s" in toast, toast

    asyncio.run(scenario())
