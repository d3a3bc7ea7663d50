"""A centred message in place of a view that cannot show anything (no recorder, replay mode, nothing yet)."""

from __future__ import annotations

from textual.widgets import Static


class Notice(Static):
    DEFAULT_CSS = """
    Notice {
        width: 1fr; height: auto; padding: 1 2; margin: 1 2;
        color: $text-muted; border: round $panel-lighten-2; text-align: center;
    }
    Notice.-warning { color: $warning; border: round $warning 60%; }
    """

    def show(self, text: str, warning: bool = False) -> None:
        self.update(text)
        self.set_class(warning, "-warning")
        self.display = True

    def hide(self) -> None:
        self.display = False
