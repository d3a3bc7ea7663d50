"""The diagram widget: draws a `model.Diagram` to fit the pane, scrolls both ways when it cannot, follows the theme.

Redrawing is cheap (a few dozen boxes), so the widget simply redraws on new data, on resize, on a theme change,
and when a lit edge goes dark (the pane asks; it never redraws more than ten times a second).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import ScrollableContainer
from textual.widgets import Static

from tui.patterns.diagram import Palette, Rendered, fit
from tui.patterns.model import Diagram
from tui.widgets.key_scroll import KeyScroll


def palette_of(variables: dict[str, str]) -> Palette:
    """Diagram styles from the app's theme (muted tones are the foreground blended into the background)."""
    background = Color.parse(variables.get("background", "#000000"))
    foreground = Color.parse(variables.get("foreground", "#ffffff"))

    def mix(amount: float) -> str:
        return background.blend(foreground, amount).hex

    def solid(name: str, fallback: str) -> str:
        try:
            return background.blend(Color.parse(variables.get(name, fallback)), 1.0).hex
        except Exception:  # noqa: BLE001 - e.g. "auto 87%"
            return fallback

    accent, error = solid("accent", "#ffa62b"), solid("text-error", "#d17e92")
    return Palette(border=solid("text-primary", "#57a5e2"), outside=mix(0.5), hot=f"bold {accent}",
                   error=f"bold {error}", progress=solid("warning", "#fea62b"), ok=solid("success", "#4ebf71"),
                   title=f"bold {foreground.hex}", muted=mix(0.55), value=f"bold {foreground.hex}",
                   warn=f"bold {solid('text-warning', '#ffc473')}", line_idle=mix(0.3), line=mix(0.7),
                   line_lit=f"bold {accent}")


class DiagramView(KeyScroll, ScrollableContainer, can_focus=True):
    """A pattern's diagram; when it is larger than the pane the keys pan it (shown in the footer while it has the
    focus: tab, or z)."""

    BINDINGS = [
        Binding("left,h", "scroll_left", "Pan", key_display="←↓↑→ hjkl"),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("right,l", "scroll_right", "Right", show=False),
        Binding("home", "scroll_home", "Ends", key_display="home/end"),
        Binding("end", "scroll_end", "End", show=False),
        Binding("pageup", "page_up", "Page", key_display="pgup/dn"),
        Binding("pagedown", "page_down", "Page down", show=False),
    ]
    PAN = {"scroll_left", "scroll_right", "scroll_up", "scroll_down", "scroll_home", "scroll_end", "page_up",
           "page_down"}

    DEFAULT_CSS = """
    DiagramView { height: 1fr; align: center middle; }
    DiagramView > #pattern-diagram-canvas { width: auto; height: auto; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.diagram: Diagram | None = None
        self.deployed = False
        self.lit: dict[tuple[str, str], str] = {}
        self.hot: set[str] = set()
        self.message: Text | None = None
        self.rendered: Rendered | None = None
        self.palette = Palette()
        self._drawn: tuple = ()

    def compose(self) -> ComposeResult:
        yield Static("", id="pattern-diagram-canvas")

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.redraw())

    def on_resize(self) -> None:
        self.redraw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The pan keys are in the footer only while there is something to pan to."""
        if action in self.PAN and not self.overflows:
            return False
        return True

    @property
    def overflows(self) -> bool:
        region = self.scrollable_content_region
        return self.rendered is not None and (self.rendered.layout.width > region.width
                                              or self.rendered.layout.height > region.height)

    def on_focus(self) -> None:
        self.call_after_refresh(self._caption)  # has_focus is set after this handler

    def on_blur(self) -> None:
        self.call_after_refresh(self._caption)

    def show(self, diagram: Diagram | None, *, deployed: bool, lit=None, hot=None, message: Text | None = None
             ) -> None:
        self.diagram, self.deployed, self.message = diagram, deployed, message
        self.lit, self.hot = lit or {}, hot or set()
        self.redraw()

    def redraw(self) -> None:
        canvas = self.query_one("#pattern-diagram-canvas", Static)
        if self.diagram is None or not self.diagram.nodes:
            self.rendered = None
            canvas.update(self.message or Text("No resources to draw.", style="dim"))
            self.border_subtitle = ""
            return
        region = self.scrollable_content_region
        width = max(20, region.width)
        self.palette = palette_of(self.app.theme_variables)
        inputs = (self.diagram, width, region.height, self.lit, self.hot, self.deployed, self.palette)
        if inputs == self._drawn and self.rendered is not None:
            return  # nothing changed since the last drawing (most refreshes of a quiet pattern)
        self._drawn = inputs
        self.rendered = fit(self.diagram, width, region.height, lit=self.lit, hot=self.hot, deployed=self.deployed,
                            palette=self.palette)
        canvas.update(self.rendered.text)
        self._caption()

    def _caption(self) -> None:
        """Below the drawing, what it leaves out: the counts on the edges (to fit), the part beyond the pane."""
        notes = []
        if self.rendered is not None and not self.rendered.edge_labels and self.deployed:
            notes.append("edge counts left out to fit")
        if self.overflows:
            notes.append("more: ←→↑↓ hjkl" if self.has_focus else "more: tab, then ←→↑↓")
        self.border_subtitle = " · ".join(notes)
        self.refresh_bindings()

    @property
    def plain(self) -> str:
        """The drawing as plain text (what a test or a screen reader would read)."""
        return self.rendered.text.plain if self.rendered else ""
