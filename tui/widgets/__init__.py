"""Widgets shared by the TUI's screens."""

from tui.widgets.confirm import ConfirmScreen
from tui.widgets.form import FormScreen
from tui.widgets.key_scroll import KeyScroll, ScrollPane, VerticalScrollPane
from tui.widgets.notice import Notice
from tui.widgets.search_input import SearchInput
from tui.widgets.virtual_list import VirtualList, text_matcher

__all__ = ["ConfirmScreen", "FormScreen", "KeyScroll", "Notice", "ScrollPane", "SearchInput", "VerticalScrollPane",
           "VirtualList", "text_matcher"]
