"""The base of the TUI's feature panes (one per tab): hooks the app calls, and commands for the palette."""

from __future__ import annotations

from dataclasses import dataclass

from textual.containers import Vertical


@dataclass(frozen=True)
class PaneCommand:
    title: str
    help: str
    action: str  # an action of the pane, e.g. "run" for action_run


class Pane(Vertical):
    """A tab's content. `backend_ready` is called once the backend answers; `activated` when its tab is shown."""

    TAB_ID = ""
    TAB_TITLE = ""
    COMMANDS_: tuple[PaneCommand, ...] = ()
    ready = False

    @property
    def backend(self):
        return self.app.backend

    @property
    def clock(self):
        return self.app.clock

    def backend_ready(self) -> None:
        self.ready = True

    def activated(self) -> None:
        """The tab became visible: refresh what is cheap to refresh, focus the main widget."""

    def deactivated(self) -> None:
        """Another tab became visible."""

    def focus_main(self) -> None:
        pass

    def problem(self, text: str, severity: str = "error") -> None:
        self.app.notify(text, severity=severity, timeout=6)
