"""Keyboard scrolling that keeps every key press: N presses move N steps, Home and End reach the ends.

Textual's scroll actions animate, and they are carried out after the next refresh from a target set only then:
the keys of a burst (a held arrow, a fast typist) that arrive between two refreshes all aim at the same cell, so
50 quick presses moved a dozen columns. Its End also scrolls back to the left edge, so in a view that only pans
sideways End did nothing. Here each press moves at once, without animation, from where the view is.
"""

from __future__ import annotations

from textual.actions import SkipAction
from textual.containers import ScrollableContainer, VerticalScroll


class KeyScroll:
    """Mixin for a scrollable widget (listed before it in the bases): its arrow, page, Home and End actions.

    Home goes to the top-left corner and End to the bottom-right one; PageUp/PageDown page sideways when the
    content only overflows sideways (a wide diagram)."""

    def _move(self, x: float | None = None, y: float | None = None) -> None:
        if x is not None:
            x = min(max(0, round(x)), self.max_scroll_x)
        if y is not None:
            y = min(max(0, round(y)), self.max_scroll_y)
        self.scroll_to(x, y, animate=False, immediate=True)

    def _need(self, horizontal: bool) -> None:
        if not (self.allow_horizontal_scroll if horizontal else self.allow_vertical_scroll):
            raise SkipAction()  # the key goes on to the bindings of what holds this widget

    def action_scroll_left(self) -> None:
        self._need(True)
        self._move(x=self.scroll_x - 1)

    def action_scroll_right(self) -> None:
        self._need(True)
        self._move(x=self.scroll_x + 1)

    def action_scroll_up(self) -> None:
        self._need(False)
        self._move(y=self.scroll_y - 1)

    def action_scroll_down(self) -> None:
        self._need(False)
        self._move(y=self.scroll_y + 1)

    def action_scroll_home(self) -> None:
        if not (self.allow_horizontal_scroll or self.allow_vertical_scroll):
            raise SkipAction()
        self._move(0, 0)

    def action_scroll_end(self) -> None:
        if not (self.allow_horizontal_scroll or self.allow_vertical_scroll):
            raise SkipAction()
        self._move(self.max_scroll_x, self.max_scroll_y)

    def _page(self, direction: int, horizontal: bool | None = None) -> None:
        if horizontal is None:  # a page down the content, or across it when it is only too wide
            horizontal = self.allow_horizontal_scroll and not self.allow_vertical_scroll
        self._need(horizontal)
        region = self.scrollable_content_region
        if horizontal:
            self._move(x=self.scroll_x + direction * max(1, region.width - 2))
        else:
            self._move(y=self.scroll_y + direction * max(1, region.height))

    def action_page_up(self) -> None:
        self._page(-1)

    def action_page_down(self) -> None:
        self._page(1)

    def action_page_left(self) -> None:
        self._page(-1, horizontal=True)

    def action_page_right(self) -> None:
        self._page(1, horizontal=True)


class ScrollPane(KeyScroll, ScrollableContainer):
    """A ScrollableContainer whose keys scroll by their full step."""


class VerticalScrollPane(KeyScroll, VerticalScroll):
    """A VerticalScroll whose keys scroll by their full step."""
