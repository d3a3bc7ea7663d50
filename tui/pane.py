"""The base of the TUI's feature panes (one per tab): hooks the app calls; its bindings are its palette commands."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.containers import Vertical

from tui.backend import Unavailable


@dataclass(frozen=True)
class PaneCommand:
    title: str
    help: str
    action: str  # an action of the pane, e.g. "run" for action_run


def palette_commands(pane: type["Pane"]) -> list[PaneCommand]:
    """A pane's entries in the command palette: its key bindings, titled by what the footer calls them and
    explained by their tooltip (one list: a new binding is in the palette too)."""
    return [PaneCommand(b.description, b.tooltip, b.action) for b in pane.BINDINGS if b.tooltip]


class Pane(Vertical):
    """A tab's content. `backend_ready` is called once the backend answers; `activated` when its tab is shown."""

    TAB_ID = ""
    TAB_TITLE = ""
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

    # --- the sandbox stopping under the TUI (`sandbox down` elsewhere): the app tells every pane ---------------
    def sandbox_stopped(self, why: str) -> None:
        """The live sandbox stopped answering (`why`: where, and how to start it)."""

    def sandbox_back(self) -> None:
        """It answers again."""

    def sandbox_missing(self) -> bool:
        """True, and said, when the sandbox is known not to run: actions that need it call this first."""
        why = getattr(self.app, "sandbox_down", None)
        if why:
            self.problem(why)
        return bool(why)


class PollingPane(Pane):
    """A pane that reloads its data every REFRESH_SECONDS while its tab is shown (live mode only), on activation,
    and on the refresh action. Subclasses say what to fetch (`_fetch`, in a worker thread) and how to show it
    (`_show`, on the UI thread), or replace `_load` altogether."""

    REFRESH_SECONDS = 5.0

    def backend_ready(self) -> None:
        super().backend_ready()
        self.action_refresh()
        if self.backend.live:
            self.set_interval(self.REFRESH_SECONDS, self._refresh_if_shown, name=f"{self.TAB_ID}-refresh")

    def _refresh_if_shown(self) -> None:
        if self.ready and self.is_attached and self.screen.is_current and \
                self.screen.query_one("#main-tabs").active == self.TAB_ID:
            self._load(quiet=True)

    def activated(self) -> None:
        if self.ready:
            self._load(quiet=True)

    def action_refresh(self) -> None:
        if self.ready:
            self._load()

    FAILED = "loading failed"  # the start of the message when a fetch fails (not shown when refreshing quietly)

    def _load(self, quiet: bool = False) -> None:
        self._load_in_thread(quiet)

    @work(thread=True, exclusive=True, group="polling-load")
    def _load_in_thread(self, quiet: bool) -> None:
        try:
            data = self._fetch()
        except Unavailable as e:
            self.app.call_from_thread(self._unavailable, str(e))
            return
        except Exception as e:  # noqa: BLE001 - shown, unless a quiet refresh
            if not quiet:
                self.app.call_from_thread(self.problem, f"{self.FAILED}: {e}")
            self.app.call_from_thread(self.app.check_sandbox)  # stopped? the app says so (and how to start it)
            return
        self.app.call_from_thread(self._show, data)

    def _fetch(self):
        """The backend call (in a worker thread); its result goes to `_show` on the UI thread."""
        raise NotImplementedError

    def _show(self, data) -> None:
        raise NotImplementedError

    def _unavailable(self, text: str) -> None:
        """The backend cannot answer this (replay mode, no recorder): say so in place of the view."""
        self.problem(text, "warning")

    def sandbox_back(self) -> None:
        if self.ready:
            self._load(quiet=True)
