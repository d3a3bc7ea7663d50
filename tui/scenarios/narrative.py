"""The narrative of a run: a RichLog that keeps its lines as rich Texts and wraps them again at the width it has.

A RichLog wraps a line once, when it is written, at the width it has then; a hidden log (another tab shown) has
no width, so it wraps at its min_width and keeps those narrow lines. This one re-renders every line whenever its
width changes, and when it is shown again, so the narrative always fills the width.
"""

from __future__ import annotations

from rich.text import Text
from textual.events import Resize, Show
from textual.widgets import RichLog


class NarrativeLog(RichLog):
    def __init__(self, **kwargs):
        kwargs.setdefault("wrap", True)
        kwargs.setdefault("markup", False)
        kwargs.setdefault("highlight", False)
        super().__init__(**kwargs)
        self.texts: list[Text] = []
        self._rendered_width = 0  # the width every line in `lines` was wrapped at (0: some at another width)
        self._last_width = 0  # the width it had when last shown
        self._at_end = True  # the reader follows the newest line (not scrolled up)

    def _width(self) -> int:
        width = self.scrollable_content_region.width
        if width > 0:
            self._last_width = width
        return width

    def add(self, text: Text) -> None:
        """Appends a line; wrapped at the current width, or at the last one seen while hidden (and again when shown
        if that was not right)."""
        self.texts.append(text)
        width = self._width()
        if width > 0:
            self.write(text, width=width)
            if width != self._rendered_width and len(self.texts) > 1:
                self._rendered_width = 0
            else:
                self._rendered_width = width
        elif self._last_width:
            self.write(text, width=self._last_width)
        else:
            self.write(text)  # never shown yet: RichLog defers it until it knows its size
            self._rendered_width = 0

    def set_texts(self, texts: list[Text]) -> None:
        """Shows these lines instead (another scenario's narrative)."""
        self.texts = list(texts)
        self._rerender(self._width() or self._last_width)

    def refit(self) -> None:
        """Wraps every line again if the width changed since they were wrapped."""
        width = self._width()
        if width > 0 and width != self._rendered_width:
            self._rerender(width)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.size.height:  # where the reader is (a resize changes max_scroll_y before any scroll)
            self._at_end = new_value >= self.max_scroll_y - 1

    def _rerender(self, width: int) -> None:
        at_end = self._at_end
        y = self.scroll_y
        self.clear()
        for text in self.texts:
            self.write(text, width=width or None, scroll_end=False)
        self._rendered_width = width
        if at_end:  # following the end: still at the end
            self.scroll_end(animate=False, immediate=False, x_axis=False)
        else:  # reading further up: about the same place
            self.scroll_to(y=min(y, self.max_scroll_y), animate=False)

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self.refit)  # after RichLog's own handler (deferred writes)

    def on_show(self, event: Show) -> None:
        self.call_after_refresh(self.refit)
