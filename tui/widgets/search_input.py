"""The one-line filter box above a list: escape (like enter) hands the keys back to the list below it."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class SearchInput(Input):
    """An Input whose escape keeps the text and returns focus to the pane's main view (so the number keys switch
    tabs again instead of being typed into the box)."""

    BINDINGS = [Binding("escape", "leave", "Back to the list", show=False)]

    def action_leave(self) -> None:
        pane = next((node for node in self.ancestors if hasattr(node, "focus_main")), None)
        if pane is not None:
            pane.focus_main()
        else:
            self.screen.focus_next()
