"""The sandbox's terminal UI: scenarios, dead-letter queues, faults, function logs, the request flow, patterns, cost,
workshop labs.

    from tui.app import SandboxApp
    SandboxApp().run()                                  # the sandbox of ./.sandbox; started if not running
    SandboxApp(sandbox=Sandbox(port=4567)).run()
    SandboxApp(replay=".sandbox/runs/<run>.jsonl").run()   # a recorded run, no LocalStack

Everything that can block (the sandbox's HTTP API, reading a recording) runs in worker threads; results come
back as messages, and streams (a scenario's events, spans, log lines) are batched to at most ten UI updates a
second. The TUI talks only to `sandbox.Sandbox` and the `scenarios` package.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from tui.backend import Backend, LiveBackend, ReplayBackend
from tui.cost.pane import CostPane
from tui.dlq.pane import DlqPane
from tui.faults.pane import FaultsPane
from tui.flow.pane import FlowPane
from tui.format import Clock
from tui.labs.pane import LabsPane
from tui.help.screen import HelpScreen
from tui.logs.pane import LogsPane
from tui.messages import BackendFailed, BackendReady, StartupProgress
from tui.palette import SandboxCommands
from tui.pane import Pane, palette_commands
from tui.patterns.pane import PatternsPane
from tui.scenarios.pane import ScenariosPane
from tui.startup.screen import StartupScreen
from tui.widgets import ConfirmScreen

PANES: tuple[type[Pane], ...] = (ScenariosPane, DlqPane, FaultsPane, LogsPane, FlowPane, PatternsPane, CostPane, LabsPane)
DARK, LIGHT = "textual-dark", "textual-light"


class MainTabs(TabbedContent):
    """The feature tabs. They switch only by a key, a click or `show_tab`.

    Textual's TabbedContent switches to whichever pane a widget is focused in programmatically
    (`TabPane.Focused`). A pane's focus arrives one message later than the request, so a start-up focus
    that lands late (a loaded machine) took the user back to Scenarios right after they pressed 4.
    Here a focus that lands in a hidden pane is moved to the shown pane's main widget instead.
    """

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        event.stop()
        event.prevent_default()  # not TabbedContent's handler, which would switch tabs
        if event.tab_pane.id != self.active:
            pane = self.app.pane(self.active)
            if pane is not None:
                pane.focus_main()


class MainScreen(Screen):
    """The feature tabs. Number keys switch tabs (their labels show the key)."""

    BINDINGS = [Binding(str(i), f"app.show_tab('{pane.TAB_ID}')", pane.TAB_TITLE, show=False)
                for i, pane in enumerate(PANES, 1)]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="λ")
        yield Static("", id="sandbox-down")  # shown while the sandbox does not answer (app.sandbox_stopped)
        with MainTabs(id="main-tabs", initial=PANES[0].TAB_ID):
            for i, pane in enumerate(PANES, 1):
                with TabPane(f"{i} {pane.TAB_TITLE}", id=pane.TAB_ID):
                    yield pane(id=f"pane-{pane.TAB_ID}")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self._focus_pane)

    def _focus_pane(self) -> None:
        pane = self.app.pane(self.query_one("#main-tabs", TabbedContent).active)
        if pane is not None:
            pane.focus_main()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id != "main-tabs":
            return
        for pane in self.app.panes:
            if pane.TAB_ID != event.pane.id:
                pane.deactivated()
        pane = self.app.pane(event.pane.id)
        if pane is not None:
            pane.activated()
            pane.focus_main()


class SandboxApp(App):
    TITLE = "Serverless Sandbox"
    COMMANDS = App.COMMANDS | {SandboxCommands}  # ctrl+p finds scenarios, DLQs, patterns, traces (tui/palette.py)
    CSS_PATH = ["app.tcss", "scenarios/scenarios.tcss", "dlq/dlq.tcss", "faults/faults.tcss", "logs/logs.tcss",
                "flow/flow.tcss", "patterns/patterns.tcss", "cost/cost.tcss", "labs/labs.tcss", "startup/startup.tcss",
                "help/help.tcss"]
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help"),
        # not in the footer: at 80 columns it pushed "q Quit" out of it (? and ctrl+p list it)
        Binding("ctrl+t", "toggle_theme", "Theme", show=False),
        Binding("q", "quit", "Quit"),
    ]
    HEALTH_SECONDS = 3.0  # how often the live sandbox is asked whether it still answers (a GET on loopback)

    def __init__(self, sandbox=None, replay: str | Path | None = None, *, backend: Backend | None = None,
                 start_backend: bool = True, theme: str = DARK):
        super().__init__()
        if backend is not None:
            self.backend = backend
        elif replay is not None:
            self.backend = ReplayBackend(replay)
        else:
            self.backend = LiveBackend(sandbox)  # None: the CLI's default sandbox
        self.start_backend = start_backend
        self.clock = Clock()
        self.backend_ready = False
        self.main_screen: MainScreen | None = None
        self.theme = theme
        self.sub_title = self.backend.label
        self.sandbox_down: str | None = None  # why the live sandbox does not answer now (None: it does)
        self.goodbye: list[str] = []  # lines to print once the TUI has quit (a run it stopped), before exit_hint
        self._quitting = False  # quit confirmed during a run: the app exits once the run has stopped
        self._health_timer = None

    @property
    def replay_mode(self) -> bool:
        return self.backend.replay

    # --- frame -----------------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.main_screen = MainScreen()
        self.push_screen(self.main_screen)
        if self.replay_mode:
            self._load_replay()
        elif self.start_backend:
            self.push_screen(StartupScreen(self.backend.label))
            self._start_backend()
        else:
            self._check_backend()

    def pane(self, tab_id: str) -> Pane | None:
        try:
            return self.main_screen.query_one(f"#pane-{tab_id}", Pane)
        except Exception:  # noqa: BLE001 - not mounted (yet)
            return None

    @property
    def panes(self) -> list[Pane]:
        return [p for p in (self.pane(cls.TAB_ID) for cls in PANES) if p is not None]

    # --- backend ---------------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="backend")
    def _start_backend(self) -> None:
        def progress(line: str) -> None:
            self.post_message(StartupProgress([line]))

        try:
            detail = self.backend.start(progress)
        except Exception as e:  # noqa: BLE001 - shown on the start-up screen
            self.post_message(BackendFailed(f"{type(e).__name__}: {e}" if not str(e).startswith("No ") else str(e)))
            return
        self.post_message(BackendReady(detail))

    @work(thread=True, exclusive=True, group="backend")
    def _check_backend(self) -> None:
        if self.backend.is_running():
            self.post_message(BackendReady(f"connected to {self.backend.label}"))
        else:
            self.post_message(BackendFailed("no sandbox is running: start it with `sandbox up`"))

    @work(thread=True, exclusive=True, group="backend")
    def _load_replay(self) -> None:
        try:
            detail = self.backend.start(lambda line: None)
        except Exception as e:  # noqa: BLE001
            self.post_message(BackendFailed(f"cannot replay {self.backend.path}: {e}"))
            return
        self.post_message(BackendReady(detail))

    # --- the sandbox stopping (or coming back) under the TUI ---------------------------------------------------
    def check_sandbox(self) -> None:
        """Asks (in a thread) whether the live sandbox still answers; panes call this when a refresh fails."""
        if self.backend.live and self.backend_ready and self.is_running:
            self._check_health()

    @work(thread=True, exclusive=True, group="health")
    def _check_health(self) -> None:
        try:
            running = self.backend.is_running()
            why = None if running else self.backend.not_running_message()
        except Exception:  # noqa: BLE001 - a check that cannot tell says nothing
            return
        try:
            self.call_from_thread(self._health, why)
        except RuntimeError:  # the app is closing
            pass

    def _health(self, why: str | None) -> None:
        if why is not None:
            self.sandbox_stopped(why)
        elif self.sandbox_down is not None:
            self.sandbox_back()

    def sandbox_stopped(self, why: str) -> None:
        """The sandbox does not answer (stopped from another terminal): said above the tabs until it is back; the
        panes refuse what needs it (`Pane.sandbox_missing`)."""
        first = self.sandbox_down is None
        self.sandbox_down = why
        self.sub_title = f"{self.backend.label.split(' · ')[0]} · not running"
        self._show_down_banner()
        if first:
            self.notify(why, title="The sandbox stopped", severity="error", timeout=10)
            for pane in self.panes:
                pane.sandbox_stopped(why)

    def sandbox_back(self) -> None:
        self.sandbox_down = None
        self.sub_title = self.backend.label
        self._show_down_banner()
        self.notify(f"the sandbox answers again at {self.backend.label.split(' · ')[-1]}", timeout=5)
        for pane in self.panes:
            pane.sandbox_back()

    def _show_down_banner(self) -> None:
        if self.main_screen is None:
            return
        banner = self.main_screen.query_one("#sandbox-down", Static)
        banner.update(f"⚠ {self.sandbox_down}  The TUI carries on by itself once it answers again."
                      if self.sandbox_down else "")
        banner.set_class(self.sandbox_down is not None, "-shown")

    def on_startup_progress(self, message: StartupProgress) -> None:
        if isinstance(self.screen, StartupScreen):
            self.screen.add_lines(message.lines)

    def on_backend_failed(self, message: BackendFailed) -> None:
        if isinstance(self.screen, StartupScreen):
            self.screen.failed(message.error)
        else:
            self.notify(message.error, severity="error", timeout=10)

    def on_backend_ready(self, message: BackendReady) -> None:
        self.backend_ready = True
        self.sub_title = self.backend.label
        if isinstance(self.screen, StartupScreen):
            self.pop_screen()
        if self.replay_mode:
            rec = self.backend.recording
            self.clock = Clock(base=rec.start)
            scenarios = self.pane(ScenariosPane.TAB_ID)
            if scenarios is not None:
                scenarios.replay(rec.events)
        for pane in self.panes:
            pane.backend_ready()
        if not self.replay_mode:
            self.notify(message.detail, timeout=4)
            for notice in self.backend.start_notices():  # what `sandbox up` would have said too
                self.notify(notice, severity="warning", timeout=15)
        if self.backend.live and self._health_timer is None:
            self._health_timer = self.set_interval(self.HEALTH_SECONDS, self.check_sandbox, name="sandbox-health")

    def retry_start(self) -> None:
        self._start_backend()

    # --- actions ---------------------------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quits, after asking when a scenario run is going on: it is stopped first (its faults cleared), and a line
        on the terminal says so once the TUI is gone."""
        scenarios = self.pane(ScenariosPane.TAB_ID)
        if scenarios is None or not scenarios.running or self._quitting:
            self.exit()
            return
        if isinstance(self.screen, ConfirmScreen):
            return  # already asking (q again, or ctrl+q)

        def answered(yes: bool | None) -> None:
            if yes and scenarios.running:
                self._quitting = True
                self.notify("stopping the run; the TUI quits once it has stopped (q again: quit now)", timeout=30)
                scenarios.stop_to_quit()
            elif yes:
                self.exit()

        self.push_screen(ConfirmScreen("Quit", f"A run is in progress ({scenarios.run_id}): stop it and quit?",
                                       "Stop and quit"), answered)

    def run_stopped_to_quit(self, line: str) -> None:
        """The run the quit waited for has ended: leave, and say so on the terminal."""
        self.goodbye.append(line)
        self.exit()

    def exit_lines(self) -> list[str]:
        """What to print on the terminal after the TUI quit: a run it stopped, then the backend's hint."""
        hint = self.backend.exit_hint()
        return self.goodbye + ([hint] if hint else [])

    def action_show_tab(self, tab_id: str) -> None:
        if self.screen is not self.main_screen:
            return  # a modal is up
        self.main_screen.query_one("#main-tabs", TabbedContent).active = tab_id

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            current = self.main_screen.query_one("#main-tabs", TabbedContent).active if self.screen is self.main_screen \
                else None
            self.push_screen(HelpScreen(PANES, current))

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK

    def run_pane_action(self, tab_id: str, action: str) -> None:
        """Switches to the pane's tab and runs one of its actions (what the command palette does)."""
        self.action_show_tab(tab_id)
        pane = self.pane(tab_id)
        if pane is not None:
            self.call_later(pane.run_action, action)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Toggle light/dark theme", "Switch between the light and the dark theme",
                            self.action_toggle_theme)
        yield SystemCommand("Help: key bindings", "Every key binding of every screen", self.action_help)
        for i, pane in enumerate(PANES, 1):
            yield SystemCommand(f"Go to {pane.TAB_TITLE} ({i})", f"Show the {pane.TAB_TITLE} tab",
                                lambda tab=pane.TAB_ID: self.action_show_tab(tab))
            for command in palette_commands(pane):
                yield SystemCommand(f"{pane.TAB_TITLE}: {command.title}", command.help,
                                    lambda tab=pane.TAB_ID, action=command.action: self.run_pane_action(tab, action))


def main(argv: list[str] | None = None) -> None:
    """`python -m tui [--replay FILE]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tui", description="The Serverless Sandbox TUI")
    parser.add_argument("--replay", metavar="FILE", help="show a recorded run (.sandbox/runs/*.jsonl), no LocalStack")
    args = parser.parse_args(argv)
    app = SandboxApp(replay=args.replay)
    app.run()
    for line in app.exit_lines():
        print(line)
