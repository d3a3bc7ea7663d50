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


def test_every_field_of_the_add_fault_form_has_a_label_beside_it_and_an_example_as_placeholder():
    from sandbox.faults import TEMPLATES

    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SIZE) as pilot:
            for name, template in TEMPLATES.items():
                form, _ = await open_form(pilot, name)
                fields = list(form.query(".param").results(Input))
                assert [f.id for f in fields] == [f"param-{p.name}" for p in template.params]
                for param, field in zip(template.params, fields):
                    form.query_one("#fault-params").scroll_to_widget(field, animate=False)
                    await pilot.pause()
                    assert field.region.height == 1
                    label = next(iter(field.parent.query(".param-label").results(Label)), None)
                    assert label is not None, f"{name}: {param.name} has no label beside its field"
                    assert plain(label).split()[0] == param.name
                    assert label.region.y == field.region.y and label.region.right <= field.region.x
                    assert field.placeholder.startswith("e.g. "), (name, param.name, field.placeholder)
                    assert param.help in plain(form.query_one(f"#help-{param.name}", Static)).replace("\n", " ")
                # what a field means stays in view once something is typed in it
                first = fields[0]
                first.focus()
                await pilot.press(*"x")
                help_widget = form.query_one(f"#help-{template.params[0].name}", Static)
                assert help_widget.region.height and plain(help_widget).strip()
                await pilot.press("escape")
                await until(pilot, lambda: app.screen is app.main_screen, 10, "the form to close")

    asyncio.run(scenario())


def test_the_forms_buttons_stay_in_view_at_80x24():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=(80, 24)) as pilot:
            form, _ = await open_form(pilot, "lambda-latency")  # the most fields, with the functions' hint
            await pilot.pause()
            apply = form.query_one("#apply")
            assert apply.region.height == 1 and form.query_one("#add-fault-box").region.contains_region(apply.region)
            assert app.screen.region.contains_region(apply.region)

    asyncio.run(scenario())
