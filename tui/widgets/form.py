"""The keys every modal form shares, so each form only says what applying means."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.screen import ModalScreen, ScreenResultType
from textual.widgets import Input


class FormScreen(ModalScreen[ScreenResultType]):
    """Escape cancels (dismisses with None); ctrl+s, or enter in a field, runs `action_apply`. Buttons call the
    same actions with `Button(..., action="screen.apply")`."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "apply", "Apply")]

    def action_apply(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_apply()
