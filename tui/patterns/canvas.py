"""A character grid for box-and-line drawings: lines that meet merge into the right box-drawing junction.

A line cell remembers which of its four sides are connected and the strongest style that drew it (so where a
lit edge and a quiet one share a cell, the lit one shows). Text (box borders, titles, labels) is written over
cells; a label is only written where it hides nothing but a straight horizontal line.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

N, E, S, W = 1, 2, 4, 8
JOINS = {
    E | W: "─", N | S: "│", E: "─", W: "─", N: "│", S: "│",
    E | S: "╭", W | S: "╮", N | E: "╰", N | W: "╯",
    N | E | S: "├", N | W | S: "┤", E | W | S: "┬", N | E | W: "┴", N | E | S | W: "┼",
}


class Canvas:
    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self._bits: dict[tuple[int, int], int] = {}
        self._line_style: dict[tuple[int, int], tuple[int, Style | str]] = {}
        self._text: dict[tuple[int, int], tuple[str, Style | str]] = {}

    def _inside(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height

    def _mark(self, x: int, y: int, bits: int, style, rank: int) -> None:
        if not self._inside(x, y):
            return
        self._bits[(x, y)] = self._bits.get((x, y), 0) | bits
        if rank >= self._line_style.get((x, y), (-1, ""))[0]:
            self._line_style[(x, y)] = (rank, style)

    def line(self, a: tuple[int, int], b: tuple[int, int], style="", rank: int = 0) -> None:
        """A horizontal or vertical line from a to b, both ends included."""
        (x1, y1), (x2, y2) = a, b
        if y1 == y2:
            lo, hi = sorted((x1, x2))
            for x in range(lo, hi + 1):
                self._mark(x, y1, (W if x > lo else 0) | (E if x < hi else 0) or (E | W), style, rank)
        elif x1 == x2:
            lo, hi = sorted((y1, y2))
            for y in range(lo, hi + 1):
                self._mark(x1, y, (N if y > lo else 0) | (S if y < hi else 0) or (N | S), style, rank)
        else:
            raise ValueError(f"not an orthogonal segment: {a} -> {b}")

    def polyline(self, points: list[tuple[int, int]], style="", rank: int = 0) -> None:
        for a, b in zip(points, points[1:]):
            self.line(a, b, style, rank)

    def text(self, x: int, y: int, text: str, style="") -> None:
        for i, ch in enumerate(text):
            if self._inside(x + i, y):
                self._text[(x + i, y)] = (ch, style)

    def spans(self, x: int, y: int, parts: list[tuple[str, object]]) -> None:
        for text, style in parts:
            self.text(x, y, text, style)
            x += len(text)

    def free_run(self, x: int, y: int, length: int) -> bool:
        """Nothing but a horizontal line (or nothing) under [x, x+length) on row y."""
        return all(self._inside(x + i, y) and (x + i, y) not in self._text and
                   self._bits.get((x + i, y), E | W) == E | W for i in range(length))

    def join(self, x: int, y: int, ch: str) -> None:
        """A box border cell an edge leaves through becomes a junction (├ ┤), in the border's style."""
        if (x, y) in self._text:
            self._text[(x, y)] = (ch, self._text[(x, y)][1])

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="ignore", end="")
        for y in range(self.height):
            row_cells: list[tuple[str, object]] = []
            for x in range(self.width):
                if (x, y) in self._text:
                    row_cells.append(self._text[(x, y)])
                elif (x, y) in self._bits:
                    row_cells.append((JOINS.get(self._bits[(x, y)], "┼"), self._line_style[(x, y)][1]))
                else:
                    row_cells.append((" ", ""))
            # merge runs of the same style into one span
            run, run_style = "", None
            for ch, style in row_cells:
                if style != run_style and run:
                    out.append(run, run_style or None)
                    run = ""
                run_style = style
                run += ch
            if run:
                out.append(run, run_style or None)
            if y < self.height - 1:
                out.append("\n")
        return out
