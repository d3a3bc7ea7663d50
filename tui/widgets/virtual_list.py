"""A virtual list: renders only the rows on screen, so 100k+ rows (spans, log lines) cost nothing to keep.

Rows are any objects; a `render` function turns one into a one-line rich Text when it scrolls into view (cached).
A filter (a predicate) is applied in a worker thread when the list is long, so typing in a search box never
blocks input. `follow` keeps the view on the newest row while rows arrive.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.cache import LRUCache
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

THREADED_FILTER_ROWS = 20_000


class VirtualList(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"virtual-list--cursor"}

    DEFAULT_CSS = """
    VirtualList {
        background: $surface;
        overflow-x: hidden;
        & > .virtual-list--cursor { background: $accent 40%; }
        &:focus > .virtual-list--cursor { background: $accent 70%; }
    }
    """

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]

    cursor = reactive(-1, always_update=True)
    follow = reactive(True)

    class RowMessage(Message):
        def __init__(self, virtual_list: "VirtualList", item: Any, index: int):
            super().__init__()
            self.virtual_list = virtual_list
            self.item = item
            self.index = index

        @property
        def control(self) -> "VirtualList":
            return self.virtual_list

    # Siblings, not parent and child: Textual dispatches a message to the handlers of its base classes too, so
    # a Highlighted that subclassed Selected would "open" every row the cursor passes.
    class Selected(RowMessage):
        """Enter or a click on a row."""

    class Highlighted(RowMessage):
        """The cursor moved to a row."""

    class Filtered(Message):
        def __init__(self, virtual_list: "VirtualList", shown: int, total: int):
            super().__init__()
            self.virtual_list = virtual_list
            self.shown = shown
            self.total = total

        @property
        def control(self) -> "VirtualList":
            return self.virtual_list

    def __init__(self, render: Callable[[Any], Text], *, max_rows: int = 1_000_000, name=None, id=None,
                 classes=None):
        super().__init__(name=name, id=id, classes=classes)
        self._render_row = render
        self.max_rows = max_rows
        self.rows: list[Any] = []
        self._shown: list[int] | None = None  # indices into rows when a filter is set
        self._predicate: Callable[[Any], bool] | None = None
        self._filter_generation = 0
        self._filter_running = False  # a filter thread's positions are pending (see insert_sorted)
        self._offset = 0  # rows dropped from the front (cap), so filter indices stay valid
        self._cache: LRUCache[tuple[int, bool, int], Strip] = LRUCache(1024)

    # --- data ----------------------------------------------------------------------------------------------
    @property
    def shown_count(self) -> int:
        return len(self.rows) if self._shown is None else len(self._shown)

    def shown_row(self, position: int) -> Any:
        if self._shown is None:
            return self.rows[position]
        return self.rows[self._shown[position]]

    @property
    def highlighted(self) -> Any | None:
        if 0 <= self.cursor < self.shown_count:
            return self.shown_row(self.cursor)
        return None

    def clear(self) -> None:
        self.rows = []
        self._shown = None if self._predicate is None else []
        self.cursor = -1
        self._refresh_size()

    def set_rows(self, rows: Iterable[Any]) -> None:
        self.rows = list(rows)
        self.cursor = -1
        self._apply_filter()

    def append(self, rows: list[Any]) -> None:
        if not rows:
            return
        start = len(self.rows)
        on_newest = self.follow and self.cursor == self.shown_count - 1  # a following cursor stays on the newest
        self.rows.extend(rows)
        if self._shown is not None and self._predicate is not None:
            predicate = self._predicate
            self._shown.extend(i for i in range(start, len(self.rows)) if predicate(self.rows[i]))
        overflow = len(self.rows) - self.max_rows
        if overflow > 0:
            self._drop_front(overflow)
        if on_newest and self.shown_count:
            self.cursor = self.shown_count - 1
        self._refresh_size()

    def insert_sorted(self, rows: list[Any], key: Callable[[Any], Any]) -> None:
        """Adds rows keeping `rows` ordered by `key` (stable: equal keys stay in arrival order). Rows that sort
        after every row (the usual case) are appended; a late one is inserted where it belongs, and the cursor
        stays on its row (or on the newest one while following)."""
        if not rows:
            return
        rows = sorted(rows, key=key)
        if not self.rows or key(rows[0]) >= key(self.rows[-1]):
            self.append(rows)
            return
        on_newest = self.follow and self.cursor == self.shown_count - 1
        kept = self._cursor_row_index()
        predicate = self._predicate if self._shown is not None else None
        refilter = self._filter_running
        for row in rows:
            index = bisect.bisect_right(self.rows, key(row), key=key)
            self.rows.insert(index, row)
            if kept is not None and index <= kept:
                kept += 1
            if predicate is not None and not refilter:
                at = bisect.bisect_left(self._shown, index)
                shown = self._shown
                for j in range(at, len(shown)):
                    shown[j] += 1
                if predicate(row):
                    shown.insert(at, index)
        self._cache.clear()
        if refilter:  # a filter thread is going over the old positions: start it again
            self._apply_filter()
            return
        overflow = len(self.rows) - self.max_rows
        if overflow > 0:
            self._drop_front(overflow)
            kept = None if kept is None or kept < overflow else kept - overflow
        if on_newest and self.shown_count:
            self.cursor = self.shown_count - 1
        elif kept is not None:
            self.cursor = kept if self._shown is None else min(bisect.bisect_left(self._shown, kept),
                                                                len(self._shown) - 1)
        self._refresh_size()

    def _drop_front(self, count: int) -> None:
        del self.rows[:count]
        if self._shown is not None:
            self._shown = [i - count for i in self._shown if i >= count]
        self.cursor = max(-1, self.cursor - count)
        self._cache.clear()

    def set_filter(self, predicate: Callable[[Any], bool] | None) -> None:
        self._predicate = predicate
        self._apply_filter()

    def row_index(self, position: int) -> int | None:
        """The index in `rows` of the row shown at `position` (filters change positions, not rows)."""
        if not 0 <= position < self.shown_count:
            return None
        return position if self._shown is None else self._shown[position]

    def _cursor_row_index(self) -> int | None:
        return self.row_index(self.cursor)

    def _keep_cursor_on(self, index: int | None) -> None:
        """After a filter: the cursor on the row it was on, else the next one shown (None: chosen afresh)."""
        if index is None or self.follow:  # chosen afresh: the newest row when following
            self.cursor = -1
        elif self._shown is None:
            self.cursor = index
        else:
            self.cursor = min(bisect.bisect_left(self._shown, index), len(self._shown) - 1)

    def _apply_filter(self) -> None:
        kept = self._cursor_row_index()
        self._filter_generation += 1
        self._cache.clear()
        self._filter_running = False
        if self._predicate is None:
            self._shown = None
            self._keep_cursor_on(kept)
            self._refresh_size()
            self.post_message(self.Filtered(self, len(self.rows), len(self.rows)))
        elif len(self.rows) > THREADED_FILTER_ROWS:
            self._filter_running = True
            self._filter_in_thread(self._predicate, self.rows, len(self.rows), self._filter_generation, kept)
        else:
            self._shown = [i for i, row in enumerate(self.rows) if self._predicate(row)]
            self._keep_cursor_on(kept)
            self._refresh_size()
            self.post_message(self.Filtered(self, len(self._shown), len(self.rows)))

    @work(thread=True, exclusive=True, group="virtual-list-filter", description="filter rows")
    def _filter_in_thread(self, predicate, rows: list, count: int, generation: int, kept: int | None) -> None:
        shown = [i for i in range(count) if predicate(rows[i])]
        self.app.call_from_thread(self._filtered, shown, count, generation, kept)

    def _filtered(self, shown: list[int], count: int, generation: int, kept: int | None = None) -> None:
        if generation != self._filter_generation:
            return
        self._filter_running = False
        predicate = self._predicate
        if predicate is not None:  # rows that arrived while the filter ran
            shown.extend(i for i in range(count, len(self.rows)) if predicate(self.rows[i]))
        self._shown = shown
        self._keep_cursor_on(kept)
        self._cache.clear()
        self._refresh_size()
        self.post_message(self.Filtered(self, len(shown), len(self.rows)))

    def _refresh_size(self) -> None:
        count = self.shown_count
        self.virtual_size = Size(self.scrollable_content_region.width, count)
        if self.cursor >= count:
            self.cursor = count - 1
        if count and self.cursor < 0:  # a list with rows always has a cursor row: the newest when following
            self.cursor = count - 1 if self.follow else min(max(self.scroll_offset.y, 0), count - 1)
        if self.follow and count:
            self.scroll_to(y=max(0, count - self.scrollable_content_region.height), animate=False)
        self.refresh()

    # --- rendering -----------------------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def on_resize(self) -> None:
        self._cache.clear()
        self._refresh_size()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        position = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if position >= self.shown_count:
            return Strip.blank(width, base)
        is_cursor = position == self.cursor
        key = (position, is_cursor, width)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            text = self._render_row(self.shown_row(position))
        except Exception as e:  # noqa: BLE001 - a row that cannot render must not break the view
            text = Text(f"<unrenderable row: {e}>", style="red")
        text = text.copy()
        text.no_wrap = True
        text.overflow = "ellipsis"
        text.truncate(width, overflow="ellipsis", pad=True)
        style = base
        if is_cursor:
            style = base + self.get_component_rich_style("virtual-list--cursor")
            text.stylize(style)
        segments = [Segment(s.text, (base + s.style) if s.style else base) for s in text.render(self.app.console)]
        strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
        self._cache[key] = strip
        return strip

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()  # no cache to clear: a row's cache key says whether it is the cursor row
        if 0 <= new < self.shown_count:
            self.post_message(self.Highlighted(self, self.shown_row(new), new))

    # --- moving --------------------------------------------------------------------------------------------
    def move_to(self, position: int) -> None:
        """Puts the cursor on the row shown at `position` and scrolls it into view."""
        count = self.shown_count
        if not count:
            return
        position = max(0, min(count - 1, position))
        self.follow = position == count - 1
        self.cursor = position
        self.scroll_to_cursor()

    def scroll_to_cursor(self) -> None:
        """Scrolls the cursor row into view; before the list has its size (just shown), once it has it."""
        position, height = self.cursor, self.scrollable_content_region.height
        if position < 0:
            return
        if height <= 0 or self.virtual_size.height < self.shown_count:
            self.call_after_refresh(self._scroll_to_cursor_once_sized)
            return
        top = self.scroll_offset.y
        if position < top:
            self.scroll_to(y=position, animate=False)
        elif position >= top + height:
            self.scroll_to(y=position - height + 1, animate=False)

    def _scroll_to_cursor_once_sized(self) -> None:
        if self.scrollable_content_region.height > 0:
            self.virtual_size = Size(self.scrollable_content_region.width, self.shown_count)
            self.scroll_to_cursor()

    def action_cursor(self, delta: int) -> None:
        start = self.cursor if self.cursor >= 0 else (self.scroll_offset.y - 1 if delta > 0 else self.shown_count)
        self.move_to(start + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(max(self.cursor, 0) + direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.shown_count - 1)
        self.follow = True

    def action_select(self) -> None:
        if 0 <= self.cursor < self.shown_count:
            self.post_message(self.Selected(self, self.shown_row(self.cursor), self.cursor))

    def on_click(self, event: Click) -> None:
        position = self.scroll_offset.y + event.y
        if 0 <= position < self.shown_count:
            self.move_to(position)
            self.post_message(self.Selected(self, self.shown_row(position), position))

    def on_mouse_scroll_up(self) -> None:
        self.follow = False


def text_matcher(query: str) -> Callable[[str], bool]:
    """A case-insensitive substring test; `re:` prefix for a regular expression."""
    if query.startswith("re:"):
        import re

        try:
            pattern = re.compile(query[3:], re.IGNORECASE)
        except re.error:
            return lambda text: False
        return lambda text: bool(pattern.search(text))
    needle = query.lower()
    return lambda text: needle in text.lower()


__all__ = ["VirtualList", "text_matcher", "Style"]
